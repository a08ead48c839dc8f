"""The text command grammar shared by the Slack and console adapters (DESIGN.md §4).

``parse(text)`` turns what follows ``/predict`` into a typed command from ``bot.core.commands``,
or raises ``InvalidInput`` with a short message meant for the user. Values that need the
community's context (deadlines, outcome names, user references) stay raw strings; the services
interpret them.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from bot.core.commands import (
    CancelMarket,
    ClaimDaily,
    CloseMarket,
    Command,
    Configure,
    CreateMarket,
    ExtendMarket,
    ListMarkets,
    ListOverdue,
    PlaceBet,
    ResolveMarket,
    SellShares,
    ShowBalance,
    ShowHelp,
    ShowLeaderboard,
    ShowMarket,
    ShowPortfolio,
    UnresolveMarket,
)
from bot.core.errors import InvalidInput
from bot.core.money import MICRO
from bot.core.validation import bounded_int, is_market_number, shown

__all__ = [
    "ALIASES",
    "COMMANDS",
    "CONFIG_KEYS",
    "LIST_STATUSES",
    "MAX_POINTS",
    "USAGE",
    "canonical_command",
    "parse",
    "parse_market_id",
    "parse_points",
    "parse_shares",
]

# Command name → usage line. Order is the order help lists them in.
USAGE: dict[str, str] = {
    "create": (
        'create "<question>" closes:<when> [outcomes:"A, B, C"] [criteria:"..."] '
        "[mechanism:lmsr|pool] [liquidity:<b>]"
    ),
    "list": "list [open|closed|resolved|cancelled|all]",
    "show": "show <id>",
    "bet": "bet <id> <outcome> <points>",
    "sell": "sell <id> <outcome> <shares|all>",
    "close": "close <id>",
    "extend": "extend <id> closes:<when>",
    "resolve": "resolve <id> <outcome|na> [evidence:<url>] [known:<when>]",
    "unresolve": "unresolve <id>",
    "cancel": "cancel <id>",
    "balance": "balance [@user]",
    "portfolio": "portfolio",
    "leaderboard": "leaderboard",
    "daily": "daily",
    "help": "help [command]",
    "config": "config [key:value ...]",
    "overdue": "overdue",
}
COMMANDS: tuple[str, ...] = tuple(USAGE)

ALIASES: dict[str, str] = {
    "buy": "bet",
    "markets": "list",
    "lb": "leaderboard",
    "top": "leaderboard",
    "bal": "balance",
    "positions": "portfolio",
    "?": "help",
}

LIST_STATUSES: tuple[str, ...] = ("open", "closed", "resolved", "cancelled", "all")
_STATUS_ALIASES = {"canceled": "cancelled"}

# Settings a moderator may change with ``config key:value``.
CONFIG_KEYS: tuple[str, ...] = (
    "starting_balance",
    "daily_allowance",
    "default_liquidity",
    "house_liquidity",
    "moderator_liquidity",
    "timezone",
    "moderator_roles",
    "moderators",
    "announce_channel",
    "create_policy",
    "min_duration",
)

MAX_POINTS = 10**12
_MECHANISMS = ("lmsr", "pool")
_OPTION = re.compile(r"([A-Za-z][A-Za-z0-9_-]*):(.*)", re.DOTALL)
_THOUSANDS = re.compile(r"\d{1,3}(?:([,_])\d{3})(?:\1\d{3})*", re.ASCII)
_DECIMAL = re.compile(r"(?:\d+(?:\.\d*)?|\.\d+)", re.ASCII)
_CURLY = str.maketrans({"“": '"', "”": '"', "„": '"', "«": '"', "»": '"', "‘": "'"})
# A curly apostrophe between letters ("Turkey’s") is an apostrophe, not a quote.
_CURLY_CLOSE = re.compile(r"(?<!\w)’|’(?!\w)")


def canonical_command(word: str) -> str | None:
    """The command a word (name or alias, any case) stands for, or None."""
    lowered = word.strip().lower()
    if lowered in USAGE:
        return lowered
    return ALIASES.get(lowered)


def _unknown_command(word: str) -> InvalidInput:
    candidates = [*USAGE, *ALIASES]
    close = difflib.get_close_matches(word.lower(), candidates, n=1, cutoff=0.6)
    hint = f" Did you mean `{canonical_command(close[0])}`?" if close else ""
    return InvalidInput(f"Unknown command `{shown(word)}`.{hint} Try `help`.")


# --- tokenising -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Token:
    text: str
    plain: int  # how many leading characters came from unquoted, unescaped input
    quoted: bool  # whether any part of the token was quoted or escaped


def _tokenize(text: str, lenient: bool) -> list[_Token]:
    """Split like ``shlex.split(posix=True)``, remembering which characters were quoted.

    With ``lenient``, an apostrophe between two letters outside quotes ("don't") is literal.
    """
    tokens: list[_Token] = []
    buf: list[str] = []
    plain = 0
    still_plain = True
    quoted = False
    in_token = False
    i, n = 0, len(text)

    def finish() -> None:
        nonlocal buf, plain, still_plain, quoted, in_token
        if in_token:
            tokens.append(_Token("".join(buf), plain, quoted))
        buf, plain, still_plain, quoted, in_token = [], 0, True, False, False

    while i < n:
        ch = text[i]
        if ch.isspace():
            finish()
            i += 1
            continue
        in_token = True
        if ch == "\\":
            if i + 1 < n:
                buf.append(text[i + 1])
            still_plain, quoted = False, True
            i += 2
            continue
        if (
            ch == "'"
            and lenient
            and buf
            and buf[-1].isalnum()
            and i + 1 < n
            and text[i + 1].isalnum()
        ):
            buf.append(ch)
            if still_plain:
                plain += 1
            i += 1
            continue
        if ch in "\"'":
            end = i + 1
            part: list[str] = []
            while True:
                if end >= n:
                    raise ValueError("unterminated quote")
                c = text[end]
                if c == ch:
                    break
                if ch == '"' and c == "\\" and end + 1 < n and text[end + 1] in '"\\':
                    part.append(text[end + 1])
                    end += 2
                    continue
                part.append(c)
                end += 1
            buf.extend(part)
            still_plain, quoted = False, True
            i = end + 1
            continue
        buf.append(ch)
        if still_plain:
            plain += 1
        i += 1
    finish()
    return tokens


def _split(text: str) -> list[_Token]:
    text = _CURLY_CLOSE.sub("'", text.translate(_CURLY))
    try:
        return _tokenize(text, lenient=False)
    except ValueError:
        pass
    try:
        return _tokenize(text, lenient=True)
    except ValueError:
        raise InvalidInput(
            "A quote is never closed — check that every opening \" or ' has a matching one."
        ) from None


# --- arguments --------------------------------------------------------------------------------


@dataclass(slots=True)
class _Args:
    command: str
    positional: list[str]
    options: dict[str, str]

    def usage_error(self, problem: str) -> InvalidInput:
        return InvalidInput(f"{problem} Usage: `{USAGE[self.command]}`")

    def no_more_than(self, count: int) -> None:
        if len(self.positional) > count:
            extra = " ".join(self.positional[count:])
            raise self.usage_error(f"Unexpected `{shown(extra)}`.")

    def require(self, index: int, what: str) -> str:
        if len(self.positional) <= index:
            raise self.usage_error(f"Missing {what}.")
        return self.positional[index]


def _split_args(command: str, tokens: list[_Token], allowed: tuple[str, ...] | None) -> _Args:
    """Separate ``key:value`` options from positional words.

    ``allowed`` None means the command takes no options: every word is positional.
    """
    positional: list[str] = []
    options: dict[str, str] = {}
    i = 0
    while i < len(tokens):
        token = tokens[i]
        i += 1
        match = _OPTION.fullmatch(token.text) if allowed is not None else None
        # Only an unquoted "key:" counts: "Update: will it rain?" in quotes is a question.
        if allowed is None or match is None or match.end(1) >= token.plain:
            positional.append(token.text)
            continue
        key = match.group(1).lower().replace("-", "_")
        value = match.group(2)
        if key not in allowed:
            valid = ", ".join(allowed)
            if command == "config":
                raise InvalidInput(f"Unknown setting `{shown(key)}` — settings are: {valid}.")
            raise InvalidInput(
                f"Unknown option `{shown(key)}` for `{command}` — valid options: {valid}. "
                "(Put text that contains a colon in quotes.)"
            )
        if value == "" and not token.quoted:
            # Accept "closes: tomorrow" as well as "closes:tomorrow".
            nxt = tokens[i] if i < len(tokens) else None
            if nxt is None or (_OPTION.fullmatch(nxt.text) and nxt.plain > nxt.text.find(":")):
                raise InvalidInput(f"Option `{key}` needs a value, like `{key}:...`.")
            value = nxt.text
            i += 1
        if key in options:
            raise InvalidInput(f"Option `{key}` is given twice — give it once.")
        options[key] = value
    return _Args(command, positional, options)


# --- values -----------------------------------------------------------------------------------


def parse_market_id(text: str) -> int:
    """``12`` or ``#12`` → 12 (at most 2**31 - 1, the largest number storage holds)."""
    digits = text.strip()
    digits = digits.removeprefix("#")
    number = bounded_int(digits)
    if number is not None and is_market_number(number):
        return number
    raise InvalidInput(
        f"`{shown(text)}` is not a market number — use the number shown on the market, "
        "like 12 or #12."
    )


