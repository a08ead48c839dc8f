from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta, timezone

import pytest

from bot.core.errors import InvalidInput
from bot.core.timeparse import (
    format_local,
    format_utc,
    parse_duration,
    parse_when,
    timezone_name,
    zone,
)

# Tuesday 2026-03-10 15:30 UTC: 11:30 EDT in New York (DST began 2026-03-08), 21:00 IST.
NOW = datetime(2026, 3, 10, 15, 30, tzinfo=UTC)
NY = "America/New_York"
IN = "Asia/Kolkata"


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


@pytest.mark.parametrize(
    ("text", "tz", "expected"),
    [
        # An ISO date is the end of that day in the community's timezone.
        ("2026-12-31", "UTC", utc(2026, 12, 31, 23, 59, 59)),
        ("2026-12-31", NY, utc(2027, 1, 1, 4, 59, 59)),
        ("2026-12-31", IN, utc(2026, 12, 31, 18, 29, 59)),
        ("2026-7-4", NY, utc(2026, 7, 5, 3, 59, 59)),
        # Naive ISO datetimes are in the community's timezone.
        ("2026-12-31T17:00", "UTC", utc(2026, 12, 31, 17, 0)),
        ("2026-12-31 17:00", NY, utc(2026, 12, 31, 22, 0)),
        ("2026-12-31T17:00", IN, utc(2026, 12, 31, 11, 30)),
        ("2026-07-01 09:15:30", NY, utc(2026, 7, 1, 13, 15, 30)),
        # Explicit offsets win over the community's timezone.
        ("2026-12-31T17:00Z", IN, utc(2026, 12, 31, 17, 0)),
        ("2026-12-31 17:00 Z", NY, utc(2026, 12, 31, 17, 0)),
        ("2026-12-31T17:00+02:00", NY, utc(2026, 12, 31, 15, 0)),
        ("2026-12-31t17:00", "UTC", utc(2026, 12, 31, 17, 0)),
    ],
)
def test_iso_forms(text: str, tz: str, expected: datetime) -> None:
    result = parse_when(text, NOW, tz)
    assert result == expected
    assert result.tzinfo is UTC


@pytest.mark.parametrize("tz", ["UTC", NY, IN])
@pytest.mark.parametrize(
    ("text", "delta"),
    [
        ("in 3 days", timedelta(days=3)),
        ("in 2 hours", timedelta(hours=2)),
        ("3d", timedelta(days=3)),
        ("2h", timedelta(hours=2)),
        ("30m", timedelta(minutes=30)),
        ("1w", timedelta(weeks=1)),
        ("1d12h", timedelta(days=1, hours=12)),
        ("1h 30m", timedelta(hours=1, minutes=30)),
        ("in 2h", timedelta(hours=2)),
        ("2H", timedelta(hours=2)),
        ("45 mins", timedelta(minutes=45)),
    ],
)
def test_relative_offsets_are_from_now(text: str, tz: str, delta: timedelta) -> None:
    assert parse_when(text, NOW, tz) == NOW + delta


@pytest.mark.parametrize(
    ("text", "tz", "expected"),
    [
        ("tomorrow 17:00", "UTC", utc(2026, 3, 11, 17, 0)),
        ("tomorrow 17:00", NY, utc(2026, 3, 11, 21, 0)),
        ("tomorrow 17:00", IN, utc(2026, 3, 11, 11, 30)),
        ("tomorrow", "UTC", utc(2026, 3, 11, 15, 30)),
        ("tomorrow", NY, utc(2026, 3, 11, 15, 30)),
        # A named day without a time means the end of that day, like an ISO date.
        ("next friday", "UTC", utc(2026, 3, 13, 23, 59, 59)),
        ("next friday", NY, utc(2026, 3, 14, 3, 59, 59)),
        ("next friday", IN, utc(2026, 3, 13, 18, 29, 59)),
        ("friday 5pm", NY, utc(2026, 3, 13, 21, 0)),
        ("tomorrow midnight", "UTC", utc(2026, 3, 11, 0, 0)),
        ("  In   3   days ", "UTC", utc(2026, 3, 13, 15, 30)),
    ],
)
def test_phrases(text: str, tz: str, expected: datetime) -> None:
    assert parse_when(text, NOW, tz) == expected


def test_phrase_with_named_zone_is_honoured() -> None:
    assert parse_when("tomorrow 17:00 UTC", NOW, IN) == utc(2026, 3, 11, 17, 0)


def test_dst_change_is_respected() -> None:
    # Saturday before the US switch to daylight time: 17:00 on Sunday is EDT (-4).
    now = utc(2026, 3, 7, 15, 30)
    assert parse_when("tomorrow 17:00", now, NY) == utc(2026, 3, 8, 21, 0)
    assert parse_when("2026-03-07 17:00", now, NY) == utc(2026, 3, 7, 22, 0)


