"""Turn what users type for a deadline into an aware UTC datetime.

Accepted forms, in the order they are tried:

- ISO date ``2026-12-31``: the end of that day (23:59:59) in the community's timezone.
- ISO date and time ``2026-12-31T17:00`` / ``2026-12-31 17:00``: naive means the community's
  timezone; an offset or ``Z`` is honoured.
- Shorthand durations ``30m``, ``2h``, ``3d``, ``1w`` (also combined: ``1d12h``, ``in 2h``).
- A numeric date with the year last, ``05/06/2027`` (or with dots or dashes), read in the
  community's ``date_order``: 5 June for ``dmy``, May 6 for ``mdy``; for ``ymd``, where neither
  is the usual order, only when one reading is a real date. A date that is only real the other
  way round (``13/06/2027`` under ``mdy``) has only that reading.
- Anything dateparser understands in English, relative to ``now`` in the community's timezone and
  preferring the future: "in 3 days", "tomorrow 17:00", "next friday", "5/6" (in the
  community's date order). A phrase that names a day but no time of day ("next friday",
  "March 20") means the end of that day, like an ISO date.

Whether the result lies in the future is for the caller to check.
"""

from __future__ import annotations

import functools
import re
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, available_timezones

import dateparser

from bot.core.errors import InvalidInput
from bot.core.validation import bounded_int, shown

__all__ = [
    "DATE_ORDERS",
    "MAX_AHEAD",
    "format_local",
    "format_utc",
    "parse_duration",
    "parse_when",
    "timezone_name",
    "zone",
]

# How a community writes a numeric date: 05/06/2027 is 5 June (dmy) or May 6 (mdy).
DATE_ORDERS = ("dmy", "mdy", "ymd")

_HELP = (
    "Use a date like 2026-12-31, a date and time like 2026-12-31 17:00, "
    'or a phrase like "in 3 days".'
)

# Digits are ASCII digits: "²" or "١" are not numbers here (re.ASCII).
_ISO_DATE = re.compile(r"\d{4}-\d{1,2}-\d{1,2}", re.ASCII)
_ISO_DATETIME = re.compile(r"(\d{4}-\d{1,2}-\d{1,2})([T ].*)", re.IGNORECASE | re.ASCII)
_DURATION_PART = re.compile(
    r"(\d+)\s*(weeks?|w|days?|d|hours?|hrs?|h|minutes?|mins?|m)", re.IGNORECASE | re.ASCII
)
_DURATION = re.compile(
    r"(?:in\s+)?(?:\d+\s*(?:weeks?|w|days?|d|hours?|hrs?|h|minutes?|mins?|m)\s*)+",
    re.IGNORECASE | re.ASCII,
)
# A date of numbers with a four-digit year last ("05/06/2027", "5.6.2027", "5-6-2027").
_YEAR_LAST = re.compile(r"(?<![\d:./-])(\d{1,2})([/.-])(\d{1,2})\2(\d{4})(?![\d./-])", re.ASCII)
# Words that show the user named a time of day, so midnight is meant literally.
_TIME_OF_DAY = re.compile(r"\d\s*:\s*\d|\d\s*(?:am|pm)\b|\b(?:midnight|noon|at)\b", re.I)
_UNIT_SECONDS = {"w": 7 * 86400, "d": 86400, "h": 3600, "m": 60}
# A setting's duration: a whole number with an optional unit.
_SETTING_DURATION = re.compile(r"(\d+)\s*([smhdw]?)", re.ASCII)
_SETTING_UNITS = {"": 1, "s": 1, **_UNIT_SECONDS}
_MAX_SECONDS = 100 * 366 * 86400  # a century is more than any market needs
MAX_AHEAD = timedelta(seconds=_MAX_SECONDS)
_END_OF_DAY = time(23, 59, 59)


# Files of a system's zone database that are not zones anyone should pick: the host's own
# zone (it differs from machine to machine) and the "no zone set yet" placeholder.
_NOT_ZONES = frozenset({"localtime", "posixrules", "Factory"})


@functools.cache
def _zone_names() -> dict[str, str]:
    """Every IANA zone this system knows, by its name folded to lower case."""
    return {name.casefold(): name for name in available_timezones() - _NOT_ZONES}


