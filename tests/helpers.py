"""Shared test helpers: a controllable clock, database fixtures' plumbing, ledger checks."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import asyncpg
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.core.models import Actor, CommunitySettings, Context
from bot.core.services import Service
from storage.engine import create_engine, migrate
from storage.sql_store import SqlStore

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
    """Assert the ledger invariants; return user balances by user id.

    Every community's balances sum to 0, every cached balance equals its ledger history, no
    user balance is negative, every settled market's escrow is empty."""
    async with engine.connect() as conn:
        sums = (
            await conn.execute(text("SELECT community_id, SUM(balance) FROM account GROUP BY 1"))
        ).all()
        assert all(int(s) == 0 for _, s in sums), f"community sums not zero: {sums}"
        mismatched = (
            await conn.execute(
                text(
                    "SELECT a.id, a.balance,"
                    " COALESCE((SELECT SUM(amount) FROM ledger_entry l WHERE to_account = a.id), 0)"
                    " - COALESCE((SELECT SUM(amount) FROM ledger_entry l"
                    " WHERE from_account = a.id), 0) AS derived FROM account a"
                )
            )
        ).all()
        bad = [r for r in mismatched if int(r[1]) != int(r[2])]
        assert not bad, f"cached balance differs from ledger: {bad}"
        negative = (
            await conn.execute(
                text("SELECT user_id, balance FROM account WHERE kind = 'user' AND balance < 0")
            )
        ).all()
        assert not negative, f"negative balances: {negative}"
        escrow = (
            await conn.execute(
                text(
                    "SELECT m.number, a.balance FROM market m JOIN account a "
                    "ON a.id = m.escrow_account_id "
                    "WHERE m.status IN ('resolved', 'cancelled') AND a.balance <> 0"
                )
            )
        ).all()
        assert not escrow, f"settled markets with escrow left: {escrow}"
        users = (
            await conn.execute(text("SELECT user_id, balance FROM account WHERE kind = 'user'"))
        ).all()
        return {str(u): int(b) for u, b in users}


async def snapshot(engine: AsyncEngine) -> dict[str, list[tuple[object, ...]]]:
    """Return every row of every table, to prove a refused request changed nothing."""
    tables = [
        "community",
        "account",
        "market",
        "position",
        "trade",
        "ledger_entry",
        "request",
        "outbox",
    ]
    out: dict[str, list[tuple[object, ...]]] = {}
    async with engine.connect() as conn:
        for name in tables:
            rows = (await conn.execute(text(f"SELECT * FROM {name} ORDER BY id"))).all()
            out[name] = [tuple(r) for r in rows]
    return out
