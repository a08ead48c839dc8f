"""Look at markets and move their deadlines: list, show, close, extend, overdue, and the
scheduler's close at the deadline. On every store."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.core import grammar
from bot.core.commands import (
    CancelMarket,
    CloseMarket,
    ExtendMarket,
    ListMarkets,
    ListOverdue,
    ResolveMarket,
    ShowMarket,
)
from bot.core.errors import NotAllowed
from bot.core.service import Service
from bot.core.text import render
from bot.core.views import MarketClosed, MarketExtended, MarketList, MarketShown, OverdueShown
from tests.flow import MOD, bet, create, expect, run
from tests.helpers import FakeClock, ctx
from tests.world import World


async def test_list_and_show(service: Service) -> None:
    for _ in range(4):
        await create(service)
    await run(service, CloseMarket(2), "al")
    await run(service, ResolveMarket(3, "yes"), MOD)
    await run(service, CancelMarket(4), MOD)

    async def listed(status: str) -> list[tuple[int, str]]:
        found = expect(await run(service, ListMarkets(status), "bo"), MarketList)
        return [(c.number, c.status) for c in found.cards]

    assert await listed("open") == [(1, "open")]
    assert await listed("closed") == [(2, "closed")]
    assert await listed("RESOLVED") == [(3, "resolved")]
    assert await listed("cancelled") == [(4, "cancelled")]
    assert await listed("all") == [(4, "cancelled"), (3, "resolved"), (2, "closed"), (1, "open")]
    shown = expect(await run(service, ShowMarket(3), "bo"), MarketShown).card
    assert shown.status == "resolved"
    assert shown.resolution == "Yes"


# -- close, extend -------------------------------------------------------------------------


async def test_close_by_creator_and_by_moderator(
    service: Service, world: World, clock: FakeClock
) -> None:
    first, second = await create(service), await create(service)
    closed = expect(await run(service, CloseMarket(first), "al"), MarketClosed)
    assert closed.card.status == "closed"
    assert closed.card.closed_at == clock.now()
    assert not closed.late
    assert "al" in closed.resolvers
    by_mod = expect(await run(service, CloseMarket(second), MOD), MarketClosed)
    assert by_mod.card.status == "closed"
    with pytest.raises(NotAllowed):
        await run(service, CloseMarket(second), "bo")
    kinds = await world.select("outbox", "kind")
    assert kinds == [("created",), ("created",), ("closed",), ("closed",)]


async def test_extend_later_and_reopen(service: Service, clock: FakeClock) -> None:
    number = await create(service)
    extended = expect(await run(service, ExtendMarket(number, "2026-03-20"), "al"), MarketExtended)
    assert extended.previous_closes_at == datetime(2026, 3, 10, 23, 59, 59, tzinfo=UTC)
    assert extended.card.closes_at == datetime(2026, 3, 20, 23, 59, 59, tzinfo=UTC)
    await run(service, CloseMarket(number), "al")
    # A closed market reopens, even with a deadline earlier than the old one.
    reopened = expect(await run(service, ExtendMarket(number, "2026-03-05"), MOD), MarketExtended)
    assert reopened.card.status == "open"
    assert reopened.card.closed_at is None
    assert reopened.card.closes_at == datetime(2026, 3, 5, 23, 59, 59, tzinfo=UTC)
    await bet(service, "bo", number, "yes", 5)  # trading again


async def test_close_due_closes_late_markets_once(service: Service, clock: FakeClock) -> None:
    number = await create(service, closes="2026-03-02T13:00Z")
    assert await service.close_due("console", "test", number) is None  # not due yet
    clock.advance(hours=3)
    closed = await service.close_due("console", "test", number)
    assert closed is not None
    assert closed.late
    assert closed.card.closed_at == datetime(2026, 3, 2, 13, 0, tzinfo=UTC)
    assert await service.close_due("console", "test", number) is None


# -- overdue -------------------------------------------------------------------------------


async def test_overdue_lists_closed_markets_oldest_deadline_first(service: Service) -> None:
    late = await create(service, closes="2026-03-20")
    early = await create(service, closes="2026-03-05")
    still_open = await create(service)
    done = await create(service)
    for number in (late, early, done):
        await run(service, CloseMarket(number), "al")
    await run(service, ResolveMarket(done, "no"), MOD)
    overdue = expect(await run(service, ListOverdue(), MOD), OverdueShown)
    assert [c.number for c in overdue.cards] == [early, late]
    assert still_open not in [c.number for c in overdue.cards]


async def test_overdue_lists_closed_markets_and_failed_announcements(
    service: Service, world: World, clock: FakeClock
) -> None:
    for question in ("Will the first market wait longest?", "Will the second market wait too?"):
        await service.execute(grammar.parse(f'create "{question}" closes:1h'), ctx("al"))
    await service.execute(grammar.parse("close 2"), ctx("al"))
    clock.advance(minutes=5)
    await service.execute(grammar.parse("close 1"), ctx("al"))
    await world.fail_announcements("closed", at=clock.now(), attempts=8, error="channel_not_found")
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
