"""`config min_duration:` takes seconds, minutes, hours, days or weeks, and 0."""

from __future__ import annotations

import pytest

from bot.core import grammar
from bot.core.errors import InvalidInput
from bot.core.service import Service
from bot.core.views import ConfigShown
from tests.helpers import ctx


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("0", "0 seconds"),
        ("90", "90 seconds"),
        ("90s", "90 seconds"),
        ("2m", "2 minutes"),
        ("3h", "3 hours"),
        ("1d", "1 day"),
    ],
)
async def test_min_duration_values(service: Service, value: str, shown: str) -> None:
    result = await service.execute(
        grammar.parse(f"config min_duration:{value}"), ctx("mo", moderator=True)
    )
    assert isinstance(result, ConfigShown)
    assert ("min_duration", shown) in result.settings


async def test_min_duration_refuses_nonsense(service: Service) -> None:
    with pytest.raises(InvalidInput, match="not a duration"):
        await service.execute(grammar.parse("config min_duration:soon"), ctx("mo", moderator=True))
