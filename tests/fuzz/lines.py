"""Random console lines from a seeded `random.Random`: mostly commands shaped like the grammar
with some values swapped for nasty ones, the rest word soup and raw Unicode."""

from __future__ import annotations

import random
from collections.abc import Sequence

from bot.core.grammar import CONFIG_KEYS, LIST_STATUSES
from tests.fuzz.vocabulary import (
    COMMAND_WORDS,
    DATES,
    MARKET_REFS,
    MECHANISMS,
    NASTY,
    NUMBERS,
    ODD_USERS,
    OPTION_KEYS,
    OUTCOME_LISTS,
    OUTCOMES,
    QUESTIONS,
    SETTING_VALUES,
    TEXT,
    USERS,
    ZONES,
)

Holding = tuple[str, int, str]  # who bought, in which market, which outcome

_POOLS = (NUMBERS, DATES, ZONES, TEXT, NASTY, SETTING_VALUES, OUTCOMES, MARKET_REFS)
# Code point ranges raw text is drawn from, with weights: ASCII, controls, Latin-1, the rest
# of the BMP, the astral planes, and (rarely: the console refuses the whole line) surrogates,
# what undecodable bytes become.
_RANGES = (
    (0x20, 0x7E),
    (0x00, 0x1F),
    (0x7F, 0xFF),
    (0x100, 0xD7FF),
    (0xE000, 0x10FFFF),
    (0xD800, 0xDFFF),
)
_WEIGHTS = (40, 15, 15, 20, 8, 2)
# Commands to shape lines like, the ones that reach deep code more often.
# Settling is rare: a settled market takes no more trades.
_KINDS = (
    *("create", "create", "bet", "bet", "bet", "bet", "sell", "sell", "sell", "resolve"),
    *("extend", "extend", "config", "config", "show", "close", "list", "balance", "other"),
    *("cancel", "unresolve"),
)


