"""Checks every request passes before it reaches storage: numbers in range, text storable.

Storage's columns set the limits here (`storage/tables.py`): a market number is a 32-bit
integer, user ids and channels hold 64 characters, display names 100, request ids 100. Neither
PostgreSQL nor SQLite stores a NUL or a lone surrogate (what undecodable input turns into), so
text a user typed with a control character is refused, and a platform's display name is
cleaned instead. Python cannot even convert an integer of more than 4,300 digits, so numbers
are read here with a bound. Every refusal is a `PredictError` naming the problem.
"""

from __future__ import annotations

import unicodedata
from dataclasses import replace

from bot.core.commands import (
    Command,
    Configure,
    CreateMarket,
    ExtendMarket,
    PlaceBet,
    ResolveMarket,
    SellShares,
    ShowBalance,
)
from bot.core.errors import InvalidInput, NotFound
from bot.core.models import Context

__all__ = [
    "CHANNEL_MAX",
    "DISPLAY_NAME_MAX",
    "EVIDENCE_MAX",
    "MARKET_NUMBER_MAX",
    "REQUEST_ID_MAX",
    "USER_ID_MAX",
    "bounded_int",
    "check_command",
    "check_context",
    "check_text",
    "clean_display_name",
    "is_market_number",
    "no_market",
    "shown",
]

MARKET_NUMBER_MAX = 2**31 - 1  # market.number is a 32-bit INTEGER on PostgreSQL
USER_ID_MAX = 64
DISPLAY_NAME_MAX = 100
CHANNEL_MAX = 64
COMMUNITY_ID_MAX = 64
PLATFORM_MAX = 20
REQUEST_ID_MAX = 100
EVIDENCE_MAX = 2000
# More digits than any limit in predictbot; longer numbers are read as this, so that range
# checks refuse them instead of Python's integer conversion failing.
_HUGE_DIGITS = 30
_HUGE: int = 10**_HUGE_DIGITS
# Whitespace typed text may contain (the services fold it where it matters).
_LAYOUT = frozenset("\t\n\r")


def shown(text: str, limit: int = 40) -> str:
    """Echo user text in a message briefly, without breaking its backticks, controls as �."""
    cut = text if len(text) <= limit else text[: limit - 1] + "…"
    return "".join(
        " " if ch in _LAYOUT else "\N{REPLACEMENT CHARACTER}" if _unprintable(ch) else ch
        for ch in cut.replace("`", "'")
    )


def bounded_int(text: str) -> int | None:
    """Read ASCII digits as an int (None when `text` is anything else).

    Unicode digits ("²", "١") are not numbers here. A number longer than any limit comes back
    as 10**30, which every range check refuses."""
    if not (text.isascii() and text.isdigit()):
        return None
    significant = text.lstrip("0")
    if len(significant) > _HUGE_DIGITS:
        return _HUGE
    return int(significant or "0")


def is_market_number(number: int) -> bool:
    """Whether storage can hold `number` as a market number (1 to 2**31 - 1)."""
    return 0 < number <= MARKET_NUMBER_MAX


def no_market(number: int | str) -> NotFound:
    """The refusal for a market number that names no market."""
    return NotFound(f"There is no market #{number}. Try `list` to see the open ones.")


def _unprintable(ch: str) -> bool:
    """A control character or a lone surrogate (what undecodable bytes become)."""
    return unicodedata.category(ch) in ("Cc", "Cs")


def _bad_character(text: str, allowed: frozenset[str]) -> str | None:
    for ch in text:
        if ch in allowed or not _unprintable(ch):
            continue
        if unicodedata.category(ch) == "Cc":
            return f"a control character (U+{ord(ch):04X})"
        return "characters that are not valid text (was it UTF-8?)"
    return None


def check_text(text: str, what: str) -> None:
    """Refuse text a user typed that storage can't keep or chat can't show (NUL, controls)."""
    bad = _bad_character(text, _LAYOUT)
    if bad is not None:
        raise InvalidInput(f"The {what} contains {bad}; remove it and try again.")


def _check_id(value: str, what: str, limit: int) -> None:
    if not value or len(value) > limit:
        raise InvalidInput(
            f"The {what} `{shown(value)}` can't be used: it must be 1 to {limit} characters long."
        )
    bad = _bad_character(value, frozenset())
    if bad is not None:
        raise InvalidInput(f"The {what} can't be used: it contains {bad}.")


def clean_display_name(name: str, fallback: str) -> str:
    """A platform's display name without control characters, cut to what storage holds."""
    cleaned = "".join(ch for ch in name if not _unprintable(ch))
    cleaned = " ".join(cleaned.split())[:DISPLAY_NAME_MAX]
    return cleaned or fallback[:DISPLAY_NAME_MAX]


def check_context(ctx: Context) -> Context:
    """Refuse a request whose ids storage can't hold; return it with a storable display name."""
    _check_id(ctx.actor.user_id, "user name", USER_ID_MAX)
    _check_id(ctx.community, "community id", COMMUNITY_ID_MAX)
    _check_id(ctx.platform, "platform name", PLATFORM_MAX)
    if ctx.request_id is not None:
        _check_id(ctx.request_id, "request id", REQUEST_ID_MAX)
    if ctx.channel is not None:
        _check_id(ctx.channel, "channel", CHANNEL_MAX)
    name = clean_display_name(ctx.actor.display_name, ctx.actor.user_id)
    if name == ctx.actor.display_name:
        return ctx
    return replace(ctx, actor=replace(ctx.actor, display_name=name))


def check_command(command: Command) -> None:
    """Refuse a command whose text storage can't keep; the services check the rest."""
    if isinstance(command, CreateMarket):
        check_text(command.question, "question")
        check_text(command.closes, "deadline")
        for outcome in command.outcomes or ():
            check_text(outcome, "outcome")
        if command.criteria is not None:
            check_text(command.criteria, "criteria")
        if command.mechanism is not None:
            check_text(command.mechanism, "mechanism")
    elif isinstance(command, PlaceBet | SellShares):
        check_text(command.outcome, "outcome")
    elif isinstance(command, ExtendMarket):
        check_text(command.closes, "deadline")
    elif isinstance(command, ResolveMarket):
        check_text(command.outcome, "outcome")
        if command.evidence is not None:
            check_text(command.evidence, "evidence link")
            if len(command.evidence) > EVIDENCE_MAX:
                raise InvalidInput(
                    f"The evidence link is {len(command.evidence):,} characters long; "
                    f"the limit is {EVIDENCE_MAX:,}."
                )
        if command.known is not None:
            check_text(command.known, "known time")
    elif isinstance(command, ShowBalance):
        if command.user is not None:
            check_text(command.user, "user")
    elif isinstance(command, Configure):
        for key, value in command.changes:
            check_text(key, "setting name")
            check_text(value, f"value of {shown(key, 20)}")