def _whole_number(text: str) -> int | None:
    """Digits, optionally grouped in thousands with commas or underscores."""
    cleaned = text.strip()
    if not cleaned.isascii():
        return None
    if _THOUSANDS.fullmatch(cleaned):
        cleaned = cleaned.replace(",", "").replace("_", "")
    return bounded_int(cleaned)


def _positive_whole(text: str, label: str, hint: str) -> int:
    """A whole number above 0; ``label`` names it ("Points"), ``hint`` shows a good value."""
    cleaned = text.strip()
    body = cleaned.removeprefix("-").removeprefix("+")
    value = _whole_number(body)
    if value is None:
        if "." in body and _DECIMAL.fullmatch(body.replace(",", "")):
            raise InvalidInput(f"`{shown(cleaned)}` is not a whole number — {hint}.")
        raise InvalidInput(f"`{shown(cleaned)}` is not a number — {hint}.")
    if cleaned.startswith("-") or value == 0:
        raise InvalidInput(f"{label} must be more than 0.")
    if value > MAX_POINTS:
        raise InvalidInput(
            f"`{shown(cleaned)}` is too large — {label.lower()} can be at most {MAX_POINTS:,}."
        )
    return value


def parse_points(text: str) -> int:
    """A stake in whole points: ``50``, ``1,000`` or ``1_000``."""
    return _positive_whole(text, "Points", "bet whole points, like 50")


