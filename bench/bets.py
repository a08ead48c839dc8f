"""Figure 1: bet throughput on one hot market, through the service and storage, vs a raw driver.

Ours: `Service.execute(PlaceBet)` from `workers` asyncio tasks sharing one service (the way the
adapters call it), bets by pre-created users on one LMSR market, a fresh request id each.

Baseline: the same rows written per bet with the raw driver, one transaction per bet, in the
order our storage writes them (request claim, market row read — locked on PostgreSQL —, debit,
credit, ledger row, position read, trade row, position upsert, market update, request answer).
What the baseline leaves out is what only our layers cost: the community row read, the account
read before the debit (folded into `UPDATE … RETURNING`), SQLAlchemy, the async bridge, Decimal
math and the result encoding.

- SQLite: Python's `sqlite3`, one connection, transactions back to back (`BEGIN IMMEDIATE`), the
  same pragmas as `storage.engine` (WAL, synchronous=NORMAL, foreign keys). SQLite admits one
  writer at a time, so concurrent writers could only queue on its lock; our storage queues them
  on an in-process lock for the same reason.
- PostgreSQL: `asyncpg`, `workers` connections each running bets back to back, the market row
  locked `FOR UPDATE` like our storage does.
"""

from __future__ import annotations

import asyncio
import json
import math
import random
import sqlite3
import time
import uuid
from dataclasses import dataclass
from typing import Any

from bench.common import (
    Bench,
    Figure,
    Series,
    asyncpg_connect,
    database,
    now_utc,
    seed_users,
    sqlite_path,
    user_name,
)
from bot.core.commands import CreateMarket, PlaceBet
from bot.core.models import Actor, Context
from bot.core.money import MICRO
from bot.core.service import Service
from bot.core.views import BetPlaced
from bot.runtime import SystemClock
from storage.engine import create_engine
from storage.store import SqlStore

KEY = "bets"
COMMUNITY = "bench"
START_POINTS = 1000


@dataclass(frozen=True)
class Bet:
    user: str
    outcome: int
    points: int


def plan(count: int, users: int, seed: int) -> list[Bet]:
    rng = random.Random(seed)
    return [
        Bet(user_name(rng.randrange(users)), rng.randrange(2), rng.randint(1, 10))
        for _ in range(count)
    ]


async def prepare(url: str, users: int) -> tuple[int, int]:
    """Create the hot market through the service and seed the users; return ids."""
    engine = create_engine(url)
    try:
        service = Service(SqlStore(engine), SystemClock())
        await service.execute(
            CreateMarket(question="Will the home team win the final?", closes="in 3 days"),
            Context("console", COMMUNITY, Actor("mod", "mod", is_moderator=True), "create-1"),
        )
        from sqlalchemy import text

        async with engine.connect() as conn:
            community_id = (
                await conn.execute(
                    text("SELECT id FROM community WHERE external_id = :e"), {"e": COMMUNITY}
                )
            ).scalar_one()
        await seed_users(engine, community_id, users, START_POINTS * MICRO)
        return community_id, 1
    finally:
        await engine.dispose()


async def run_ours(url: str, bets: list[Bet], workers: int) -> float:
    """Place the bets through the service from `workers` tasks; return bets per second."""
    engine = create_engine(url)
    service = Service(SqlStore(engine), SystemClock())
    queue = iter(bets)

    async def worker() -> None:
        for bet in queue:
            result = await service.execute(
                PlaceBet(market=1, outcome=("Yes", "No")[bet.outcome], points=bet.points),
                Context("console", COMMUNITY, Actor(bet.user, bet.user), uuid.uuid4().hex),
            )
            assert isinstance(result, BetPlaced), result

    # Warm the pool and the statement caches with the first bets (not timed).
    for _ in range(3):
        await worker_once(service, bets[0])
    try:
        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(workers)))
        return len(bets) / (time.perf_counter() - started)
    finally:
        await engine.dispose()


async def worker_once(service: Service, bet: Bet) -> None:
    await service.execute(
        PlaceBet(market=1, outcome="Yes", points=1),
        Context("console", COMMUNITY, Actor(bet.user, bet.user), uuid.uuid4().hex),
    )


# -- the raw-driver baseline --------------------------------------------------------------


def lmsr_shares(q: list[int], b: int, i: int, amount: int) -> tuple[int, float, float]:
    """Shares bought for `amount` (closed form, floats) and probabilities before/after."""
    top = max(q)
    weights = [math.exp((x - top) / b) for x in q]
    p = weights[i] / sum(weights)
    shares = int(b * math.log1p(math.expm1(amount / b) / p))
    q2 = list(q)
    q2[i] += shares
    top2 = max(q2)
    w2 = [math.exp((x - top2) / b) for x in q2]
    return shares, p, w2[i] / sum(w2)