def test_now_in_other_zone_is_accepted() -> None:
    now = NOW.astimezone(timezone(timedelta(hours=3)))
    assert parse_when("2h", now, "UTC") == NOW + timedelta(hours=2)


def test_naive_now_is_a_programming_error() -> None:
    with pytest.raises(ValueError):
        parse_when("2h", datetime(2026, 3, 10), "UTC")


def test_past_is_not_refused_here() -> None:
    assert parse_when("2019-12-31", NOW, "UTC") == utc(2019, 12, 31, 23, 59, 59)


@pytest.mark.parametrize("text", ["xyz", "whenever", "12", "2027", "soon-ish ?!", "x" * 150])
def test_unparseable(text: str) -> None:
    with pytest.raises(InvalidInput) as info:
        parse_when(text, NOW, "UTC")
    message = info.value.message
    assert message.startswith("Could not understand the time `")
    assert (
        "Use a date like 2026-12-31, a date and time like 2026-12-31 17:00, "
        'or a phrase like "in 3 days".'
    ) in message
    assert len(message) < 250


def test_unparseable_message_exact() -> None:
    with pytest.raises(InvalidInput) as info:
        parse_when("xyz", NOW, "UTC")
    assert info.value.message == (
        "Could not understand the time `xyz`. Use a date like 2026-12-31, a date and time like "
        '2026-12-31 17:00, or a phrase like "in 3 days".'
    )


def test_backticks_are_not_echoed() -> None:
    with pytest.raises(InvalidInput) as info:
        parse_when("`rm`", NOW, "UTC")
    assert "``" not in info.value.message
    assert "'rm'" in info.value.message


@pytest.mark.parametrize("text", ["2026-02-30", "2026-13-01"])
def test_impossible_dates(text: str) -> None:
    with pytest.raises(InvalidInput, match=f"`{text}` is not a real date"):
        parse_when(text, NOW, "UTC")


@pytest.mark.parametrize("text", ["", "   "])
def test_empty(text: str) -> None:
    with pytest.raises(InvalidInput, match="Missing a time"):
        parse_when(text, NOW, "UTC")


def test_unknown_timezone() -> None:
    with pytest.raises(InvalidInput, match="Unknown timezone `Mars/Olympus`"):
        parse_when("2h", NOW, "Mars/Olympus")
    with pytest.raises(InvalidInput, match="Unknown timezone"):
        zone("../etc")
    assert zone("Asia/Kolkata").key == "Asia/Kolkata"


def test_huge_shorthand_is_refused() -> None:
    with pytest.raises(InvalidInput, match="too long"):
        parse_when("99999999w", NOW, "UTC")


def test_parse_duration() -> None:
    assert parse_duration("1m") == timedelta(minutes=1)
    assert parse_duration("1h") == timedelta(hours=1)
    assert parse_duration("2w3d") == timedelta(days=17)
    for bad in ["", "1x", "h", "1.5h", "-1h"]:
        with pytest.raises(InvalidInput, match="is not a duration"):
            parse_duration(bad)


def test_format_utc() -> None:
    assert format_utc(utc(2026, 12, 31, 23, 59, 59)) == "2026-12-31 23:59 UTC"
    kolkata = datetime(2027, 1, 1, 5, 29, tzinfo=zone(IN))
    assert format_utc(kolkata) == "2026-12-31 23:59 UTC"
    assert format_utc(datetime(2026, 1, 2, 3, 4)) == "2026-01-02 03:04 UTC"


@pytest.mark.parametrize(
    ("text", "order", "expected"),
    [
        ("05/06/2027", "dmy", utc(2027, 6, 5, 23, 59, 59)),
        ("05/06/2027", "mdy", utc(2027, 5, 6, 23, 59, 59)),
        ("5.6.2027", "dmy", utc(2027, 6, 5, 23, 59, 59)),
        ("5-6-2027", "mdy", utc(2027, 5, 6, 23, 59, 59)),
        ("05/06/2027 17:00", "dmy", utc(2027, 6, 5, 17, 0)),
        ("05/06/2027 17:00", "mdy", utc(2027, 5, 6, 17, 0)),
        ("17:00 05/06/2027", "mdy", utc(2027, 5, 6, 17, 0)),
        # Only one reading is a real date: that one, whatever the order.
        ("13/06/2027", "mdy", utc(2027, 6, 13, 23, 59, 59)),
        ("06/13/2027", "dmy", utc(2027, 6, 13, 23, 59, 59)),
        ("13/06/2027", "ymd", utc(2027, 6, 13, 23, 59, 59)),
        ("05/05/2027", "ymd", utc(2027, 5, 5, 23, 59, 59)),
        # The year first is year-month-day in every order.
        ("2027/05/06", "dmy", utc(2027, 5, 6, 23, 59, 59)),
        ("2027/05/06", "mdy", utc(2027, 5, 6, 23, 59, 59)),
        # Day and month without a year, in the community's order (dateparser's DATE_ORDER).
        ("5/6", "dmy", utc(2026, 6, 5, 23, 59, 59)),
        ("5/6", "mdy", utc(2026, 5, 6, 23, 59, 59)),
    ],
)
def test_numeric_dates_follow_the_date_order(text: str, order: str, expected: datetime) -> None:
    assert parse_when(text, NOW, "UTC", order) == expected


