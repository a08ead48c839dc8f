"""The core's storage port on SQLAlchemy Core statements over SQLModel tables.

One `SqlTx` is one database transaction. Writers on SQLite queue on an in-process lock and
`BEGIN IMMEDIATE`; readers take neither (WAL: they never block). On PostgreSQL the market row is
locked first (`FOR UPDATE`), account rows are then changed by atomic `UPDATE`s, and deadlocks or
serialization failures surface as `TransientConflict` so the service retries the whole command.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot.core.models import AccountKind, CommunitySettings, MarketStatus
from bot.core.ports import MarketRef
from storage import tables as t
from storage.engine import READ_ONLY, is_sqlite
from storage.errors import translated
from storage.rows import aware, settings_to_json
from storage.tx import SqlTx


class SqlStore:
    """Open transactions on a database; implements `bot.core.ports.Store`."""

    def __init__(
        self,
        engine: AsyncEngine,
        defaults: CommunitySettings | None = None,
        now: Callable[[], datetime] | None = None,
    ) -> None:
        self.engine = engine
        self.defaults = defaults or CommunitySettings()
        self.sqlite = is_sqlite(engine)
        self.write_lock = asyncio.Lock()
        self._community_ids: dict[tuple[str, str], int] = {}
        self.now = now or (lambda: datetime.now(UTC))
        self.claim_request = (
            self.insert(t.request).on_conflict_do_nothing().returning(t.request.c.id)
        )

    def insert(self, table: Any) -> Any:
        """Return a dialect-specific INSERT (for ON CONFLICT)."""
        if self.sqlite:
            return sqlite.insert(table)
        return postgresql.insert(table)

    @asynccontextmanager
    async def transaction(
        self, platform: str, community: str, *, write: bool
    ) -> AsyncIterator[SqlTx]:
        """Open a transaction on a community, creating the community on first contact.

        A writing transaction creates a new community inside itself, so a refused first
        request (rolled back) leaves no community behind; a reading one creates it first, in
        a short writing transaction of its own."""
        key = (platform, community)
        community_id = self._community_ids.get(key)
        if community_id is None and not write:
            community_id = await self._ensure_community(platform, community)
            self._community_ids[key] = community_id
        async with self.writing() if write else self.connect(write=False) as conn:
            created = False
            if community_id is None:
                community_id, created = await self._community_in(conn, platform, community)
            tx = await SqlTx.open(self, conn, community_id, write=write)
            if created:
                # Remember the id only once the row that holds it is committed.
                known = community_id
                tx.on_commit = lambda: self._community_ids.__setitem__(key, known)
            else:
                self._community_ids[key] = community_id
            yield tx

    @asynccontextmanager
    async def writing(self) -> AsyncIterator[AsyncConnection]:
        """A writing connection in a transaction (on SQLite, behind the in-process lock)."""
        if self.sqlite:
            async with self.write_lock, self.connect(write=True) as conn:
                yield conn
        else:
            async with self.connect(write=True) as conn:
                yield conn

    @asynccontextmanager
    async def connect(self, *, write: bool) -> AsyncIterator[AsyncConnection]:
        """A connection in a transaction, rolled back unless committed."""
        with translated():
            async with self.engine.connect() as conn:
                if not write:
                    conn = await conn.execution_options(**{READ_ONLY: True})
                await conn.begin()
                try:
                    yield conn
                finally:
                    if conn.in_transaction():
                        await conn.rollback()

    async def _ensure_community(self, platform: str, external_id: str) -> int:
        async with self.writing() as conn:
            community_id, _ = await self._community_in(conn, platform, external_id)
            await conn.commit()
            return community_id

    async def _community_in(
        self, conn: AsyncConnection, platform: str, external_id: str
    ) -> tuple[int, bool]:
        """Find or create (uncommitted) a community in a writing transaction; tell if created."""
        where = (t.community.c.platform == platform, t.community.c.external_id == external_id)
        row = (await conn.execute(select(t.community.c.id).where(*where))).first()
        if row is not None:
            return int(row.id), False
        now = self.now()
        inserted = (
            await conn.execute(
                self.insert(t.community)
                .values(
                    platform=platform,
                    external_id=external_id,
                    settings_json=settings_to_json(self.defaults),
                    next_market_number=1,
                    created_at=now,
                )
                .on_conflict_do_nothing()
                .returning(t.community.c.id)
            )
        ).first()
        if inserted is None:
            # Created by a concurrent transaction that has committed since: a new statement
            # (READ COMMITTED) sees it.
            return int(
                (await conn.execute(select(t.community.c.id).where(*where))).scalar_one()
            ), False
        house = (
            await conn.execute(
                t.account.insert()
                .values(
                    community_id=inserted.id,
                    kind=AccountKind.HOUSE,
                    user_id=None,
                    display_name="house",
                    balance=0,
                    created_at=now,
                )
                .returning(t.account.c.id)
            )
        ).scalar_one()
        await conn.execute(
            update(t.community)
            .where(t.community.c.id == inserted.id)
            .values(house_account_id=house)
        )
        return int(inserted.id), True

    async def due_markets(self, now: datetime, limit: int) -> list[MarketRef]:
        """Return open markets whose deadline has passed, across communities."""
        return await self._refs(
            and_(t.market.c.status == MarketStatus.OPEN, t.market.c.closes_at <= now), limit
        )

    async def open_deadlines(self) -> list[MarketRef]:
        """Return every open market's deadline, for rebuilding timers."""
        return await self._refs(t.market.c.status == MarketStatus.OPEN, None)

    async def _refs(self, where: ColumnElement[bool], limit: int | None) -> list[MarketRef]:
        query = (
            select(
                t.community.c.platform,
                t.community.c.external_id,
                t.market.c.number,
                t.market.c.closes_at,
            )
            .join(t.community, t.community.c.id == t.market.c.community_id)
            .where(where)
            .order_by(t.market.c.closes_at)
        )
        if limit is not None:
            query = query.limit(limit)
        async with self.connect(write=False) as conn:
            rows = (await conn.execute(query)).all()
        return [MarketRef(r.platform, r.external_id, r.number, aware(r.closes_at)) for r in rows]
