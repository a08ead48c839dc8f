"""Values typed in a command: market numbers, points, shares, and required or optional options."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from bot.core.errors import InvalidInput
from bot.core.grammar.tokens import Args
from bot.core.money import MICRO
from bot.core.validation import bounded_int, is_market_number, shown

MAX_POINTS = 10**12
_THOUSANDS = re.compile(r"\d{1,3}(?:([,_])\d{3})(?:\1\d{3})*", re.ASCII)
_DECIMAL = re.compile(r"(?:\d+(?:\.\d*)?|\.\d+)", re.ASCII)


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


def whole_number(text: str) -> int | None:
    """Digits, optionally grouped in thousands with commas or underscores."""
    cleaned = text.strip()
    if not cleaned.isascii():
        return None
    if _THOUSANDS.fullmatch(cleaned):
        cleaned = cleaned.replace(",", "").replace("_", "")
    return bounded_int(cleaned)


def positive_whole(text: str, label: str, hint: str) -> int:
    """A whole number above 0; ``label`` names it ("Points"), ``hint`` shows a good value."""
    cleaned = text.strip()
    body = cleaned.removeprefix("-").removeprefix("+")
    value = whole_number(body)
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
    return positive_whole(text, "Points", "bet whole points, like 50")


def parse_shares(text: str) -> int | None:
    """Shares to sell in micro-shares (up to 6 decimals), or None for ``all``."""
    cleaned = text.strip()
    if cleaned.lower() == "all":
        return None
    negative = cleaned.startswith("-")
    body = cleaned.removeprefix("-").removeprefix("+")
    whole, dot, fraction = body.partition(".")
    grouped = whole_number(whole) if whole else 0
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


def require_option(args: Args, key: str, example: str) -> str:
    value = args.options.get(key)
    if value is None or not value.strip():
        raise args.usage_error(f"Missing `{key}:` — add it, like `{key}:{example}`.")
    return value.strip()


def optional_text(args: Args, key: str) -> str | None:
    value = args.options.get(key)
    if value is None:
        return None
    if not value.strip():
        raise InvalidInput(f"Option `{key}` needs a value, like `{key}:...`.")
    return value.strip()


# --- values that needed quotes ----------------------------------------------------------------
#
# `create Will it rain? closes:Dec 31` splits into closes:Dec and a question ending in "31".
# An unquoted value followed by unquoted words that read as the rest of it is refused with
# the quotes it needs: guessing where the value ends could set a different deadline silently.

_MONTHS = (
    "january|jan|february|feb|march|mar|april|apr|may|june|jun|july|jul|august|aug|"
    "september|sept|sep|october|oct|november|nov|december|dec"
)
_DAYS = "monday|mon|tuesday|tues|tue|wednesday|wed|thursday|thurs|thur|thu|friday|fri|"
_DAYS += "saturday|sat|sunday|sun"
_TIME_WORD = re.compile(
    r"(?:\d+(?:st|nd|rd|th)?|\d{1,4}(?:[/.-]\d{1,4}){1,2}"
    r"|\d{1,2}(?:[:.]\d{2}){1,2}(?:am|pm)?|\d{1,2}(?:am|pm)"
    rf"|{_MONTHS}|{_DAYS}|a\.?m\.?|p\.?m\.?|noon|midnight|at|in|of|next|this|ago|utc|gmt"
    r"|today|tomorrow|tonight|morning|afternoon|evening|night"
    r"|(?:minute|min|hour|hr|day|week|fortnight|month|year)s?)[.,]?",
    re.IGNORECASE | re.ASCII,
)


_DANGLING = re.compile(rf"(?:{_MONTHS}|next|this|in|at|of|on)[.,]?", re.IGNORECASE | re.ASCII)


def is_dangling(value: str) -> bool:
    """Whether a time stops where it can't end ("Dec", "next", "in")."""
    return _DANGLING.fullmatch(value.strip()) is not None


def is_time_word(word: str) -> bool:
    """Whether a word reads as part of a date or time ("31", "friday", "17:00", "pm")."""
    return _TIME_WORD.fullmatch(word) is not None


def _quoted(key: str, whole: str) -> str:
    mark = "'" if '"' in whole else '"'
    return f"`{key}:{mark}{shown(whole, 60)}{mark}`"


def _run_on(args: Args, key: str, words: tuple[str, ...]) -> str | None:
    if not words:
        return None
    return " ".join([args.options[key].strip(), *words])


def _also(words: tuple[str, ...], other: str | None) -> str:
    if other is None:
        return ""
    return f" If `{shown(' '.join(words))}` belongs to {other}, put {other} in quotes instead."


def check_time_quoted(args: Args, key: str, what: str, other: str | None) -> None:
    """Refuse `closes:Dec 31`: an unquoted time followed by words that read as its rest."""
    words: list[str] = []
    for word in args.follows.get(key, ()):
        if not is_time_word(word):
            break
        words.append(word)
    whole = _run_on(args, key, tuple(words))
    if whole is not None:
        raise InvalidInput(
            f"Is `{shown(whole, 60)}` {what}? A time of several words goes in quotes: "
            f"{_quoted(key, whole)}.{_also(tuple(words), other)}"
        )


def check_list_quoted(args: Args, key: str, other: str | None) -> None:
    """Refuse `outcomes:Yes, No, Maybe`: an unquoted list whose items go on past a space."""
    words: list[str] = []
    previous = args.options.get(key, "")
    for word in args.follows.get(key, ()):
        if not (previous.rstrip().endswith(",") or "," in word):
            break
        words.append(word)
        previous = word
    whole = _run_on(args, key, tuple(words))
    if whole is not None:
        raise InvalidInput(
            f"A list with spaces goes in quotes: {_quoted(key, whole)}.{_also(tuple(words), other)}"
        )


def check_text_quoted(args: Args, key: str, other: str | None) -> None:
    """Refuse `criteria:Reuters reports it`: unquoted text of several words."""
    words = args.follows.get(key, ())
    whole = _run_on(args, key, words)
    if whole is not None:
        raise InvalidInput(
            f"Text of several words goes in quotes: {_quoted(key, whole)}.{_also(words, other)}"
        )
