"""Figure 5: many markets due at the same instant, closed by the real scheduler.

Markets are seeded with bulk SQL (pool markets, so no subsidy is owed), all with the same
deadline a little in the future. The real `Scheduler` (APScheduler date jobs rebuilt from the
database, the closer locking due markets in batches of 200 and closing each batch in one
transaction planned by `Service.close_due_batch`) runs with the system clock. Measured: from
the deadline until every market is closed and its `closed` announcement is in the outbox
(polled every 10 ms).
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta

from sqlalchemy import DateTime, bindparam, text

from bench.common import Bench, Figure, Series, database
from bench.resolution import numbers
from bot.core.commands import CreateMarket
from bot.core.models import Actor, Context
from bot.core.service import Service
from bot.runtime import SystemClock
from bot.scheduling.scheduler import Scheduler
from storage.claims import SqlClaims
from storage.engine import create_engine
from storage.store import SqlStore

KEY = "scheduler"
COMMUNITY = "bench"
LEAD = 1.0  # seconds between the scheduler being ready and the deadline


async def seed(url: str, count: int, platform: str = "console", community: str = COMMUNITY) -> None:
    """Create one market through the service, then `count - 1` more like it in bulk."""
    engine = create_engine(url)
    try:
        service = Service(SqlStore(engine), SystemClock())
        await service.execute(
            CreateMarket(
                question="Will it be sunny on market day?", closes="in 3 days", mechanism="pool"
            ),
            Context(platform, community, Actor("mod", "mod", is_moderator=True), "c1", "C1"),
        )
        stamp = bindparam("t", datetime.now(UTC), type_=DateTime(timezone=True))
        async with engine.begin() as conn:
            row = (
                await conn.execute(
                    text(
                        "SELECT * FROM market WHERE number = 1 AND community_id ="
                        " (SELECT id FROM community WHERE external_id = :x)"
                    ),
                    {"x": community},
                )
            ).one()
            c = row.community_id
            n = numbers(engine, count - 1)
            await conn.execute(
                text(
                    "INSERT INTO account (community_id, kind, user_id, display_name, balance,"
                    f" created_at) SELECT {c}, 'escrow', NULL, 'escrow #' || (i + 1), 0, :t"
                    f" FROM {n} AS n"
                ).bindparams(stamp)
            )
            await conn.execute(
                text(
                    "INSERT INTO market (community_id, number, question, criteria, outcomes_json,"
                    " q_json, mechanism, liquidity, creator_account_id, creator_user,"
                    " escrow_account_id, status, created_at, closes_at, volume, traders, channel,"
                    " settlement, escrow_before)"
                    " SELECT m.community_id, CAST(substr(a.display_name, 9) AS INTEGER),"
                    " m.question, m.criteria, m.outcomes_json, m.q_json, m.mechanism,"
                    " m.liquidity, m.creator_account_id, m.creator_user, a.id, 'open',"
                    " m.created_at, m.closes_at, 0, 0, m.channel, 0, 0"
                    " FROM market m JOIN account a ON a.community_id = m.community_id"
                    " AND a.kind = 'escrow' AND a.display_name <> 'escrow #1'"
                    " WHERE m.id = :m"
                ),
                {"m": row.id},
            )
            await conn.execute(
                text("UPDATE community SET next_market_number = :n WHERE id = :c"),
                {"n": count + 1, "c": c},
            )
    finally:
        await engine.dispose()


async def run_once(url: str, count: int) -> tuple[float, float]:
    """Return (seconds from the deadline to all closed and queued, start-up seconds)."""
    engine = create_engine(url)
    store = SqlStore(engine)
    clock = SystemClock()
    service = Service(store, clock)
    scheduler = Scheduler(
        service, store, SqlClaims(store), sweep_every=3600, remind_every=86400 * 30
    )
    try:
        # Estimate the start-up (job rebuild) and put the deadline just after it.
        deadline = clock.now() + timedelta(seconds=LEAD + count / 5000)
        async with engine.begin() as conn:
            await conn.execute(
                text("UPDATE market SET closes_at = :d").bindparams(
                    bindparam("d", deadline, type_=DateTime(timezone=True))
                )
            )
        started = time.perf_counter()
        await scheduler.start()
        startup = time.perf_counter() - started
        wait = (deadline - clock.now()).total_seconds()
        if wait <= 0:
            raise RuntimeError(f"start-up took {startup:.1f} s, past the deadline")
        await asyncio.sleep(wait)
        t0 = time.perf_counter() - max(0.0, (clock.now() - deadline).total_seconds())
        while True:
            async with engine.connect() as conn:
                done = (
                    await conn.execute(
                        text(
                            "SELECT (SELECT COUNT(*) FROM market WHERE status = 'closed'),"
                            " (SELECT COUNT(*) FROM outbox WHERE kind = 'closed')"
                        )
                    )
                ).one()
            if done[0] == count and done[1] == count:
                return time.perf_counter() - t0, startup
            if time.perf_counter() - t0 > 120:
                raise RuntimeError(f"not done after 120 s: {tuple(done)} of {count}")
            await asyncio.sleep(0.01)
    finally:
        await scheduler.stop()
        await engine.dispose()


async def run(bench: Bench) -> Figure:
    count = bench.sizes.due_markets
    figure = Figure(
        number=5,
        key=KEY,
        title=f"Scheduler: {count:,} markets due at the same instant",
        target="all closed and their announcements queued ≤ 5 s after the deadline",
        method=(
            f"{count:,} open markets with one deadline, seeded in bulk; the real `Scheduler` "
            "(APScheduler date jobs rebuilt from the database at start-up, closer locking "
            "batches of 200 due markets and closing each batch in one transaction planned by "
            "`Service.close_due_batch`), system clock. "
            "Measured from the deadline until every market is `closed` and its `closed` "
            "outbox row exists (polled every 10 ms)."
        ),
    )
    kinds = ["sqlite", *(["postgres"] if bench.pg else [])]
    for kind in kinds:
        label = "SQLite file" if kind == "sqlite" else "PostgreSQL"
        took = Series(f"{label}: deadline → all closed and queued (s)", "s", digits=2)
        startup = Series(f"{label}: scheduler start-up, {count:,} jobs (s)", "s", digits=2)
        for r in range(bench.runs):
            async with database(kind, bench.tmp) as url:
                await seed(url, count)
                seconds, up = await run_once(url, count)
            took.values.append(seconds)
            startup.values.append(up)
            bench.log(f"  {label} run {r + 1}: {seconds:.2f} s (start-up {up:.2f} s)")
        figure.series += [took, startup]
        figure.verdicts.append(
            f"{label}: median {took.median:.2f} s (≤ 5 s) — "
            f"{'met' if took.median <= 5 else 'MISSED'}"
        )
    return figure