class LineMaker:
    """Make console lines; `top` is the newest market number, so most lines name a real one."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def line(self, top: int, holdings: Sequence[Holding] = ()) -> str:
        """One console line, sometimes as another user (`@name`) or with `/predict`.

        `holdings` are (user, market, outcome) someone bought, so that some sales succeed."""
        if holdings and self.rng.random() < 0.1:
            user, market, outcome = self.rng.choice(holdings)
            amount = self.good_or(("1", "5", "all", "0.5"), 0.8)
            return f"@{user} sell {market} {self.quoted(outcome)} {amount}"
        r = self.rng.random()
        if r < 0.65:
            text = self.command(top)
        elif r < 0.85:
            text = self.mutate(self.command(top))
        else:
            text = self.soup(top)
        prefix = ""
        r = self.rng.random()
        if r < 0.5:
            prefix = f"@{self.rng.choice(USERS)} "
        elif r < 0.53:
            prefix = f"@{self.rng.choice(ODD_USERS)} "
        if self.rng.random() < 0.05:
            prefix += "/predict "
        return prefix + text

    # -- values ----------------------------------------------------------------------------

    def good_or(self, good: tuple[str, ...], rate: float = 0.7) -> str:
        """A value from `good` most of the time, else anything."""
        return self.rng.choice(good) if self.rng.random() < rate else self.anything()

    def anything(self) -> str:
        """A nasty or random value of any kind."""
        if self.rng.random() < 0.2:
            return self.raw()
        return self.rng.choice(self.rng.choice(_POOLS))

    def raw(self) -> str:
        """A few random code points, any of them (controls and surrogates included)."""
        count = self.rng.randint(1, 12)
        ranges = self.rng.choices(_RANGES, _WEIGHTS, k=count)
        return "".join(chr(self.rng.randint(low, high)) for low, high in ranges)

    def market(self, top: int) -> str:
        """Mostly one of the newest markets, sometimes any market reference or number."""
        if self.rng.random() < 0.75:
            return str(max(1, top - self.rng.randint(0, 8)))
        return self.rng.choice(MARKET_REFS + NUMBERS)

    def quoted(self, value: str) -> str:
        """Quote a value like a user would, now and then badly."""
        r = self.rng.random()
        if r < 0.7:
            return f'"{value}"'
        if r < 0.8:
            return f"'{value}'"
        if r < 0.9:
            return f"“{value}”"
        return value if r < 0.95 else f'"{value}'

    def options(self, pairs: list[tuple[str, str]]) -> str:
        """`key:value` options in a random order, some left out."""
        chosen = [f"{k}:{v}" for k, v in pairs if self.rng.random() < 0.6]
        self.rng.shuffle(chosen)
        return " ".join(chosen)

    # -- lines -----------------------------------------------------------------------------

    def command(self, top: int) -> str:
        """A line shaped like one of the grammar's commands."""
        rng, m = self.rng, self.market(top)
        kind = rng.choice(_KINDS)
        if kind == "create":
            question = self.quoted(self.good_or(QUESTIONS))
            closes = self.quoted(self.good_or(DATES, 0.8))
            rest = self.options(
                [
                    ("outcomes", self.quoted(self.good_or(OUTCOME_LISTS))),
                    ("criteria", self.quoted(self.good_or(TEXT))),
                    ("mechanism", self.good_or(MECHANISMS)),
                    ("liquidity", self.good_or(NUMBERS)),
                ]
            )
            return f"create {question} closes:{closes} {rest}"
        if kind in ("bet", "sell"):
            amount = self.good_or(("10", "50", "1", "all") if kind == "sell" else ("10", "50"))
            return f"{kind} {m} {self.good_or(OUTCOMES)} {amount}"
        if kind == "resolve":
            rest = self.options(
                [
                    ("evidence", self.good_or(("https://example.com/result",))),
                    ("known", self.quoted(self.good_or(DATES))),
                ]
            )
            return f"resolve {m} {self.good_or(OUTCOMES)} {rest}"
        if kind == "extend":
            return f"extend {m} closes:{self.quoted(self.good_or(DATES))}"
        if kind == "config":
            pairs = []
            for _ in range(rng.randint(0, 3)):
                key = rng.choice(CONFIG_KEYS) if rng.random() < 0.9 else rng.choice(OPTION_KEYS)
                value = self.good_or(ZONES if key == "timezone" else SETTING_VALUES + NUMBERS)
                pairs.append(f"{key}:{self.quoted(value) if ' ' in value else value}")
            return "config " + " ".join(pairs)
        if kind == "list":
            return f"list {self.good_or(LIST_STATUSES)}"
        if kind == "balance":
            return f"balance @{self.good_or(USERS)}" if rng.random() < 0.5 else "balance"
        if kind == "other":
            return rng.choice(("daily", "portfolio", "leaderboard", "overdue", "help", "help bet"))
        return f"{kind} {m}"

    def mutate(self, line: str) -> str:
        """Break a good line: a nasty value spliced in, a character dropped, a word doubled."""
        rng = self.rng
        if not line:
            return self.anything()
        at = rng.randrange(len(line) + 1)
        r = rng.random()
        if r < 0.5:
            return line[:at] + rng.choice(NASTY + NUMBERS) + line[at:]
        if r < 0.7:
            return line[:at] + line[at + 1 :]
        if r < 0.85:
            return line[:at] + self.raw() + line[at:]
        words = line.split(" ")
        i = rng.randrange(len(words))
        return " ".join(words[: i + 1] + words[i:])

    def soup(self, top: int) -> str:
        """Command words, options, numbers and raw text in any order."""
        rng = self.rng
        words = [rng.choice(COMMAND_WORDS)] if rng.random() < 0.8 else []
        for _ in range(rng.randint(0, 6)):
            r = rng.random()
            if r < 0.3:
                words.append(f"{rng.choice(OPTION_KEYS)}:{self.anything()}")
            elif r < 0.5:
                words.append(self.market(top))
            elif r < 0.6:
                words.append(self.quoted(self.anything()))
            else:
                words.append(self.anything())
        return " ".join(words)