@pytest.mark.parametrize(
    ("text", "order", "message"),
    [
        ("05/06/2027", "ymd", "`05/06/2027` could be 5 Jun 2027 or 6 May 2027: write it year"),
        ("31/02/2027", "dmy", "`31/02/2027` is not a real date."),
        ("13/13/2027", "mdy", "`13/13/2027` is not a real date."),
    ],
)
def test_numeric_dates_that_are_refused(text: str, order: str, message: str) -> None:
    with pytest.raises(InvalidInput) as info:
        parse_when(text, NOW, "UTC", order)
    assert info.value.message.startswith(message)


def test_format_local_names_the_weekday_the_month_and_the_zone() -> None:
    assert format_local(utc(2027, 5, 5, 21, 59, 59), "Europe/Berlin") == (
        "Wed 5 May 2027 23:59 Europe/Berlin"
    )
    assert format_local(utc(2027, 5, 5, 23, 59, 59), "UTC") == "Wed 5 May 2027 23:59 UTC"
    assert format_local(utc(2026, 12, 31, 18, 29), IN) == "Thu 31 Dec 2026 23:59 Asia/Kolkata"
    assert format_local(datetime(2026, 1, 2, 3, 4), "UTC") == "Fri 2 Jan 2026 03:04 UTC"


def test_first_call_is_fast() -> None:
    # CPU time, not wall time: the work the first call does, whatever else the machine runs
    # (with both cores busy, the wall time of the same work more than doubles).
    code = (
        "import time\n"
        "from datetime import datetime, UTC\n"
        "from bot.core.timeparse import parse_when\n"
        "t = time.process_time()\n"
        "parse_when('next friday', datetime(2026, 3, 10, tzinfo=UTC), 'America/New_York')\n"
        "print(time.process_time() - t)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert float(out.stdout.strip()) < 1.0


def test_hours_across_dst_are_elapsed_time() -> None:
    # 01:30 EST on the night the clocks jump: two hours later is 04:30 EDT.
    now = utc(2026, 3, 8, 6, 30)
    assert parse_when("in 2 hours", now, NY) == utc(2026, 3, 8, 8, 30)
    assert parse_when("2h", now, NY) == utc(2026, 3, 8, 8, 30)


@pytest.mark.parametrize(
    ("text", "tz"),
    [
        ("9999-12-31", NY),  # the end of that day in New York is in the year 10000 in UTC
        ("9999-12-31T23:00-05:00", "UTC"),
        ("9999-12-31 23:59", NY),
        ("0001-01-01T00:00+05:00", "UTC"),  # before the year 1 in UTC
        ("0001-01-01 01:00", IN),
    ],
)
def test_dates_beyond_the_calendar_are_refused(text: str, tz: str) -> None:
    with pytest.raises(InvalidInput, match="too far from today"):
        parse_when(text, NOW, tz)


def test_the_calendar_edges_themselves_still_parse() -> None:
    assert parse_when("9999-12-31", NOW, "UTC") == utc(9999, 12, 31, 23, 59, 59)
    assert parse_when("0001-01-01T05:00+05:00", NOW, "UTC") == utc(1, 1, 1, 0, 0)


@pytest.mark.parametrize(
    "text", ["in " + "9" * 5000 + " days", "9" * 5000 + "w", "1d" + "9" * 5000 + "h"]
)
def test_durations_of_more_digits_than_python_converts_are_refused(text: str) -> None:
    with pytest.raises(InvalidInput, match="too long"):
        parse_when(text, NOW, "UTC")


def test_unicode_digits_are_left_to_dateparser() -> None:
    # dateparser reads "٣" as 3 itself; the shorthand durations take ASCII digits only.
    assert parse_when("٣d", NOW, "UTC") == NOW + timedelta(days=3)
    with pytest.raises(InvalidInput, match="not a duration"):
        parse_duration("٣d")


@pytest.mark.parametrize(
    "tz", ["America", "Factory", "posixrules", "posix/Europe/Berlin", "localtime", "A" * 300]
)
def test_zones_deadlines_cannot_use_are_unknown(tz: str) -> None:
    with pytest.raises(InvalidInput, match="Unknown timezone"):
        parse_when("next friday", NOW, tz)
    assert timezone_name(tz) is None


def test_timezone_names_are_canonical() -> None:
    assert timezone_name("europe/berlin") == "Europe/Berlin"
    assert timezone_name(" UTC ") == "UTC"
    assert timezone_name("America/Argentina/Buenos_Aires") == "America/Argentina/Buenos_Aires"
    assert zone("asia/kolkata").key == "Asia/Kolkata"