def answer(bet: Bet, shares: int, before: float, after: float, balance: int) -> str:
    return json.dumps(
        {
            "user_id": bet.user,
            "outcome": bet.outcome,
            "points": bet.points * MICRO,
            "shares": shares,
            "prob_before": before,
            "prob_after": after,
            "balance": balance,
        },
        separators=(",", ":"),
    )


def run_sqlite_baseline(path: str, community_id: int, bets: list[Bet]) -> float:
    conn = sqlite3.connect(path, isolation_level=None)
    for pragma in (
        "journal_mode=WAL",
        "foreign_keys=ON",
        "busy_timeout=30000",
        "synchronous=NORMAL",
    ):
        conn.execute(f"PRAGMA {pragma}")
    started = time.perf_counter()
    for bet in bets:
        now = now_utc().strftime("%Y-%m-%d %H:%M:%S.%f")
        request = uuid.uuid4().hex
        amount = bet.points * MICRO
        conn.execute("BEGIN IMMEDIATE")
        conn.execute(
            "INSERT INTO request (community_id, request_id, user_id, command, created_at)"
            " VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING RETURNING id",
            (community_id, request, bet.user, "PlaceBet", now),
        ).fetchone()
        market = conn.execute(
            "SELECT id, q_json, liquidity, status, closes_at, escrow_account_id, volume, traders"
            " FROM market WHERE community_id = ? AND number = ?",
            (community_id, 1),
        ).fetchone()
        market_id, q_json, b, _status, _closes, escrow, volume, traders = market
        account_id, balance = conn.execute(
            "UPDATE account SET balance = balance - ? WHERE community_id = ? AND user_id = ?"
            " AND balance >= ? RETURNING id, balance",
            (amount, community_id, bet.user, amount),
        ).fetchone()
        conn.execute("UPDATE account SET balance = balance + ? WHERE id = ?", (amount, escrow))
        conn.execute(
            "INSERT INTO ledger_entry (community_id, from_account, to_account, amount, kind,"
            " market_id, trade_id, batch, created_at) VALUES (?, ?, ?, ?, 'bet', ?, NULL, NULL, ?)",
            (community_id, account_id, escrow, amount, market_id, now),
        )
        held = conn.execute(
            "SELECT id, outcome FROM position WHERE market_id = ? AND account_id = ?",
            (market_id, account_id),
        ).fetchall()
        q = json.loads(q_json)
        shares, before, after = lmsr_shares(q, b, bet.outcome, amount)
        q[bet.outcome] += shares
        (trade_id,) = conn.execute(
            "INSERT INTO trade (market_id, account_id, outcome, side, amount, shares,"
            " prob_before, prob_after, created_at, request_id, voided)"
            " VALUES (?, ?, ?, 'buy', ?, ?, ?, ?, ?, ?, 0) RETURNING id",
            (
                market_id,
                account_id,
                bet.outcome,
                amount,
                shares,
                round(before * 1e6),
                round(after * 1e6),
                now,
                request,
            ),
        ).fetchone()
        conn.execute(
            "INSERT INTO position (market_id, account_id, outcome, shares, net_cost,"
            " first_trade_id) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (market_id, account_id,"
            " outcome) DO UPDATE SET shares = shares + excluded.shares,"
            " net_cost = net_cost + excluded.net_cost",
            (market_id, account_id, bet.outcome, shares, amount, trade_id),
        )
        conn.execute(
            "UPDATE market SET q_json = ?, volume = ?, traders = ? WHERE id = ?",
            (json.dumps(q), volume + amount, traders + (0 if held else 1), market_id),
        )
        conn.execute(
            "UPDATE request SET result_json = ? WHERE community_id = ? AND request_id = ?",
            (answer(bet, shares, before, after, balance), community_id, request),
        )
        conn.execute("COMMIT")
    elapsed = time.perf_counter() - started
    conn.close()
    return len(bets) / elapsed


