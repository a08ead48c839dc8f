"""One database transaction on one community, with its repositories (`storage.repositories`).

Nothing here commits on its own: leaving the transaction without `commit` rolls it back
(the store's connection context does that)."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.core.models import Community
from storage import tables as t
from storage.errors import translated
from storage.repositories.accounts import SqlAccounts
from storage.repositories.communities import SqlCommunities
from storage.repositories.ledger import SqlLedger
from storage.repositories.markets import SqlMarkets
from storage.repositories.outbox import SqlOutbox
from storage.repositories.positions import SqlPositions
from storage.repositories.requests import SqlRequests
from storage.repositories.trades import SqlTrades
from storage.rows import settings_from_json
from storage.session import Session, StoreSide

_COMMUNITY_BY_ID = select(t.community).where(t.community.c.id == bindparam("p_id"))


class SqlTx(Session):
    """One transaction on one community; implements `bot.core.ports.Tx`."""

    def __init__(
        self, store: StoreSide, conn: AsyncConnection, community: Community, *, write: bool
    ) -> None:
        super().__init__(store, conn, community, write=write)
        self.on_commit: Callable[[], None] | None = None
        self.ledger = SqlLedger(self)
        self.accounts = SqlAccounts(self, self.ledger)
        self.markets = SqlMarkets(self)
        self.positions = SqlPositions(self)
        self.trades = SqlTrades(self)
        self.requests = SqlRequests(self)
        self.outbox = SqlOutbox(self)
        self.communities = SqlCommunities(self)

    @classmethod
    async def open(
        cls, store: StoreSide, conn: AsyncConnection, community_id: int, *, write: bool
    ) -> SqlTx:
        """Load the community and wrap the connection."""
        with translated():
            row = (await conn.execute(_COMMUNITY_BY_ID, {"p_id": community_id})).one()
        community = Community(
            id=row.id,
            platform=row.platform,
            external_id=row.external_id,
            settings=settings_from_json(row.settings_json, store.defaults),
            house_account_id=row.house_account_id,
        )
        return cls(store, conn, community, write=write)

    async def commit(self) -> None:
        """Commit everything done in this transaction."""
        with translated():
            await self.conn.commit()
        if self.on_commit is not None:
            self.on_commit()
