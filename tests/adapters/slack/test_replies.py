"""Helpers of private answers: the timezone a Slack profile names."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.adapters.slack._replies import local_deadline, tomorrow_in, zone_of


@pytest.mark.parametrize("name", ["America", "Factory", "posixrules", "x" * 300, "", "../etc"])
def test_a_profile_timezone_that_is_not_a_zone_means_utc(name: str) -> None:
    assert zone_of(name).key == "UTC"
    assert local_deadline("2026-03-10", "17:00", name) == "2026-03-10T17:00:00+00:00"
    assert tomorrow_in(datetime(2026, 3, 2, 23, tzinfo=UTC), name).isoformat() == "2026-03-03"


def test_a_real_zone_is_used() -> None:
    assert zone_of("Europe/Berlin").key == "Europe/Berlin"
    assert local_deadline("2026-03-10", "17:00", "Europe/Berlin") == "2026-03-10T17:00:00+01:00"
