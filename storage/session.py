"""A connection in a transaction on one community: what the repositories run statements on.

`storage.tx.SqlTx` is a session with its repositories; the repositories see only this, so
they import neither the transaction nor the store."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncConnection

from bot.core.models import Community, CommunitySettings
from storage.engine import offloaded
from storage.errors import translated


class StoreSide(Protocol):
    """What a session needs from its store."""

    sqlite: bool
    defaults: CommunitySettings
    now: Callable[[], datetime]
    claim_request: Any  # the prepared INSERT … ON CONFLICT DO NOTHING of a request id

    def insert(self, table: Any) -> Any:
        """Return a dialect-specific INSERT (for ON CONFLICT)."""
        ...


class Session:
    """One connection, in a transaction, on one community."""

    def __init__(
        self, store: StoreSide, conn: AsyncConnection, community: Community, *, write: bool
    ) -> None:
        self.store = store
        self.conn = conn
        self.community = community
        self.write = write

    async def exec(self, statement: Any, params: Any = None, *, bulk: bool = False) -> Any:
        """Execute a statement; `bulk` ones (set-based, long) run off the event loop's thread."""
        with translated():
            if bulk:
                async with offloaded(self.conn):
                    return await self.conn.execute(statement, params)
            return await self.conn.execute(statement, params)

    @property
    def now(self) -> datetime:
        """The store's current time (row timestamps)."""
        return self.store.now()

    def insert(self, table: Any) -> Any:
        """Return a dialect-specific INSERT (for ON CONFLICT)."""
        return self.store.insert(table)
