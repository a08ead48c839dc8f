"""Random text lines through the grammar and the service, on every store: nothing but a
refusal (`PredictError`) ever escapes, and a refusal changes nothing in the database.

The lines mix real command words and options with the values that once reached a traceback
(huge and Unicode numbers, NUL and other control characters, calendar edges, zones that are not
zones, long strings, stray quotes). They run as a few users, one a moderator, on a community
seeded with markets in every state (`tests.fuzz.vocabulary.SEED`), so bets, sales, resolutions
and settings reach deep code. The store comes from the `store_kind` fixture: a new store is fuzzed
by adding it there (and to `tests.helpers.fresh_database`). For long runs see `tests/fuzz`.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from bot.core.errors import PredictError
from bot.core.grammar import CONFIG_KEYS, LIST_STATUSES, parse
from bot.core.models import Actor, Context
from bot.core.text import render
from tests.fuzz.vocabulary import (
    COMMAND_WORDS,
    DATES,
    MARKET_REFS,
    MECHANISMS,
    MODERATOR,
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
    seed_lines,
)
from tests.helpers import FakeClock
from tests.world import World, open_world

EXAMPLES = 200
T = TypeVar("T")

# The numbers that broke parsing before: more digits than Python converts, Unicode digits,
# just past 32 and 64 bits.
odd_numbers = st.sampled_from(
    ("9" * 5000, "1," + ",".join(["000"] * 1500), "²", "¹⁰", "١٢", "2147483648", "9" * 19 + "0")
)
values = st.one_of(
    st.sampled_from(NUMBERS),
    odd_numbers,
    st.sampled_from(DATES),
    st.sampled_from(ZONES),
    st.sampled_from(TEXT),
    st.sampled_from(SETTING_VALUES),
    st.integers(-(10**40), 10**40).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(str),
    st.text(max_size=12),
    st.text(st.characters(codec="ascii"), max_size=12),
)
markets = st.one_of(st.integers(1, 9).map(str), st.sampled_from(MARKET_REFS), odd_numbers, values)


def good_or(good: tuple[str, ...]) -> st.SearchStrategy[str]:
    """Mostly a value that fits, sometimes anything (an odd number more often)."""
    return st.one_of(st.sampled_from(good), st.sampled_from(good), odd_numbers, values)


def quoted(value: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    """A value quoted like users quote, now and then badly."""
    forms = ('"{}"', "'{}'", "“{}”", "{}", '"{}')
    return st.tuples(st.sampled_from(forms), value).map(lambda fv: fv[0].format(fv[1]))


def options(pairs: dict[str, st.SearchStrategy[str]]) -> st.SearchStrategy[str]:
    """Some of the `key:value` options, in any order."""
    chosen = st.lists(st.sampled_from(list(pairs)), unique=True, max_size=len(pairs))
    return chosen.flatmap(
        lambda keys: st.tuples(*(pairs[k].map(lambda v, k=k: f"{k}:{v}") for k in keys))
    ).map(" ".join)


def line(template: str, **slots: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    """Fill a template's `{slot}`s."""
    return st.fixed_dictionaries(slots).map(lambda filled: template.format(**filled))


commands = st.one_of(
    line(
        "create {question} closes:{closes} {rest}",
        question=quoted(good_or(QUESTIONS)),
        closes=quoted(good_or(DATES)),
        rest=options(
            {
                "outcomes": quoted(good_or(OUTCOME_LISTS)),
                "criteria": quoted(good_or(TEXT)),
                "mechanism": good_or(MECHANISMS),
                "liquidity": good_or(("10", "100", "1000")),
            }
        ),
    ),
    line("bet {m} {outcome} {points}", m=markets, outcome=good_or(OUTCOMES), points=values),
    line("sell {m} {outcome} {shares}", m=markets, outcome=good_or(OUTCOMES), shares=values),
    line(
        "resolve {m} {outcome} {rest}",
        m=markets,
        outcome=good_or(OUTCOMES),
        rest=options(
            {
                "evidence": good_or(("https://example.com/result",)),
                "known": quoted(good_or(DATES)),
            }
        ),
    ),
    line("extend {m} closes:{closes}", m=markets, closes=quoted(good_or(DATES))),
    line("{verb} {m}", verb=st.sampled_from(("show", "close", "cancel", "unresolve")), m=markets),
    line("config {rest}", rest=options({k: good_or(SETTING_VALUES + ZONES) for k in CONFIG_KEYS})),
    line("list {status}", status=good_or(LIST_STATUSES)),
    line("balance {user}", user=good_or(tuple(f"@{u}" for u in USERS))),
    st.sampled_from(("daily", "portfolio", "leaderboard", "overdue", "help", "help bet", "")),
)
word = st.one_of(
    st.sampled_from(COMMAND_WORDS),
    st.tuples(st.sampled_from(OPTION_KEYS), values).map(lambda kv: f"{kv[0]}:{kv[1]}"),
    markets,
    quoted(values),
    values,
)
soup = st.lists(word, max_size=7).map(" ".join)


