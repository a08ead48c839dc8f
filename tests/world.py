"""A test world: the service on one kind of store, its clock, and a look at the stored rows.

The same behaviour tests run on the in-memory store (`tests/fakes/memory_store.py`, the fast
one) and on SQLite and PostgreSQL, where they are contract tests of the SQL store. Every look at
the rows goes through a `Probe` (`tests.invariants`), with SQLite's raw values read back as the
others give them (datetimes for times, booleans for flags), so an assertion means the same on
every store.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Boolean, DateTime, text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.core.models import CommunitySettings
from bot.core.ports import Store
from bot.core.service import Service
from storage import tables as t
from storage.engine import create_engine
from storage.store import SqlStore
from tests import invariants
from tests.fakes.memory_store import MemoryProbe, MemoryStore
from tests.helpers import FakeClock, fresh_database

Row = dict[str, Any]


@dataclass
class World:
    """The service on one store (`kind`: memory, sqlite or postgres) with a fake clock."""

    kind: str
    store: Store
    service: Service
    clock: FakeClock
    probe: invariants.Probe
    engine: AsyncEngine | None = None  # SQL stores only

    async def rows(self, table: str) -> list[Row]:
        """Every row of a table, ordered by id, with the same value types on every store."""
        return [_typed(table, row) for row in await self.probe.rows(table)]

    async def select(self, table: str, *columns: str, **equal: Any) -> list[tuple[Any, ...]]:
        """Some columns of the rows whose columns equal some values, ordered by id."""
        return [
            tuple(row[c] for c in columns)
            for row in await self.rows(table)
            if all(row[k] == v for k, v in equal.items())
        ]

    async def one(self, table: str, **equal: Any) -> Row:
        """The one row whose columns equal some values."""
        (row,) = [r for r in await self.rows(table) if all(r[k] == v for k, v in equal.items())]
        return row

    async def balance(self, user: str) -> int:
        """A user's balance."""
        return int((await self.one("account", user_id=user))["balance"])

    async def house(self) -> int:
        """The house account's balance (the only community in these tests)."""
        return int((await self.one("account", kind="house"))["balance"])

    async def escrow(self, number: int) -> int:
        """A market's escrow balance."""
        market = await self.one("market", number=number)
        return int((await self.one("account", id=market["escrow_account_id"]))["balance"])

    async def user_of(self, account_id: int) -> str:
        """The user id of an account."""
        return str((await self.one("account", id=account_id))["user_id"])

    async def entries(self, kind: str) -> list[Row]:
        """The ledger entries of a kind, in order."""
        return [e for e in await self.rows("ledger_entry") if e["kind"] == kind]

    async def ledger_check(self) -> dict[str, int]:
        """Assert the ledger invariants (`tests.invariants.check_ledger`); return balances."""
        return await invariants.check_ledger(self.probe)

    async def snapshot(self) -> dict[str, list[tuple[object, ...]]]:
        """Every row of every table, to prove a refused request changed nothing."""
        return await invariants.snapshot(self.probe)

    async def fail_announcements(
        self, kind: str, *, at: datetime, attempts: int, error: str
    ) -> None:
        """Mark the outbox rows of a kind as given up on, as the dispatcher would."""
        values = {"failed_at": at, "attempts": attempts, "last_error": error}
        if isinstance(self.store, MemoryStore):
            await self.store.update_rows("outbox", lambda r: r["kind"] == kind, **values)
            return
        assert self.engine is not None
        async with self.engine.begin() as conn:
            await conn.execute(
                text(
                    "UPDATE outbox SET failed_at = :failed_at, attempts = :attempts, "
                    "last_error = :last_error WHERE kind = :kind"
                ),
                {**values, "kind": kind},
            )


def _typed(table: str, row: invariants.Row) -> Row:
    """Read SQLite's raw values (times as text, flags as 0/1) as datetimes and booleans."""
    columns = t.table(table).c
    typed = dict(row)
    for name, value in row.items():
        kind = columns[name].type
        if isinstance(value, str) and isinstance(kind, DateTime):
            parsed = datetime.fromisoformat(value)
            typed[name] = parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed
        elif isinstance(value, int) and isinstance(kind, Boolean):
            typed[name] = bool(value)
    return typed


@asynccontextmanager
async def open_world(
    kind: str, clock: FakeClock, tmp_dir: str, defaults: CommunitySettings | None = None
) -> AsyncIterator[World]:
    """Yield a world on a fresh store of a kind: memory, sqlite or postgres."""
    if kind == "memory":
        memory = MemoryStore(defaults, now=clock.now)
        yield World(kind, memory, Service(memory, clock), clock, MemoryProbe(memory))
        return
    async with fresh_database(kind, tmp_dir) as url:
        engine = create_engine(url)
        try:
            sql = SqlStore(engine, defaults=defaults, now=clock.now)
            probe = invariants.SqlProbe(engine)
            yield World(kind, sql, Service(sql, clock), clock, probe, engine)
        finally:
            await engine.dispose()