async def run_pg_baseline(url: str, community_id: int, bets: list[Bet], workers: int) -> float:
    conns = [await asyncpg_connect(url) for _ in range(workers)]
    queue = iter(bets)

    async def worker(conn: Any) -> None:
        for bet in queue:
            now = now_utc()
            request = uuid.uuid4().hex
            amount = bet.points * MICRO
            async with conn.transaction():
                await conn.fetchrow(
                    "INSERT INTO request (community_id, request_id, user_id, command, created_at)"
                    " VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING RETURNING id",
                    community_id,
                    request,
                    bet.user,
                    "PlaceBet",
                    now,
                )
                market = await conn.fetchrow(
                    "SELECT id, q_json, liquidity, status, closes_at, escrow_account_id, volume,"
                    " traders FROM market WHERE community_id = $1 AND number = $2 FOR UPDATE",
                    community_id,
                    1,
                )
                debit = await conn.fetchrow(
                    "UPDATE account SET balance = balance - $1 WHERE community_id = $2"
                    " AND user_id = $3 AND balance >= $1 RETURNING id, balance",
                    amount,
                    community_id,
                    bet.user,
                )
                account_id = debit["id"]
                escrow = market["escrow_account_id"]
                await conn.execute(
                    "UPDATE account SET balance = balance + $1 WHERE id = $2", amount, escrow
                )
                await conn.execute(
                    "INSERT INTO ledger_entry (community_id, from_account, to_account, amount,"
                    " kind, market_id, trade_id, batch, created_at)"
                    " VALUES ($1, $2, $3, $4, 'bet', $5, NULL, NULL, $6)",
                    community_id,
                    account_id,
                    escrow,
                    amount,
                    market["id"],
                    now,
                )
                held = await conn.fetch(
                    "SELECT id, outcome FROM position WHERE market_id = $1 AND account_id = $2",
                    market["id"],
                    account_id,
                )
                q = json.loads(market["q_json"])
                shares, before, after = lmsr_shares(q, market["liquidity"], bet.outcome, amount)
                q[bet.outcome] += shares
                trade_id = await conn.fetchval(
                    "INSERT INTO trade (market_id, account_id, outcome, side, amount, shares,"
                    " prob_before, prob_after, created_at, request_id, voided)"
                    " VALUES ($1, $2, $3, 'buy', $4, $5, $6, $7, $8, $9, false) RETURNING id",
                    market["id"],
                    account_id,
                    bet.outcome,
                    amount,
                    shares,
                    round(before * 1e6),
                    round(after * 1e6),
                    now,
                    request,
                )
                await conn.execute(
                    "INSERT INTO position (market_id, account_id, outcome, shares, net_cost,"
                    " first_trade_id) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (market_id,"
                    " account_id, outcome) DO UPDATE SET shares = position.shares"
                    " + excluded.shares, net_cost = position.net_cost + excluded.net_cost",
                    market["id"],
                    account_id,
                    bet.outcome,
                    shares,
                    amount,
                    trade_id,
                )
                await conn.execute(
                    "UPDATE market SET q_json = $1, volume = $2, traders = $3 WHERE id = $4",
                    json.dumps(q),
                    market["volume"] + amount,
                    market["traders"] + (0 if held else 1),
                    market["id"],
                )
                await conn.execute(
                    "UPDATE request SET result_json = $1 WHERE community_id = $2"
                    " AND request_id = $3",
                    answer(bet, shares, before, after, debit["balance"]),
                    community_id,
                    request,
                )

    try:
        started = time.perf_counter()
        await asyncio.gather(*(worker(c) for c in conns))
        return len(bets) / (time.perf_counter() - started)
    finally:
        for c in conns:
            await c.close()


async def run(bench: Bench) -> Figure:
    sizes = bench.sizes
    figure = Figure(
        number=1,
        key=KEY,
        title="Bet throughput on one hot market",
        target="ours ≥ 0.5 × the raw-driver baseline, on SQLite and on PostgreSQL",
        method=(
            f"{sizes.bets:,} bets per run by {sizes.users:,} pre-created users on one LMSR "
            f"market; ours = `Service.execute(PlaceBet)` from {sizes.workers} asyncio tasks; "
            "baseline = the same rows written per bet with the raw driver, one transaction "
            f"per bet (sqlite3: one connection, transactions back to back; asyncpg: "
            f"{sizes.workers} connections). Each run uses fresh databases; ours and the "
            "baseline alternate within a run."
        ),
    )
    kinds = ["sqlite", *(["postgres"] if bench.pg else [])]
    for kind in kinds:
        label = "SQLite file" if kind == "sqlite" else "PostgreSQL"
        raw = "sqlite3" if kind == "sqlite" else "asyncpg"
        ours = Series(f"{label}: ours (bets/s)", "bets/s", digits=0)
        base = Series(f"{label}: baseline {raw} (bets/s)", "bets/s", digits=0)
        ratio = Series(f"{label}: ratio ours / baseline", "×", digits=2)
        for n in range(bench.runs):
            bets = plan(sizes.bets, sizes.users, seed=n)
            async with database(kind, bench.tmp) as url:
                await prepare(url, sizes.users)
                ours_rate = await run_ours(url, bets, sizes.workers)
            async with database(kind, bench.tmp) as url:
                community_id, _ = await prepare(url, sizes.users)
                if kind == "sqlite":
                    base_rate = await asyncio.to_thread(
                        run_sqlite_baseline, sqlite_path(url), community_id, bets
                    )
                else:
                    base_rate = await run_pg_baseline(url, community_id, bets, sizes.workers)
            ours.values.append(ours_rate)
            base.values.append(base_rate)
            ratio.values.append(ours_rate / base_rate)
            bench.log(
                f"  {label} run {n + 1}: ours {ours_rate:,.0f}/s, baseline {base_rate:,.0f}/s"
            )
        figure.series += [ours, base, ratio]
        met = ratio.median >= 0.5
        figure.verdicts.append(
            f"{label}: median ratio {ratio.median:.2f} — {'met' if met else 'MISSED'} (≥ 0.50)"
        )
    if not bench.pg:
        figure.notes.append("PostgreSQL was not reachable: its series are missing.")
    return figure