@st.composite
def broken(draw: st.DrawFn) -> str:
    """A command with a nasty value spliced in somewhere."""
    text = draw(commands)
    at = draw(st.integers(0, len(text)))
    return text[:at] + draw(st.sampled_from(NASTY + NUMBERS)) + text[at:]


lines = st.one_of(commands, commands, broken(), soup)
users = st.one_of(*[st.sampled_from(USERS)] * 5, st.sampled_from(ODD_USERS))
# Lines that reached a traceback before, one per cause, tried first on every store.
KNOWN = (
    (MODERATOR, "config announce_channel:" + "c" * 65),
    ("bo", "show 2147483648"),
    ("bo", "bet 2147483648 yes 10"),
    (MODERATOR, 'create "Will it rain\x00 in Paris tomorrow?" closes:2026-03-10'),
    ("u" * 65, "balance"),
    ("a\udcffb", "bet 1 yes 10"),
    (MODERATOR, "config timezone:America"),
    (MODERATOR, 'create "Will it rain in Paris tomorrow?" closes:9999-12-31T23:00-05:00'),
    (MODERATOR, "resolve 1 yes known:0001-01-01T00:00+05:00"),
    ("bo", "bet 1 ² 10"),
    ("bo", "sell 1 yes " + "9" * 5000),
    (MODERATOR, "config min_duration:" + "9" * 5000),
)


def examples(known: tuple[tuple[str, str], ...]) -> Callable[[T], T]:
    """Decorate a hypothesis test with explicit (user, text) examples."""

    def decorate(test: T) -> T:
        for user, text in reversed(known):
            test = example(user=user, text=text)(test)
        return test

    return decorate


class Fuzzed:
    """A seeded community on one store, and the check every fuzzed line must pass."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.service = world.service
        self.refused = 0

    @staticmethod
    def context(user: str) -> Context:
        """The request context of a user (`mod` moderates)."""
        actor = Actor(user, user.capitalize(), is_moderator=user == MODERATOR)
        return Context("console", "test", actor, request_id=uuid.uuid4().hex, channel="chan")

    async def seed(self) -> None:
        """Create markets in every state."""
        for user, text in seed_lines(1):
            await self.service.execute(parse(text), self.context(user))

    async def check(self, user: str, text: str) -> None:
        """Run one line: it is answered (and renders), or refused and changes nothing."""
        before = await self.world.snapshot()
        try:
            result = await self.service.execute(parse(text), self.context(user))
        except PredictError as refusal:
            self.refused += 1
            assert refusal.message.strip(), f"an empty refusal for {text!r}"
            assert await self.world.snapshot() == before, f"refused {text!r} changed the database"
            return
        assert render(result)


def test_random_lines_are_answered_or_refused_without_a_trace(
    store_kind: str, tmp_path: Path
) -> None:
    with asyncio.Runner() as runner:
        opened = open_world(store_kind, FakeClock(), str(tmp_path))
        world = runner.run(opened.__aenter__())
        try:
            fuzzed = Fuzzed(world)
            runner.run(fuzzed.seed())

            @settings(
                max_examples=EXAMPLES,
                deadline=None,
                derandomize=True,
                database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
            )
            @given(user=users, text=lines)
            @examples(KNOWN)
            def fuzz(user: str, text: str) -> None:
                runner.run(fuzzed.check(user, text))

            fuzz()
            runner.run(world.ledger_check())
            # Most lines are refused, but not all: the fuzz reaches answers too.
            assert 0 < fuzzed.refused < EXAMPLES
        finally:
            runner.run(opened.__aexit__(None, None, None))
