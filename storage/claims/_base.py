"""What every claim shares: the store, whether rows can be skipped when locked, and the
helpers that read communities and queue outbox rows in a claim's transaction."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.core.models import Community, Market
from storage import tables as t
from storage.repositories.outbox import outbox_row
from storage.rows import settings_from_json
from storage.store import SqlStore


class ClaimsBase:
    """The store that claims run on."""

    def __init__(self, store: SqlStore) -> None:
        self.store = store
        self.skip_locked = not store.sqlite

    @asynccontextmanager
    async def _writing(self) -> AsyncIterator[AsyncConnection]:
        async with self.store.writing() as conn:
            yield conn

    async def _communities(self, conn: AsyncConnection, ids: Iterable[int]) -> dict[int, Community]:
        c = t.community
        rows = (await conn.execute(select(c).where(c.c.id.in_(sorted(set(ids)))))).all()
        return {
            r.id: Community(
                id=r.id,
                platform=r.platform,
                external_id=r.external_id,
                settings=settings_from_json(r.settings_json, self.store.defaults),
                house_account_id=r.house_account_id,
            )
            for r in rows
        }

    async def _queue(
        self,
        conn: AsyncConnection,
        rows: Sequence[tuple[Community, Market, str, str, str]],
    ) -> None:
        """Insert outbox rows (community, market, kind, payload, dedupe key) with one
        multi-row INSERT, in the given order; rows whose key exists are skipped."""
        if not rows:
            return
        now = self.store.now()
        values = [
            outbox_row(
                community_id=community.id,
                market_id=market.id,
                kind=kind,
                dedupe_key=key,
                channel=community.settings.announce_channel or market.channel,
                payload=payload,
                now=now,
            )
            for community, market, kind, payload, key in rows
        ]
        await conn.execute(self.store.insert(t.outbox).values(values).on_conflict_do_nothing())
