"""What every figure shares: sizes, machine facts, statistics, databases and the report model."""

from __future__ import annotations

import asyncio
import os
import platform
import sqlite3
import statistics
import sys
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from storage.engine import create_engine, migrate

PG_URL = os.environ.get(
    "PREDICTBOT_BENCH_PG_URL",
    os.environ.get("PREDICTBOT_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test"),
)


@dataclass(frozen=True)
class Sizes:
    """How big each figure's workload is."""

    name: str
    bets: int  # bets per throughput run
    users: int  # pre-created users betting on the hot market
    workers: int  # concurrent workers (asyncio tasks / asyncpg connections)
    slack_concurrent: int
    slack_burst: int
    discord_burst: int
    positions: int
    due_markets: int
    open_markets: int
    memory_requests: int


FULL = Sizes(
    name="full",
    bets=2000,
    users=1000,
    workers=16,
    slack_concurrent=100,
    slack_burst=500,
    discord_burst=100,
    positions=100_000,
    due_markets=10_000,
    open_markets=10_000,
    memory_requests=300,
)
SMALL = Sizes(
    name="small",
    bets=60,
    users=30,
    workers=16,
    slack_concurrent=10,
    slack_burst=20,
    discord_burst=10,
    positions=500,
    due_markets=50,
    open_markets=50,
    memory_requests=10,
)
SIZES = {"full": FULL, "small": SMALL}


@dataclass
class Series:
    """Samples of one measured quantity, one per run."""

    label: str
    unit: str
    values: list[float] = field(default_factory=list)
    digits: int = 1

    @property
    def median(self) -> float:
        return statistics.median(self.values)

    @property
    def low(self) -> float:
        return min(self.values)

    @property
    def high(self) -> float:
        return max(self.values)

    def fmt(self, value: float) -> str:
        return f"{value:,.{self.digits}f}"


@dataclass
class Figure:
    """One figure of the report: its series, ratios to a baseline, target and verdict."""

    number: int
    key: str
    title: str
    target: str
    method: str
    series: list[Series] = field(default_factory=list)
    verdicts: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0


@dataclass
class Bench:
    """The run's options and shared state."""

    sizes: Sizes
    runs: int
    tmp: Path
    pg: bool
    command: str
    log: Callable[[str], None] = print

    def figure_command(self, key: str) -> str:
        extra = "" if self.sizes.name == "full" else f" --size {self.sizes.name}"
        return f"python -m bench --only {key}{extra} --runs {self.runs}"


def pct(values: list[float], q: float) -> float:
    """Return the q-quantile (0..1) of values, nearest-rank."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    rank = max(0, min(len(ordered) - 1, round(q * len(ordered) + 0.5) - 1))
    return ordered[rank]


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


async def pg_version() -> str | None:
    try:
        conn = await asyncpg.connect(PG_URL, timeout=3)
    except Exception:
        return None
    try:
        return str(await conn.fetchval("SHOW server_version"))
    finally:
        await conn.close()


async def machine() -> dict[str, str]:
    """Describe the machine and the software versions."""
    pg = await pg_version()
    return {
        "cores": str(os.cpu_count()),
        "cpu": cpu_model(),
        "python": sys.version.split()[0],
        "sqlite": sqlite3.sqlite_version,
        "postgresql": pg or "not reachable",
        "os": f"{platform.system()} {platform.release()}",
    }


# -- databases ---------------------------------------------------------------------------


@asynccontextmanager
async def database(kind: str, tmp: Path) -> AsyncIterator[str]:
    """Yield the plain URL of an empty, migrated database (SQLite file or a PostgreSQL schema)."""
    if kind == "sqlite":
        path = tmp / f"bench-{uuid.uuid4().hex[:8]}.db"
        url = f"sqlite:///{path}"
        engine = create_engine(url)
        await migrate(engine)
        await engine.dispose()
        try:
            yield url
        finally:
            remove_sqlite(path)
        return
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(PG_URL)
    try:
        await admin.execute(f'CREATE SCHEMA "{schema}"')
        url = f"{PG_URL}?schema={schema}"
        engine = create_engine(url)
        await migrate(engine)
        await engine.dispose()
        yield url
    finally:
        await admin.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        await admin.close()


def remove_sqlite(path: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


def sqlite_path(url: str) -> str:
    return url.removeprefix("sqlite:///")


def pg_schema(url: str) -> str:
    return url.rsplit("schema=", 1)[1]


async def asyncpg_connect(url: str, **kwargs: Any) -> asyncpg.Connection:
    """Connect with the raw driver to the schema of a bench database URL."""
    return await asyncpg.connect(PG_URL, server_settings={"search_path": pg_schema(url)}, **kwargs)


def now_utc() -> datetime:
    return datetime.now(UTC)


async def seed_users(engine: AsyncEngine, community_id: int, users: int, balance: int) -> None:
    """Create users with a starting grant from the house, in bulk (ledger kept balanced)."""
    now = now_utc()
    async with engine.begin() as conn:
        house = (
            await conn.execute(
                text("SELECT house_account_id FROM community WHERE id = :c"), {"c": community_id}
            )
        ).scalar_one()
        await conn.execute(
            text(
                "INSERT INTO account (community_id, kind, user_id, display_name, balance,"
                " created_at) VALUES (:c, 'user', :u, :u, :b, :t)"
            ),
            [{"c": community_id, "u": user_name(i), "b": balance, "t": now} for i in range(users)],
        )
        await conn.execute(
            text(
                "INSERT INTO ledger_entry (community_id, from_account, to_account, amount, kind,"
                " created_at) SELECT :c, :h, id, balance, 'grant', :t FROM account"
                " WHERE community_id = :c AND kind = 'user' AND id NOT IN"
                " (SELECT to_account FROM ledger_entry WHERE kind = 'grant')"
            ),
            {"c": community_id, "h": house, "t": now},
        )
        await conn.execute(
            text("UPDATE account SET balance = balance - :total WHERE id = :h"),
            {"total": balance * users, "h": house},
        )


def user_name(i: int) -> str:
    return f"user{i:06d}"


async def gather_limited(limit: int, jobs: list[Any]) -> list[Any]:
    """Run awaitables with at most `limit` in flight."""
    gate = asyncio.Semaphore(limit)

    async def one(job: Any) -> Any:
        async with gate:
            return await job

    return await asyncio.gather(*(one(j) for j in jobs))
