"""The service: a repeated request id returns the first answer and changes nothing (also when
concurrent), transient conflicts are retried, commands that change nothing read, and a
user's first contact escalates a read to a write. On every store."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import datetime, timedelta
from typing import Any

import pytest

from bot.core import grammar
from bot.core.commands import (
    CancelMarket,
    ClaimDaily,
    CloseMarket,
    Command,
    Configure,
    CreateMarket,
    ExtendMarket,
    PlaceBet,
    ResolveMarket,
    SellShares,
    ShowBalance,
    ShowMarket,
    ShowPortfolio,
    UnresolveMarket,
)
from bot.core.errors import InsufficientFunds, TransientConflict
from bot.core.ports import MarketRef, Store, Tx
from bot.core.service import Service
from bot.core.views import BalanceShown, BetPlaced, DailyClaimed, MarketList, MarketResolved
from tests.flow import MOD, bet, create, run
from tests.helpers import FakeClock, ctx
from tests.world import World

M = 1_000_000
Q = "Will it rain in Paris tomorrow?"

Setup = Callable[[Service], Awaitable[None]]


async def _one_market(service: Service) -> None:
    await create(service)
    await bet(service, "bo", 1, "yes", 50)


async def _closed_market(service: Service) -> None:
    await _one_market(service)
    await run(service, CloseMarket(1), "al")


async def _resolved_market(service: Service) -> None:
    await _closed_market(service)
    await run(service, ResolveMarket(1, "yes"), MOD)


async def _nothing(service: Service) -> None:
    return None


# (who, command, setup): every mutating command.
REQUESTS: list[tuple[str, Command, Setup]] = [
    ("al", CreateMarket(Q, "2026-03-10", outcomes=("A", "B", "C")), _nothing),
    ("bo", PlaceBet(1, "yes", 10), _one_market),
    ("cy", PlaceBet(1, "no", 10), _one_market),  # a newcomer: one account, one grant
    ("bo", SellShares(1, "yes", 5 * M), _one_market),
    ("bo", SellShares(1, "yes", None), _one_market),
    ("al", CloseMarket(1), _one_market),
    ("al", ExtendMarket(1, "2026-03-20"), _one_market),
    ("al", ExtendMarket(1, "2026-03-20"), _closed_market),
    (MOD, ResolveMarket(1, "yes"), _closed_market),
    (MOD, ResolveMarket(1, "na"), _closed_market),
    (MOD, CancelMarket(1), _one_market),
    (MOD, UnresolveMarket(1), _resolved_market),
    ("bo", ClaimDaily(), _nothing),
    (MOD, Configure((("daily_allowance", "75"), ("timezone", "Asia/Tokyo"))), _nothing),
]
IDS = [f"{type(c).__name__}-{n}" for n, (_, c, _) in enumerate(REQUESTS)]


@pytest.mark.parametrize(("user", "command", "setup"), REQUESTS, ids=IDS)
async def test_repeat_returns_first_answer_and_changes_nothing(
    service: Service,
    world: World,
    clock: FakeClock,
    user: str,
    command: Command,
    setup: Setup,
) -> None:
    await setup(service)
    first = await run(service, command, user, rid="req-1")
    after_first = await world.snapshot()
    clock.advance(minutes=1)  # a later repeat must not even restamp anything
    again = await run(service, command, user, rid="req-1")
    assert again == first
    assert await world.snapshot() == after_first
    await world.ledger_check()


@pytest.mark.parametrize(("user", "command", "setup"), REQUESTS, ids=IDS)
async def test_concurrent_repeats_take_effect_once(
    service: Service,
    world: World,
    user: str,
    command: Command,
    setup: Setup,
) -> None:
    await setup(service)
    results = await asyncio.gather(*(run(service, command, user, rid="req-2") for _ in range(4)))
    assert all(r == results[0] for r in results)
    assert len(await world.select("request", "id", request_id="req-2")) == 1
    # Exactly one effect: the same repeat afterwards, or a state check, shows nothing doubled.
    reference = await world.snapshot()
    assert await run(service, command, user, rid="req-2") == results[0]
    assert await world.snapshot() == reference
    await world.ledger_check()


async def test_concurrent_repeated_bets_debit_once(service: Service, world: World) -> None:
    await _one_market(service)
    results = await asyncio.gather(
        *(run(service, PlaceBet(1, "no", 30), "cy", rid="same") for _ in range(10))
    )
    assert len({r for r in results if isinstance(r, BetPlaced)}) == 1
    balances = await world.ledger_check()
    assert balances["cy"] == 970 * M
    assert len(await world.select("trade", "id", side="buy")) == 2
    daily = await asyncio.gather(*(run(service, ClaimDaily(), "di", rid="d") for _ in range(5)))
    assert all(isinstance(d, DailyClaimed) and d == daily[0] for d in daily)
    assert (await world.ledger_check())["di"] == 1050 * M


async def test_a_refused_request_is_not_remembered(service: Service, world: World) -> None:
    await _one_market(service)
    with pytest.raises(InsufficientFunds):
        await run(service, PlaceBet(1, "yes", 2000), "bo", rid="retry-me")
    assert await world.select("request", "id", request_id="retry-me") == []
    # The id was not used up: the same id with a bet that fits now goes through.
    placed = await run(service, PlaceBet(1, "yes", 20), "bo", rid="retry-me")
    assert isinstance(placed, BetPlaced)


# -- retries -------------------------------------------------------------------------------


class _ConflictingTx:
    """A transaction whose commit fails as a deadlock victim's does, while conflicts last."""

    def __init__(self, tx: Tx, store: _ConflictingStore) -> None:
        self._tx, self._store = tx, store

    def __getattr__(self, name: str) -> Any:
        return getattr(self._tx, name)

    async def commit(self) -> None:
        if self._store.conflicts > 0:
            self._store.conflicts -= 1
            raise TransientConflict("The market is busy right now.")
        await self._tx.commit()


