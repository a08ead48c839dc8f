"""`overdue` shows moderators closed markets and the announcements that could not be posted."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.core import grammar
from bot.core.errors import NotAllowed
from bot.core.service import Service
from bot.core.text import render
from bot.core.views import OverdueShown
from tests.helpers import FakeClock, ctx


async def test_overdue_lists_closed_markets_and_failed_announcements(
    service: Service, engine: AsyncEngine, clock: FakeClock
) -> None:
    for question in ("Will the first market wait longest?", "Will the second market wait too?"):
        await service.execute(grammar.parse(f'create "{question}" closes:1h'), ctx("al"))
    await service.execute(grammar.parse("close 2"), ctx("al"))
    clock.advance(minutes=5)
    await service.execute(grammar.parse("close 1"), ctx("al"))
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "UPDATE outbox SET failed_at = :now, attempts = 8, last_error = 'channel_not_found'"
                " WHERE kind = 'closed'"
            ),
            {"now": clock.now()},
        )
    with pytest.raises(NotAllowed):
        await service.execute(grammar.parse("overdue"), ctx("bo"))
    shown = await service.execute(grammar.parse("overdue"), ctx("mo", moderator=True))
    assert isinstance(shown, OverdueShown)
    assert [c.number for c in shown.cards] == [1, 2]  # same deadline: by number
    assert {f.market for f in shown.failed} == {1, 2}
    assert all(f.kind == "closed" and f.error == "channel_not_found" for f in shown.failed)
    out = render(shown)
    assert "could not be delivered" in out
    assert "closed about #1" in out and "after 8 attempts: channel_not_found" in out
