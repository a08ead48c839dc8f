"""Simultaneous commands on one engine never overdraw, lose an update or deadlock."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.core.commands import (
    CancelMarket,
    ClaimDaily,
    CloseMarket,
    PlaceBet,
    ResolveMarket,
    SellShares,
    ShowBalance,
)
from bot.core.errors import InsufficientFunds, MarketNotOpen, PredictError
from bot.core.service import Service
from bot.core.views import BetPlaced, DailyClaimed, MarketResolved, Result
from tests.flow import MOD, bet, create, run
from tests.helpers import ctx, ledger_check

M = 1_000_000


async def rows(engine: AsyncEngine, sql: str, **params: object) -> list[tuple[object, ...]]:
    """Return all rows of a query."""
    async with engine.connect() as conn:
        return [tuple(r) for r in (await conn.execute(text(sql), params)).all()]


async def escrow(engine: AsyncEngine, number: int) -> int:
    """Return a market's escrow balance."""
    ((held,),) = await rows(
        engine,
        "SELECT a.balance FROM account a JOIN market m ON m.escrow_account_id = a.id "
        "WHERE m.number = :n",
        n=number,
    )
    return int(str(held))


@contextmanager
def peak_connections(engine: AsyncEngine) -> Iterator[list[int]]:
    """Track the most connections checked out of the pool at once."""
    pool = engine.sync_engine.pool
    peak = [0]

    def seen(*_: Any) -> None:
        peak[0] = max(peak[0], pool.checkedout())

    event.listen(pool, "checkout", seen)
    try:
        yield peak
    finally:
        event.remove(pool, "checkout", seen)


async def _attempt(service: Service, command: Any, user: str) -> Result | PredictError:
    try:
        return await run(service, command, user)
    except PredictError as error:
        return error


async def _market_is_consistent(engine: AsyncEngine, number: int) -> None:
    """q equals the positions, volume the trades, traders the distinct holders."""
    (market,) = await rows(
        engine, "SELECT id, q_json, volume, traders FROM market WHERE number = :n", n=number
    )
    market_id, q_json, volume, traders = market
    q = json.loads(str(q_json))
    held = await rows(
        engine,
        "SELECT outcome, SUM(shares) FROM position WHERE market_id = :m GROUP BY outcome",
        m=market_id,
    )
    by_outcome = {int(str(o)): int(str(s)) for o, s in held}
    assert q == [by_outcome.get(i, 0) for i in range(len(q))]
    trades = await rows(
        engine,
        "SELECT COALESCE(SUM(amount), 0), COUNT(DISTINCT account_id) FROM trade "
        "WHERE market_id = :m AND NOT voided",
        m=market_id,
    )
    assert trades == [(volume, traders)]


async def test_fifty_bets_from_one_user_covering_one(
    service: Service, engine: AsyncEngine, db_kind: str
) -> None:
    number = await create(service)
    await run(service, ShowBalance(), "bo")  # 1000 points: one bet of 600 fits, two don't
    with peak_connections(engine) as peak:
        results = await asyncio.gather(
            *(_attempt(service, PlaceBet(number, "yes", 600), "bo") for _ in range(50))
        )
    placed = [r for r in results if isinstance(r, BetPlaced)]
    refused = [r for r in results if isinstance(r, InsufficientFunds)]
    assert len(placed) == 1, results
    assert len(refused) == 49
    assert all("You have 400 points" in r.message for r in refused)
    balances = await ledger_check(engine)
    assert balances["bo"] == 400 * M
    assert await rows(engine, "SELECT COUNT(*) FROM trade") == [(1,)]
    await _market_is_consistent(engine, number)
    if db_kind == "postgres":
        assert peak[0] > 5, "the bets never ran in parallel transactions"