class _ConflictingStore:
    """A store whose next `conflicts` commits fail with a transient conflict."""

    def __init__(self, store: Store, conflicts: int) -> None:
        self.store, self.conflicts = store, conflicts

    @asynccontextmanager
    async def transaction(
        self, platform: str, community: str, *, write: bool
    ) -> AsyncIterator[Any]:
        async with self.store.transaction(platform, community, write=write) as tx:
            yield _ConflictingTx(tx, self)

    async def due_markets(self, now: datetime, limit: int) -> list[MarketRef]:
        return await self.store.due_markets(now, limit)

    async def open_deadlines(self) -> list[MarketRef]:
        return await self.store.open_deadlines()


async def test_a_transient_conflict_runs_the_whole_command_again(
    service: Service, world: World
) -> None:
    await _one_market(service)
    before = await world.balance("bo")
    conflicting = _ConflictingStore(world.store, conflicts=2)
    retried = Service(conflicting, world.clock)
    placed = await run(retried, PlaceBet(1, "yes", 30), "bo", rid="busy")
    assert isinstance(placed, BetPlaced)
    assert conflicting.conflicts == 0
    # The two attempts that failed at their commit left nothing: one debit, one trade.
    assert await world.balance("bo") == before - 30 * M == placed.balance
    assert len(await world.select("trade", "id", side="buy")) == 2
    assert len(await world.select("request", "id", request_id="busy")) == 1
    await world.ledger_check()


# -- read transactions ---------------------------------------------------------------------


class _RecordingStore:
    """A store that remembers which transactions were opened, reading or writing."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.opened: list[str] = []

    def transaction(
        self, platform: str, community: str, *, write: bool
    ) -> AbstractAsyncContextManager[Tx]:
        self.opened.append("write" if write else "read")
        return self.store.transaction(platform, community, write=write)

    async def due_markets(self, now: datetime, limit: int) -> list[MarketRef]:
        return await self.store.due_markets(now, limit)

    async def open_deadlines(self) -> list[MarketRef]:
        return await self.store.open_deadlines()


async def test_reads_read_and_a_first_contact_escalates_to_a_write(world: World) -> None:
    recording = _RecordingStore(world.store)
    service = Service(recording, world.clock)

    async def opened(command: Command, user: str, community: str = "test") -> list[str]:
        recording.opened.clear()
        await service.execute(command, ctx(user, community=community))
        return list(recording.opened)

    assert await opened(CreateMarket(Q, "2026-03-10"), "al") == ["write"]
    assert await opened(ShowMarket(1), "al") == ["read"]
    assert await opened(ShowMarket(1), "zed") == ["read"]  # showing a market needs no account
    # A newcomer's balance opens their account: the read meets WriteRequired, then writes.
    assert await opened(ShowBalance(), "zed") == ["read", "write"]
    assert await world.balance("zed") == 1000 * M
    assert await opened(ShowBalance(), "zed") == ["read"]
    assert await opened(ShowPortfolio(), "yan") == ["read", "write"]
    before = await world.snapshot()
    assert await opened(ShowPortfolio(), "yan") == ["read"]
    assert await world.snapshot() == before  # a read changes nothing


async def test_a_read_in_a_new_community_creates_only_the_community(
    service: Service, world: World
) -> None:
    listed = await service.execute(grammar.parse("list"), ctx("zed", community="fresh"))
    assert isinstance(listed, MarketList) and listed.cards == ()
    assert await world.select("community", "platform", "external_id") == [("console", "fresh")]
    assert await world.select("account", "kind", "user_id") == [("house", None)]
    shown = await service.execute(ShowBalance(), ctx("zed", community="fresh"))
    assert isinstance(shown, BalanceShown) and shown.balance == 1000 * M
    assert len(await world.rows("community")) == 1


# -- trading ended, the whole lifecycle ----------------------------------------------------


def test_trading_ended_reasons(service: Service, clock: FakeClock) -> None:
    later, earlier = clock.now() + timedelta(hours=1), clock.now() - timedelta(minutes=1)
    assert service.trading_ended(1, "open", later, None) is None
    past_deadline = service.trading_ended(1, "open", earlier, None)
    assert past_deadline is not None and "closed at" in past_deadline
    closed = service.trading_ended(2, "closed", later, earlier)
    assert closed is not None and "Market #2 closed at" in closed and "trading has ended" in closed
    resolved = service.trading_ended(3, "resolved", later, earlier)
    assert resolved == "Market #3 is resolved; trading has ended."
    cancelled = service.trading_ended(4, "cancelled", later, earlier)
    assert cancelled is not None and "cancelled" in cancelled


async def test_lifecycle(service: Service, world: World) -> None:
    run = service.execute
    await run(
        grammar.parse('create "Will it rain in Paris tomorrow?" closes:2026-03-10'), ctx("al")
    )
    bet = await run(grammar.parse("bet 1 yes 100"), ctx("bo"))
    assert isinstance(bet, BetPlaced)
    assert bet.shares == 148_988_012
    await run(grammar.parse("bet 1 no 50"), ctx("cy"))
    await run(grammar.parse("close 1"), ctx("al"))
    resolved = await run(grammar.parse("resolve 1 yes"), ctx("al"))
    assert isinstance(resolved, MarketResolved)
    assert resolved.winners[0].user_id == "bo"
    balances = await world.ledger_check()
    assert balances["cy"] == 950_000_000
    assert balances["bo"] == 900_000_000 + resolved.winners[0].amount
