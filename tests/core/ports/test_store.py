"""The unit of work (`bot.core.ports.Store`), on every store: a transaction commits
everything or nothing, a read-only one cannot open an account, a community is created on
first contact, and the scheduler's queries find open markets' deadlines across communities."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from bot.core.commands import CloseMarket, CreateMarket, PlaceBet, ShowBalance
from bot.core.errors import InsufficientFunds
from bot.core.models import AnnouncementKind, EntryKind
from bot.core.ports import WriteRequired
from tests.flow import create, run
from tests.helpers import FakeClock, ctx
from tests.world import World

M = 1_000_000
Q = "Will the deadline come for this market?"


async def test_leaving_a_transaction_without_commit_leaves_no_trace(world: World) -> None:
    await run(world.service, ShowBalance(), "bo")
    before = await world.snapshot()
    async with world.store.transaction("console", "test", write=True) as tx:
        zed = await tx.accounts.ensure("zed", "Zed")
        assert zed.balance == 1000 * M
        await tx.ledger.transfer(tx.community.house_account_id, zed.id, 5 * M, EntryKind.DAILY)
        assert await tx.requests.claim("rid", "zed", "ClaimDaily") is None
        await tx.outbox.add(AnnouncementKind.FAILED, None, "{}", "never-sent")
        assert await tx.accounts.balance(zed.id) == 1005 * M  # it sees its own changes
    assert await world.snapshot() == before


async def test_an_exception_inside_a_transaction_leaves_no_trace(world: World) -> None:
    await create(world.service)
    before = await world.snapshot()
    with pytest.raises(RuntimeError, match="boom"):
        async with world.store.transaction("console", "test", write=True) as tx:
            market = await tx.markets.get(1, lock=True)
            assert market is not None
            account, paid = await tx.accounts.spend(
                "zed", "Zed", market.escrow_account_id, 10 * M, EntryKind.BET, market_id=market.id
            )
            assert paid and account.balance == 990 * M
            market.volume += 10 * M
            await tx.markets.save(market)
            raise RuntimeError("boom")
    assert await world.snapshot() == before
    # Nothing is left held either: the next transaction writes and commits.
    async with world.store.transaction("console", "test", write=True) as tx:
        await tx.accounts.ensure("zed", "Zed")
        await tx.commit()
    assert await world.balance("zed") == 1000 * M


async def test_a_refused_command_changes_nothing_though_its_transaction_wrote(
    world: World,
) -> None:
    await create(world.service)
    before = await world.snapshot()
    # The refusal comes after the newcomer's account was opened and granted its points in the
    # same transaction: none of it stays.
    with pytest.raises(InsufficientFunds, match="You have 1,000 points"):
        await run(world.service, PlaceBet(1, "yes", 1001), "zed")
    assert await world.snapshot() == before


async def test_a_commit_makes_every_change_visible(world: World) -> None:
    async with world.store.transaction("console", "test", write=True) as tx:
        zed = await tx.accounts.ensure("zed", "Zed")
        house = tx.community.house_account_id
        assert await tx.ledger.transfer(zed.id, house, 10 * M, EntryKind.BET, require_funds=True)
        await tx.outbox.add(AnnouncementKind.FAILED, None, "{}", "sent-once")
        await tx.commit()
    assert await world.balance("zed") == 990 * M
    assert await world.select("outbox", "dedupe_key", "attempts") == [("sent-once", 0)]
    await world.ledger_check()


async def test_a_read_transaction_cannot_open_an_account(world: World) -> None:
    await run(world.service, ShowBalance(), "bo")
    before = await world.snapshot()
    async with world.store.transaction("console", "test", write=False) as tx:
        found = await tx.accounts.ensure("bo", "Bo")  # an existing account is simply read
        assert (found.user_id, found.balance) == ("bo", 1000 * M)
        with pytest.raises(WriteRequired):
            await tx.accounts.ensure("zed", "Zed")
        assert await tx.accounts.find("zed") is None
    assert await world.snapshot() == before


async def test_a_read_in_a_new_community_creates_it_first(world: World) -> None:
    async with world.store.transaction("console", "fresh", write=False) as tx:
        assert (tx.community.platform, tx.community.external_id) == ("console", "fresh")
        assert await tx.accounts.balance(tx.community.house_account_id) == 0
        assert await tx.accounts.users() == []
    assert await world.select("community", "external_id", "next_market_number") == [("fresh", 1)]
    assert await world.select("account", "kind", "user_id", "display_name") == [
        ("house", None, "house")
    ]


async def test_a_write_creates_a_new_community_only_with_its_commit(world: World) -> None:
    async with world.store.transaction("console", "fresh", write=True) as tx:
        await tx.accounts.ensure("zed", "Zed")
    assert await world.rows("community") == []
    assert await world.rows("account") == []
    async with world.store.transaction("console", "fresh", write=True) as tx:
        await tx.accounts.ensure("zed", "Zed")
        await tx.commit()
    assert await world.select("community", "external_id") == [("fresh",)]
    assert await world.balance("zed") == 1000 * M
    await world.ledger_check()


async def test_a_reader_never_sees_uncommitted_changes(world: World) -> None:
    await run(world.service, ShowBalance(), "bo")
    written, release = asyncio.Event(), asyncio.Event()

    async def writer() -> None:
        async with world.store.transaction("console", "test", write=True) as tx:
            await tx.accounts.ensure("zed", "Zed")
            written.set()
            await release.wait()
            await tx.commit()

    task = asyncio.create_task(writer())
    await written.wait()
    try:
        async with world.store.transaction("console", "test", write=False) as tx:
            assert await tx.accounts.find("zed") is None
            assert [a.user_id for a in await tx.accounts.users()] == ["bo"]
    finally:
        release.set()  # never leave the writer waiting, even when the check fails
        await task
    async with world.store.transaction("console", "test", write=False) as tx:
        assert await tx.accounts.find("zed") is not None


async def test_due_markets_and_open_deadlines_across_communities(
    world: World, clock: FakeClock
) -> None:
    service = world.service
    for community, closes in (("test", "2026-03-04T10:00Z"), ("other", "2026-03-03T10:00Z")):
        await service.execute(CreateMarket(Q, closes), ctx("al", community=community))
    await create(service, closes="2026-03-20")  # test #2
    await run(service, CloseMarket(1), "al")  # closed: no longer open
    await service.execute(CreateMarket(Q, "2026-03-05T10:00Z"), ctx("al"))  # test #3
    deadlines = [(r.community, r.number, r.closes_at) for r in await world.store.open_deadlines()]
    assert deadlines == [
        ("other", 1, datetime(2026, 3, 3, 10, 0, tzinfo=UTC)),
        ("test", 3, datetime(2026, 3, 5, 10, 0, tzinfo=UTC)),
        ("test", 2, datetime(2026, 3, 20, 23, 59, 59, tzinfo=UTC)),
    ]
    clock.advance(days=4)  # 2026-03-06 12:00
    due = await world.store.due_markets(clock.now(), 10)
    assert [(r.platform, r.community, r.number) for r in due] == [
        ("console", "other", 1),
        ("console", "test", 3),
    ]
    assert [r.community for r in await world.store.due_markets(clock.now(), 1)] == ["other"]
