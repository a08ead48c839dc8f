"""Figure 4: resolving a market with many positions, vs the bare set-based SQL of a payout.

The market is created through the service; its positions are seeded with bulk SQL (one user
account per position, half on each outcome, the ledger balanced: a grant from the house and a
bet into escrow per user). Ours: `Service.execute(ResolveMarket)` — the whole command (market
lock, payout, escrow sweep, the payout summary for the announcement, outbox row, request
answer) in its one transaction. Baseline: only the payout's two statements with the raw driver
in one transaction — `INSERT INTO ledger_entry … SELECT … FROM position` and
`UPDATE account … FROM (per-account sums of the batch)` — on an identically seeded database.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import time
from datetime import UTC, datetime

from sqlalchemy import DateTime, bindparam, text
from sqlalchemy.ext.asyncio import AsyncEngine

from bench.common import (
    Bench,
    Figure,
    Series,
    asyncpg_connect,
    database,
    sqlite_path,
)
from bot.core.commands import CreateMarket, ResolveMarket
from bot.core.models import Actor, Context
from bot.core.money import MICRO
from bot.core.service import Service
from bot.core.views import MarketResolved
from bot.runtime import SystemClock
from storage.engine import create_engine, is_sqlite
from storage.store import SqlStore

KEY = "resolution"
COMMUNITY = "bench"
COST = 10 * MICRO  # each position cost 10 points
SHARES = 15 * MICRO  # and holds 15 shares
BATCH = "m1.s1"


def numbers(engine: AsyncEngine, count: int) -> str:
    if is_sqlite(engine):
        return (
            "(WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n"
            f" WHERE i < {count}) SELECT i FROM n)"
        )
    return f"(SELECT generate_series(1, {count}) AS i)"


def moderator(request: str) -> Context:
    return Context("console", COMMUNITY, Actor("mod", "mod", is_moderator=True), request)


async def seed(url: str, positions: int) -> dict[str, int]:
    """Create the market through the service, then its positions in bulk; return ids."""
    engine = create_engine(url)
    try:
        service = Service(SqlStore(engine), SystemClock())
        await service.execute(
            CreateMarket(question="Who wins the season championship?", closes="in 3 days"),
            moderator("create"),
        )
        stamp = bindparam("t", datetime.now(UTC), type_=DateTime(timezone=True))

        def sql(statement: str) -> object:
            return text(statement).bindparams(stamp) if ":t" in statement else text(statement)

        async with engine.begin() as conn:
            ids = (
                await conn.execute(
                    text(
                        "SELECT c.id AS c, c.house_account_id AS h, m.id AS m,"
                        " m.escrow_account_id AS e FROM community c JOIN market m"
                        " ON m.community_id = c.id WHERE c.external_id = :x AND m.number = 1"
                    ),
                    {"x": COMMUNITY},
                )
            ).one()
            c, h, m, e = ids.c, ids.h, ids.m, ids.e
            await conn.execute(
                sql(
                    "INSERT INTO account (community_id, kind, user_id, display_name, balance,"
                    f" created_at) SELECT {c}, 'user', 'r' || i, 'r' || i, 0, :t"
                    f" FROM {numbers(engine, positions)} AS n"
                )
            )
            users = f"FROM account WHERE community_id = {c} AND kind = 'user' AND user_id LIKE 'r%'"
            for kind, source, target in (("grant", str(h), "id"), ("bet", "id", str(e))):
                await conn.execute(
                    sql(
                        "INSERT INTO ledger_entry (community_id, from_account, to_account,"
                        f" amount, kind, market_id, created_at) SELECT {c}, {source}, {target},"
                        f" {COST}, '{kind}', {m if kind == 'bet' else 'NULL'}, :t {users}"
                    )
                )
            await conn.execute(
                text(f"UPDATE account SET balance = balance - {COST * positions} WHERE id = {h}")
            )
            await conn.execute(
                text(f"UPDATE account SET balance = balance + {COST * positions} WHERE id = {e}")
            )
            await conn.execute(
                text(
                    "INSERT INTO position (market_id, account_id, outcome, shares, net_cost)"
                    f" SELECT {m}, id, id % 2, {SHARES}, {COST} {users}"
                )
            )
            counts = (
                await conn.execute(
                    text(
                        "SELECT outcome, SUM(shares) FROM position WHERE market_id = :m"
                        " GROUP BY outcome ORDER BY outcome"
                    ),
                    {"m": m},
                )
            ).all()
            q = [0, 0]
            for outcome, total in counts:
                q[int(outcome)] = int(total)
            await conn.execute(
                text("UPDATE market SET q_json = :q, volume = :v, traders = :n WHERE id = :m"),
                {"q": json.dumps(q), "v": COST * positions, "n": positions, "m": m},
            )
        if not is_sqlite(engine):
            # What autovacuum would have done long before a market had 100,000 positions.
            async with engine.begin() as conn:
                await conn.execute(text("ANALYZE"))
        return {"community": c, "house": h, "market": m, "escrow": e}
    finally:
        await engine.dispose()


async def run_ours(url: str) -> float:
    engine = create_engine(url)
    try:
        service = Service(SqlStore(engine), SystemClock())
        started = time.perf_counter()
        result = await service.execute(ResolveMarket(market=1, outcome="Yes"), moderator("r1"))
        elapsed = time.perf_counter() - started
        assert isinstance(result, MarketResolved), result
        return elapsed
    finally:
        await engine.dispose()


PAYOUT = (
    "INSERT INTO ledger_entry (community_id, from_account, to_account, amount, kind, market_id,"
    " batch, created_at) SELECT {c}, {e}, account_id, shares, 'payout', {m}, '{batch}', {now}"
    " FROM position WHERE market_id = {m} AND outcome = 0 AND shares > 0"
)
APPLY = (
    "UPDATE account SET balance = account.balance + d.delta FROM (SELECT acc, SUM(delta) AS delta"
    " FROM (SELECT to_account AS acc, amount AS delta FROM ledger_entry"
    " WHERE batch = '{batch}' AND kind IN ('payout')"
    " UNION ALL SELECT from_account AS acc, -amount AS delta FROM ledger_entry"
    " WHERE batch = '{batch}' AND kind IN ('payout')) AS s GROUP BY acc) AS d"
    " WHERE account.id = d.acc"
)


def sqlite_baseline(path: str, ids: dict[str, int]) -> float:
    conn = sqlite3.connect(path, isolation_level=None)
    for pragma in ("journal_mode=WAL", "foreign_keys=ON", "synchronous=NORMAL"):
        conn.execute(f"PRAGMA {pragma}")
    now = "'" + datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S.%f") + "'"
    args = {"c": ids["community"], "e": ids["escrow"], "m": ids["market"], "batch": BATCH}
    started = time.perf_counter()
    conn.execute("BEGIN IMMEDIATE")
    conn.execute(PAYOUT.format(now=now, **args))
    conn.execute(APPLY.format(batch=BATCH))
    conn.execute("COMMIT")
    elapsed = time.perf_counter() - started
    conn.close()
    return elapsed


async def pg_baseline(url: str, ids: dict[str, int]) -> float:
    conn = await asyncpg_connect(url)
    args = {"c": ids["community"], "e": ids["escrow"], "m": ids["market"], "batch": BATCH}
    try:
        started = time.perf_counter()
        async with conn.transaction():
            await conn.execute(PAYOUT.format(now="now()", **args))
            await conn.execute(APPLY.format(batch=BATCH))
        return time.perf_counter() - started
    finally:
        await conn.close()


async def run(bench: Bench) -> Figure:
    n = bench.sizes.positions
    figure = Figure(
        number=4,
        key=KEY,
        title=f"Resolution of a market with {n:,} positions",
        target="ours ≤ 2 × the bulk-SQL baseline on both databases, and ≤ 2 s on PostgreSQL",
        method=(
            f"{n:,} positions (one user each, half on each outcome, {n // 2:,} winners paid) "
            "seeded with bulk SQL; ours = `Service.execute(ResolveMarket)`, the whole command in "
            "one transaction (payout, escrow sweep, payout summary, outbox, request answer); "
            "baseline = the payout's `INSERT … SELECT` and `UPDATE … FROM` with the raw driver "
            "(sqlite3 / asyncpg) in one transaction on an identically seeded database (PostgreSQL: "
            "ANALYZEd after seeding, as autovacuum would have)."
        ),
    )
    kinds = ["sqlite", *(["postgres"] if bench.pg else [])]
    for kind in kinds:
        label = "SQLite file" if kind == "sqlite" else "PostgreSQL"
        raw = "sqlite3" if kind == "sqlite" else "asyncpg"
        ours = Series(f"{label}: ours (s)", "s", digits=3)
        base = Series(f"{label}: baseline {raw} (s)", "s", digits=3)
        ratio = Series(f"{label}: ratio ours / baseline", "×", digits=2)
        for r in range(bench.runs):
            async with database(kind, bench.tmp) as url:
                await seed(url, n)
                ours_s = await run_ours(url)
            async with database(kind, bench.tmp) as url:
                ids = await seed(url, n)
                if kind == "sqlite":
                    base_s = await asyncio.to_thread(sqlite_baseline, sqlite_path(url), ids)
                else:
                    base_s = await pg_baseline(url, ids)
            ours.values.append(ours_s)
            base.values.append(base_s)
            ratio.values.append(ours_s / base_s)
            bench.log(f"  {label} run {r + 1}: ours {ours_s:.3f} s, baseline {base_s:.3f} s")
        figure.series += [ours, base, ratio]
        met = ratio.median <= 2.0 and (kind == "sqlite" or ours.median <= 2.0)
        extra = "" if kind == "sqlite" else f", {ours.median:.2f} s (≤ 2 s)"
        figure.verdicts.append(
            f"{label}: median ratio {ratio.median:.2f} (≤ 2.00){extra} — "
            f"{'met' if met else 'MISSED'}"
        )
    if not bench.pg:
        figure.notes.append("PostgreSQL was not reachable: its series are missing.")
    return figure