@functools.cache
def _dateparser_accepts(name: str) -> bool:
    """Whether dateparser can work in zone `name` (it knows fewer zones than zoneinfo)."""
    settings: dict[str, Any] = {"TIMEZONE": name, "RETURN_AS_TIMEZONE_AWARE": True}
    try:
        return dateparser.parse("tomorrow", languages=["en"], settings=settings) is not None
    except Exception:  # any failure means dateparser can't use this zone
        return False


def timezone_name(text: str) -> str | None:
    """The IANA name of a timezone deadlines can be parsed in ("europe/berlin" gives
    "Europe/Berlin"), or None for anything else: a directory ("America"), a file of the
    zone database that is not a zone ("posixrules"), a zone dateparser lacks ("Factory")."""
    name = _zone_names().get(text.strip().casefold())
    if name is None or not _dateparser_accepts(name):
        return None
    return name


def zone(tz: str) -> ZoneInfo:
    """Return the IANA timezone ``tz``, or refuse it with a user-facing message."""
    name = timezone_name(tz)
    if name is None:
        raise InvalidInput(
            f"Unknown timezone `{shown(tz)}` — use an IANA name like UTC, Europe/Berlin or "
            "America/New_York."
        )
    return ZoneInfo(name)


def _unparseable(text: str) -> InvalidInput:
    return InvalidInput(f"Could not understand the time `{shown(text, 60)}`. {_HELP}")


def parse_duration(text: str, *, setting: bool = False) -> timedelta:
    """Parse shorthand like ``30m``, ``2h``, ``3d``, ``1w`` or ``1d12h`` into a timedelta.

    The one duration parser of predictbot. For a setting (``setting=True``: a community's
    ``min_duration``, an environment variable like ``REMIND_EVERY``) seconds are allowed too,
    as ``90s`` or a bare number (``0``, ``90``); a deadline's shorthand starts at minutes."""
    cleaned = text.strip()
    if setting:
        match = _SETTING_DURATION.fullmatch(cleaned.lower())
        if not match:
            raise InvalidInput(
                f"`{shown(cleaned)}` is not a duration. Use e.g. 0, 30s, 1m, 2h or 3d."
            )
        number, unit = match.groups()
        seconds = (bounded_int(number) or 0) * _SETTING_UNITS[unit]
        # A huge number is still a duration (too long for any setting), not an overflow.
        return timedelta(seconds=min(seconds, _MAX_SECONDS * 10))
    if not cleaned or not _DURATION.fullmatch(cleaned):
        raise InvalidInput(
            f"`{shown(cleaned)}` is not a duration — use something like 30m, 2h, 3d or 1w."
        )
    seconds = 0
    for amount, unit in _DURATION_PART.findall(cleaned):
        seconds += (bounded_int(amount) or 0) * _UNIT_SECONDS[unit[0].lower()]
        if seconds > _MAX_SECONDS:
            raise InvalidInput("That duration is too long — keep it under 100 years.")
    return timedelta(seconds=seconds)


def _to_utc(value: datetime, tzinfo: ZoneInfo) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        value = value.replace(tzinfo=tzinfo)
    return value.astimezone(UTC).replace(microsecond=0)


def parse_when(text: str, now: datetime, tz: str, order: str = "dmy") -> datetime:
    """Parse a deadline typed by a user into an aware UTC datetime.

    ``now`` is the current time (aware, UTC); ``tz`` is the community's IANA timezone and
    ``order`` its date order (one of `DATE_ORDERS`).
    """
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    if order not in DATE_ORDERS:
        raise ValueError(f"unknown date order {order!r}")
    tzinfo = zone(tz)
    cleaned = " ".join(text.split())
    if not cleaned:
        raise InvalidInput(f"Missing a time. {_HELP}")
    try:
        return _parse(_YEAR_LAST.sub(lambda m: _iso_date(m, order), cleaned), now, tzinfo, order)
    except OverflowError:
        # 9999-12-31 in New York is in the year 10000 in UTC, which datetime can't hold.
        raise InvalidInput(f"`{shown(cleaned, 60)}` is too far from today. {_HELP}") from None