async def test_two_hundred_traders_on_one_market(
    service: Service, engine: AsyncEngine, db_kind: str
) -> None:
    number = await create(service, outcomes=("A", "B", "C"))
    with peak_connections(engine) as peak:
        results = await asyncio.gather(
            *(
                _attempt(service, PlaceBet(number, "ABC"[n % 3], 1 + n % 7), f"u{n}")
                for n in range(200)
            )
        )
    assert all(isinstance(r, BetPlaced) for r in results), [
        r for r in results if not isinstance(r, BetPlaced)
    ]
    (market,) = await rows(engine, "SELECT volume, traders FROM market WHERE number = :n", n=number)
    assert market == (sum(1 + n % 7 for n in range(200)) * M, 200)
    assert await rows(engine, "SELECT COUNT(*) FROM trade") == [(200,)]
    assert await rows(engine, "SELECT COUNT(*) FROM position") == [(200,)]
    await _market_is_consistent(engine, number)
    balances = await ledger_check(engine)
    assert all(balances[f"u{n}"] == (1000 - 1 - n % 7) * M for n in range(200))
    if db_kind == "postgres":
        assert peak[0] > 5


async def test_one_user_on_two_markets_at_once(service: Service, engine: AsyncEngine) -> None:
    first, second = await create(service), await create(service)
    await run(service, ShowBalance(), "bo")
    results = await asyncio.gather(
        *(_attempt(service, PlaceBet((first, second)[n % 2], "yes", 30), "bo") for n in range(40))
    )
    placed = [r for r in results if isinstance(r, BetPlaced)]
    assert len(placed) == 33  # 33 × 30 = 990 of 1000 points
    assert all(isinstance(r, BetPlaced | InsufficientFunds) for r in results)
    assert (await ledger_check(engine))["bo"] == 10 * M
    for number in (first, second):
        await _market_is_consistent(engine, number)


async def test_resolves_racing_bets_and_sells(service: Service, engine: AsyncEngine) -> None:
    markets = [await create(service) for _ in range(3)]
    users = [f"u{n}" for n in range(12)]
    for n, user in enumerate(users):
        for number in markets:
            await bet(service, user, number, "yes" if n % 2 else "no", 10)
    jobs: list[Any] = []
    for n, user in enumerate(users * 3):
        number = markets[n % 3]
        if n % 4 == 0:
            jobs.append(_attempt(service, SellShares(number, "yes", M), user))
        else:
            jobs.append(_attempt(service, PlaceBet(number, "no", 5), user))
    jobs.insert(10, _attempt(service, ResolveMarket(markets[0], "yes"), MOD))
    jobs.insert(20, _attempt(service, ResolveMarket(markets[1], "no"), MOD))
    jobs.insert(30, _attempt(service, CloseMarket(markets[2]), "al"))
    results = await asyncio.gather(*jobs)
    for result in results:
        ok = not isinstance(result, PredictError)
        assert ok or isinstance(result, MarketNotOpen | InsufficientFunds), result
    assert sum(isinstance(r, MarketResolved) for r in results) == 2
    await ledger_check(engine)
    for number in markets:
        await _market_is_consistent(engine, number)
    assert await escrow(engine, markets[0]) == await escrow(engine, markets[1]) == 0
    # Every winning share was paid exactly once.
    for number, outcome in ((markets[0], 0), (markets[1], 1)):
        (paid,) = await rows(
            engine,
            "SELECT COALESCE(SUM(l.amount), 0) FROM ledger_entry l JOIN market m "
            "ON m.id = l.market_id WHERE m.number = :n AND l.kind = 'payout'",
            n=number,
        )
        (held,) = await rows(
            engine,
            "SELECT SUM(p.shares) FROM position p JOIN market m ON m.id = p.market_id "
            "WHERE m.number = :n AND p.outcome = :o",
            n=number,
            o=outcome,
        )
        assert paid == held


async def test_first_contact_in_a_new_community_from_many_at_once(
    service: Service, engine: AsyncEngine
) -> None:
    async def attempt(n: int) -> Result | PredictError:
        command = ClaimDaily() if n % 3 else CancelMarket(1)  # some are refused
        try:
            return await service.execute(command, ctx(f"u{n}", community="crowd"))
        except PredictError as error:
            return error

    results = await asyncio.gather(*(attempt(n) for n in range(30)))
    assert sum(isinstance(r, DailyClaimed) for r in results) == 20
    assert await rows(engine, "SELECT COUNT(*) FROM community") == [(1,)]
    assert await rows(engine, "SELECT COUNT(*) FROM account WHERE kind = 'house'") == [(1,)]
    balances = await ledger_check(engine)
    assert sorted(balances) == sorted(f"u{n}" for n in range(30) if n % 3)