def parse_shares(text: str) -> int | None:
    """Shares to sell in micro-shares (up to 6 decimals), or None for ``all``."""
    cleaned = text.strip()
    if cleaned.lower() == "all":
        return None
    negative = cleaned.startswith("-")
    body = cleaned.removeprefix("-").removeprefix("+")
    whole, dot, fraction = body.partition(".")
    grouped = _whole_number(whole) if whole else 0
    if grouped is None or not _DECIMAL.fullmatch(f"{grouped}{dot}{fraction}"):
        raise InvalidInput(
            f"`{shown(cleaned)}` is not a number of shares — use a number like 10 or 2.5, or `all`."
        )
    if len(fraction) > 6:
        raise InvalidInput("Shares can have at most 6 decimal places.")
    try:
        amount = Decimal(f"{grouped}{dot}{fraction}".rstrip("."))
    except InvalidOperation:  # pragma: no cover - the regex already vetted it
        raise InvalidInput(f"`{shown(cleaned)}` is not a number of shares.") from None
    if negative or amount <= 0:
        raise InvalidInput("The number of shares must be more than 0.")
    if amount > MAX_POINTS:
        raise InvalidInput(f"`{shown(cleaned)}` shares is far too many.")
    return int(amount * MICRO)


def _require_option(args: _Args, key: str, example: str) -> str:
    value = args.options.get(key)
    if value is None or not value.strip():
        raise args.usage_error(f"Missing `{key}:` — add it, like `{key}:{example}`.")
    return value.strip()


def _optional_text(args: _Args, key: str) -> str | None:
    value = args.options.get(key)
    if value is None:
        return None
    if not value.strip():
        raise InvalidInput(f"Option `{key}` needs a value, like `{key}:...`.")
    return value.strip()


# --- commands ---------------------------------------------------------------------------------


def _create(args: _Args) -> Command:
    question = " ".join(args.positional).strip()
    if not question:
        raise args.usage_error("Missing the question.")
    closes = _require_option(args, "closes", "2026-12-31")
    outcomes: tuple[str, ...] | None = None
    raw_outcomes = args.options.get("outcomes")
    if raw_outcomes is not None:
        outcomes = tuple(item.strip() for item in raw_outcomes.split(",") if item.strip())
        if not outcomes:
            raise InvalidInput(
                'List the outcomes separated by commas, like `outcomes:"Red, Green, Blue"`.'
            )
    mechanism: str | None = None
    raw_mechanism = args.options.get("mechanism")
    if raw_mechanism is not None:
        mechanism = raw_mechanism.strip().lower()
        if mechanism not in _MECHANISMS:
            raise InvalidInput(f"`{shown(raw_mechanism)}` is not a mechanism — use lmsr or pool.")
    liquidity: int | None = None
    raw_liquidity = args.options.get("liquidity")
    if raw_liquidity is not None:
        liquidity = _positive_whole(
            raw_liquidity, "Liquidity", "use a whole number, like liquidity:100"
        )
    return CreateMarket(
        question=question,
        closes=closes,
        outcomes=outcomes,
        criteria=_optional_text(args, "criteria"),
        mechanism=mechanism,
        liquidity=liquidity,
    )