def _iso_date(match: re.Match[str], order: str) -> str:
    """Write a numeric date with the year last as ISO, read in the community's order."""
    first, second, year = int(match.group(1)), int(match.group(3)), int(match.group(4))
    readings = [(second, first), (first, second)]  # (month, day): dmy's reading first
    if order == "mdy":
        readings.reverse()
    real = list(dict.fromkeys(r for r in readings if _is_date(year, *r)))
    if not real:
        raise InvalidInput(f"`{match.group(0)}` is not a real date. {_HELP}")
    if order == "ymd" and len(real) > 1:
        raise InvalidInput(
            f"`{match.group(0)}` could be {_day_month(year, *real[0])} or "
            f"{_day_month(year, *real[1])}: write it year first, like {year}-"
            f"{real[0][0]:02d}-{real[0][1]:02d}."
        )
    month, day = real[0]
    return f"{year:04d}-{month:02d}-{day:02d}"


def _is_date(year: int, month: int, day: int) -> bool:
    try:
        date(year, month, day)
    except ValueError:
        return False
    return True


def _day_month(year: int, month: int, day: int) -> str:
    return f"{day} {_MONTHS[month - 1]} {year}"


def _parse(cleaned: str, now: datetime, tzinfo: ZoneInfo, order: str) -> datetime:
    tz = tzinfo.key

    if _ISO_DATE.fullmatch(cleaned):
        try:
            day = date.fromisoformat(_pad_date(cleaned))
        except ValueError as exc:
            raise InvalidInput(f"`{cleaned}` is not a real date. {_HELP}") from exc
        return _to_utc(datetime.combine(day, _END_OF_DAY), tzinfo)

    iso_match = _ISO_DATETIME.fullmatch(cleaned)
    if iso_match:
        iso = _pad_date(iso_match.group(1)) + iso_match.group(2)
        try:
            moment = datetime.fromisoformat(iso.upper().replace(" Z", "Z"))
        except ValueError:
            moment = None
        if moment is not None:
            return _to_utc(moment, tzinfo)
        # Fall through: dateparser may still understand e.g. "2026-12-31 5pm".

    if _DURATION.fullmatch(cleaned):
        delta = parse_duration(cleaned)
        return (now + delta).astimezone(UTC).replace(microsecond=0)

    if cleaned.isdigit() or len(cleaned) > 100:
        # A bare number ("12") is ambiguous; dateparser would guess a day of some month.
        raise _unparseable(cleaned)

    local_now = now.astimezone(tzinfo).replace(tzinfo=None)
    settings: dict[str, Any] = {
        "RELATIVE_BASE": local_now,
        "PREFER_DATES_FROM": "future",
        "TIMEZONE": tz,
        "RETURN_AS_TIMEZONE_AWARE": True,
        "DATE_ORDER": order.upper(),
    }
    try:
        parsed = dateparser.parse(cleaned, languages=["en"], settings=settings)
    except (ValueError, OverflowError, TypeError) as exc:
        raise _unparseable(cleaned) from exc
    if parsed is None:
        raise _unparseable(cleaned)
    if parsed.tzinfo is None or getattr(parsed.tzinfo, "zone", None) == tz:
        # dateparser applied the community's zone (with pytz, sometimes at the wrong DST
        # offset): keep its wall-clock time and localise it properly. A zone named in the
        # text ("17:00 UTC") comes back as another tzinfo and is kept.
        parsed = parsed.replace(tzinfo=tzinfo)
    local = parsed.astimezone(tzinfo)
    if local.time() == time(0, 0) and not _TIME_OF_DAY.search(cleaned):
        # "next friday" means through Friday, like an ISO date does.
        local = datetime.combine(local.date(), _END_OF_DAY, tzinfo=tzinfo)
    return _to_utc(local, tzinfo)


def _pad_date(text: str) -> str:
    """Zero-pad ``2026-1-5`` to ``2026-01-05`` so fromisoformat accepts it."""
    year, month, day = text.split("-")
    return f"{year}-{int(month):02d}-{int(day):02d}"


def format_utc(dt: datetime) -> str:
    """Show an aware datetime as UTC with the zone named, e.g. ``2026-12-31 23:59 UTC``."""
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def format_local(dt: datetime, tz: str) -> str:
    """Show an aware datetime in a community's timezone, unambiguously and with the zone
    named, e.g. ``Wed 5 May 2027 23:59 Europe/Berlin`` (English names whatever the locale)."""
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    name = timezone_name(tz) or "UTC"
    local = dt.astimezone(ZoneInfo(name))
    return (
        f"{_DAYS[local.weekday()]} {local.day} {_MONTHS[local.month - 1]} {local.year} "
        f"{local:%H:%M} {name}"
    )
