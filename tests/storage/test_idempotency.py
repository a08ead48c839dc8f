"""A repeated request id returns the first answer and changes nothing, also when concurrent."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

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
    UnresolveMarket,
)
from bot.core.errors import InsufficientFunds
from bot.core.service import Service
from bot.core.views import BetPlaced, DailyClaimed
from tests.helpers import FakeClock, ledger_check, snapshot
from tests.storage.flow import MOD, bet, create, rows, run

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
    engine: AsyncEngine,
    clock: FakeClock,
    user: str,
    command: Command,
    setup: Setup,
) -> None:
    await setup(service)
    first = await run(service, command, user, rid="req-1")
    after_first = await snapshot(engine)
    clock.advance(minutes=1)  # a later repeat must not even restamp anything
    again = await run(service, command, user, rid="req-1")
    assert again == first
    assert await snapshot(engine) == after_first
    await ledger_check(engine)


@pytest.mark.parametrize(("user", "command", "setup"), REQUESTS, ids=IDS)
async def test_concurrent_repeats_take_effect_once(
    service: Service,
    engine: AsyncEngine,
    user: str,
    command: Command,
    setup: Setup,
) -> None:
    await setup(service)
    results = await asyncio.gather(*(run(service, command, user, rid="req-2") for _ in range(4)))
    assert all(r == results[0] for r in results)
    assert await rows(engine, "SELECT COUNT(*) FROM request WHERE request_id = 'req-2'") == [(1,)]
    # Exactly one effect: the same repeat afterwards, or a state check, shows nothing doubled.
    reference = await snapshot(engine)
    assert await run(service, command, user, rid="req-2") == results[0]
    assert await snapshot(engine) == reference
    await ledger_check(engine)


async def test_concurrent_repeated_bets_debit_once(service: Service, engine: AsyncEngine) -> None:
    await _one_market(service)
    results = await asyncio.gather(
        *(run(service, PlaceBet(1, "no", 30), "cy", rid="same") for _ in range(10))
    )
    assert len({r for r in results if isinstance(r, BetPlaced)}) == 1
    balances = await ledger_check(engine)
    assert balances["cy"] == 970 * M
    assert await rows(engine, "SELECT COUNT(*) FROM trade WHERE side = 'buy'") == [(2,)]
    daily = await asyncio.gather(*(run(service, ClaimDaily(), "di", rid="d") for _ in range(5)))
    assert all(isinstance(d, DailyClaimed) and d == daily[0] for d in daily)
    assert (await ledger_check(engine))["di"] == 1050 * M


async def test_a_refused_request_is_not_remembered(service: Service, engine: AsyncEngine) -> None:
    await _one_market(service)
    with pytest.raises(InsufficientFunds):
        await run(service, PlaceBet(1, "yes", 2000), "bo", rid="retry-me")
    assert await rows(engine, "SELECT COUNT(*) FROM request WHERE request_id = 'retry-me'") == [
        (0,)
    ]
    # The id was not used up: the same id with a bet that fits now goes through.
    placed = await run(service, PlaceBet(1, "yes", 20), "bo", rid="retry-me")
    assert isinstance(placed, BetPlaced)
