"""Settle markets: resolve (with evidence and known-at), cancel, unresolve, and who may.
On every store."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from bot.core.commands import CancelMarket, ResolveMarket, UnresolveMarket
from bot.core.errors import NotAllowed
from bot.core.service import Service
from bot.core.views import MarketCancelled, MarketResolved, MarketUnresolved
from tests.flow import MOD, bet, create, expect, run, sell
from tests.helpers import FakeClock
from tests.world import World

M = 1_000_000


async def test_resolve_by_moderator_with_evidence(service: Service, world: World) -> None:
    number = await create(service)
    placed = await bet(service, "bo", number, "no", 50)
    await bet(service, "cy", number, "yes", 20)
    resolved = expect(
        await run(service, ResolveMarket(number, "No", evidence="https://example.org/rain"), MOD),
        MarketResolved,
    )
    assert resolved.outcome == "No"
    assert resolved.evidence == "https://example.org/rain"
    assert resolved.card.status == "resolved"
    assert resolved.card.resolution == "No"
    assert resolved.card.evidence == "https://example.org/rain"
    assert [(w.user_id, w.amount) for w in resolved.winners] == [("bo", placed.shares)]
    assert resolved.total_paid == placed.shares
    balances = await world.ledger_check()
    assert balances["bo"] == 950 * M + placed.shares
    assert balances["cy"] == 980 * M
    assert ("resolved",) in await world.select("outbox", "kind")


async def test_creator_without_position_resolves_and_cancels(
    service: Service, world: World
) -> None:
    first, second = await create(service), await create(service)
    await bet(service, "bo", first, "yes", 10)
    resolved = expect(await run(service, ResolveMarket(first, "yes"), "al"), MarketResolved)
    assert resolved.card.status == "resolved"
    cancelled = expect(await run(service, CancelMarket(second), "al"), MarketCancelled)
    assert cancelled.card.status == "cancelled"
    assert cancelled.card.resolution == "N/A"
    with pytest.raises(NotAllowed, match="moderator"):
        await run(service, UnresolveMarket(first), "al")
    undone = expect(await run(service, UnresolveMarket(second), MOD), MarketUnresolved)
    assert undone.previous == "N/A"
    await world.ledger_check()


async def test_resolve_na_cancels(service: Service, world: World) -> None:
    number = await create(service)
    await bet(service, "bo", number, "yes", 10)
    cancelled = expect(await run(service, ResolveMarket(number, "N/A"), MOD), MarketCancelled)
    assert cancelled.total_refunded == 10 * M
    assert cancelled.accounts_refunded == 1
    assert (await world.ledger_check())["bo"] == 1000 * M


async def test_creator_who_sold_everything_may_resolve(service: Service) -> None:
    number = await create(service)
    await bet(service, "al", number, "yes", 10)
    with pytest.raises(NotAllowed, match="no position"):
        await run(service, ResolveMarket(number, "yes"), "al")
    await sell(service, "al", number, "yes", None)  # holds no position any more
    resolved = expect(await run(service, ResolveMarket(number, "no"), "al"), MarketResolved)
    assert resolved.card.status == "resolved"


async def test_known_at_is_recorded_and_cleared_by_unresolve(
    service: Service, world: World, clock: FakeClock
) -> None:
    number = await create(service)
    clock.advance(hours=2)
    known = clock.now() - timedelta(hours=1)
    await run(service, ResolveMarket(number, "yes", known=known.isoformat()), MOD)
    ((stored,),) = await world.select("market", "known_at")  # SQLite's text read as UTC
    assert isinstance(stored, datetime)
    assert stored == known
    await run(service, UnresolveMarket(number), MOD)
    assert await world.select("market", "known_at") == [(None,)]