def _list(args: _Args) -> Command:
    args.no_more_than(1)
    if not args.positional:
        return ListMarkets()
    raw = args.positional[0]
    status = raw.lower()
    status = _STATUS_ALIASES.get(status, status)
    if status not in LIST_STATUSES:
        raise InvalidInput(
            f"`{shown(raw)}` is not a market status — use open, closed, resolved, cancelled or all."
        )
    return ListMarkets(status=status)


def _market_only(factory: Callable[[int], Command]) -> Callable[[_Args], Command]:
    def build(args: _Args) -> Command:
        raw = args.require(0, "the market number")
        args.no_more_than(1)
        return factory(parse_market_id(raw))

    return build


def _id_outcome_amount(args: _Args, amount_name: str) -> tuple[int, str, str]:
    """``<id> <outcome words...> <amount>``: words between id and amount form the outcome."""
    market = parse_market_id(args.require(0, "the market number"))
    if len(args.positional) < 2:
        raise args.usage_error(f"Missing the outcome and the {amount_name}.")
    if len(args.positional) < 3:
        raise args.usage_error(f"Missing the outcome or the {amount_name}.")
    outcome = " ".join(args.positional[1:-1]).strip()
    if not outcome:
        raise args.usage_error("Missing the outcome.")
    return market, outcome, args.positional[-1]


def _bet(args: _Args) -> Command:
    market, outcome, amount = _id_outcome_amount(args, "points")
    return PlaceBet(market=market, outcome=outcome, points=parse_points(amount))


def _sell(args: _Args) -> Command:
    market, outcome, amount = _id_outcome_amount(args, "shares")
    return SellShares(market=market, outcome=outcome, micro_shares=parse_shares(amount))


def _extend(args: _Args) -> Command:
    market = parse_market_id(args.require(0, "the market number"))
    args.no_more_than(1)
    return ExtendMarket(market=market, closes=_require_option(args, "closes", "2026-12-31"))


def _resolve(args: _Args) -> Command:
    market = parse_market_id(args.require(0, "the market number"))
    if len(args.positional) < 2:
        raise args.usage_error("Missing the outcome (or `na` to cancel).")
    outcome = " ".join(args.positional[1:]).strip()
    evidence = _optional_text(args, "evidence")
    if evidence is not None and not evidence.lower().startswith(("http://", "https://")):
        raise InvalidInput("Evidence must be a link starting with http:// or https://.")
    return ResolveMarket(
        market=market, outcome=outcome, evidence=evidence, known=_optional_text(args, "known")
    )


def _balance(args: _Args) -> Command:
    user = " ".join(args.positional).strip()
    return ShowBalance(user=user or None)


def _no_args(factory: Callable[[], Command]) -> Callable[[_Args], Command]:
    def build(args: _Args) -> Command:
        args.no_more_than(0)
        return factory()

    return build


def _help(args: _Args) -> Command:
    args.no_more_than(1)
    if not args.positional:
        return ShowHelp()
    word = args.positional[0]
    name = canonical_command(word)
    if name is None:
        raise _unknown_command(word)
    return ShowHelp(command=name)


def _config(args: _Args) -> Command:
    if args.positional:
        raise args.usage_error(
            f"Unexpected `{shown(' '.join(args.positional))}` — settings are written key:value."
        )
    return Configure(changes=tuple((key, value.strip()) for key, value in args.options.items()))


_OPTIONS: dict[str, tuple[str, ...]] = {
    "create": ("closes", "outcomes", "criteria", "mechanism", "liquidity"),
    "extend": ("closes",),
    "resolve": ("evidence", "known"),
    "config": CONFIG_KEYS,
}

_BUILDERS: dict[str, Callable[[_Args], Command]] = {
    "create": _create,
    "list": _list,
    "show": _market_only(lambda m: ShowMarket(market=m)),
    "bet": _bet,
    "sell": _sell,
    "close": _market_only(lambda m: CloseMarket(market=m)),
    "extend": _extend,
    "resolve": _resolve,
    "unresolve": _market_only(lambda m: UnresolveMarket(market=m)),
    "cancel": _market_only(lambda m: CancelMarket(market=m)),
    "balance": _balance,
    "portfolio": _no_args(ShowPortfolio),
    "leaderboard": _no_args(ShowLeaderboard),
    "daily": _no_args(ClaimDaily),
    "help": _help,
    "config": _config,
    "overdue": _no_args(ListOverdue),
}


def parse(text: str) -> Command:
    """Parse one command line (without the ``/predict`` prefix) into a typed command."""
    tokens = _split(text)
    if not tokens:
        return ShowHelp()
    word = tokens[0].text
    name = canonical_command(word)
    if name is None:
        raise _unknown_command(word)
    args = _split_args(name, tokens[1:], _OPTIONS.get(name))
    return _BUILDERS[name](args)
