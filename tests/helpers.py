"""Shared test helpers: a controllable clock, database fixtures' plumbing, ledger checks."""

from __future__ import annotations

import asyncio
import itertools
import os
import time
import uuid
from collections.abc import AsyncIterator, Hashable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import asyncpg
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.adapters.cards import Coalescer
from bot.core.models import Actor, CommunitySettings, Context
from bot.core.service import Service
from storage.engine import create_engine, migrate
from storage.store import SqlStore
from tests import invariants

PG_URL = os.environ.get("PREDICTBOT_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")
REQUIRE_PG = os.environ.get("PREDICTBOT_REQUIRE_PG") == "1"

_pg_state: dict[str, str | None] = {}
# Connections still open when a test's schema was dropped (set to a list to collect them).
LEAKS: list[tuple[str, str, str]] | None = []


def pg_unavailable_reason() -> str | None:
    """Return why PostgreSQL can't be used for tests, or None when it can."""
    if "reason" not in _pg_state:

        async def probe() -> None:
            conn = await asyncpg.connect(_asyncpg_dsn(PG_URL), timeout=3)
            await conn.close()

        try:
            asyncio.run(probe())
            _pg_state["reason"] = None
        except Exception as error:  # any failure means "not here"
            _pg_state["reason"] = (
                f"PostgreSQL not reachable at {PG_URL} ({type(error).__name__}: {error}); "
                "set PREDICTBOT_TEST_PG_URL, or run .ci/run which requires it"
            )
    return _pg_state["reason"]


def _asyncpg_dsn(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://")


@dataclass
class FakeClock:
    """A clock tests move by hand."""

    current: datetime = field(default_factory=lambda: datetime(2026, 3, 2, 12, 0, tzinfo=UTC))

    def now(self) -> datetime:
        """Return the current fake time."""
        return self.current

    def advance(self, **delta: float) -> None:
        """Move the clock forward."""
        self.current += timedelta(**delta)


@asynccontextmanager
async def fresh_database(kind: str, tmp_dir: str) -> AsyncIterator[str]:
    """Yield the URL of an empty, migrated database of a kind (sqlite or postgres)."""
    if kind == "sqlite":
        url = f"sqlite:///{tmp_dir}/predictbot-{uuid.uuid4().hex[:8]}.db"
        engine = create_engine(url)
        await migrate(engine)
        await engine.dispose()
        yield url
        return
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(_asyncpg_dsn(PG_URL))
    try:
        await admin.execute(f'CREATE SCHEMA "{schema}"')
        url = f"{PG_URL}?schema={schema}"
        engine = create_engine(url)
        await migrate(engine)
        await engine.dispose()
        yield url
    finally:
        # A connection a test leaked (still in a transaction) would make DROP wait forever.
        leaked = await admin.fetch(
            "SELECT pg_terminate_backend(pid), state, query FROM pg_stat_activity "
            "WHERE application_name = $1",
            f"predictbot:{schema}",
        )
        await admin.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        await admin.close()
        if LEAKS is not None:
            test = os.environ.get("PYTEST_CURRENT_TEST", schema)
            LEAKS.extend((test, r["state"], r["query"]) for r in leaked)


def make_service(
    engine: AsyncEngine, clock: FakeClock, defaults: CommunitySettings | None = None
) -> Service:
    """Build the service on a real store with a fake clock."""
    return Service(SqlStore(engine, defaults=defaults, now=clock.now), clock)


def ctx(
    user: str,
    request_id: str | None = None,
    *,
    moderator: bool = False,
    community: str = "test",
    channel: str | None = "chan",
) -> Context:
    """Build a request context for a user."""
    return Context(
        platform="console",
        community=community,
        actor=Actor(user, user.capitalize(), is_moderator=moderator),
        request_id=request_id or uuid.uuid4().hex,
        channel=channel,
    )


async def ledger_check(engine: AsyncEngine) -> dict[str, int]:
    """Assert the ledger invariants (`tests.invariants.check_ledger`); return user balances."""
    return await invariants.check_ledger(invariants.SqlProbe(engine))


async def snapshot(engine: AsyncEngine) -> dict[str, list[tuple[object, ...]]]:
    """Return every row of every table, to prove a refused request changed nothing."""
    return await invariants.snapshot(invariants.SqlProbe(engine))


def record_runs(cards: Coalescer) -> list[float]:
    """Record when a card coalescer starts each card edit (`time.monotonic()`), in order."""
    starts: list[float] = []
    edit = cards.action

    async def timed(key: Hashable) -> None:
        starts.append(time.monotonic())
        await edit(key)

    cards.action = timed
    return starts


def spaced(starts: list[float], interval: float) -> bool:
    """Tell whether consecutive runs started at least `interval` seconds apart."""
    # The coalescer stamps a run just before it starts, and timers never fire early by more
    # than the clock's resolution: 1 ms of slack is plenty.
    return all(b - a >= interval - 0.001 for a, b in itertools.pairwise(starts))
