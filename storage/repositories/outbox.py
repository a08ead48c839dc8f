"""The outbox: announcements written in the transaction of the change they announce.

`outbox_row` is the one builder of an outbox row, used here and by the scheduler's claims
(`storage/claims/`), so every row starts the same way: due now, no attempts yet."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select

from bot.core.models import AnnouncementKind, Market
from bot.core.views import FailedAnnouncement
from storage import tables as t
from storage.rows import aware
from storage.session import Session

DEDUPE_KEY_MAX = 120


def outbox_row(
    *,
    community_id: int,
    market_id: int | None,
    kind: str,
    dedupe_key: str,
    channel: str | None,
    payload: str,
    now: datetime,
) -> dict[str, Any]:
    """The values of a new outbox row, due now."""
    return {
        "community_id": community_id,
        "market_id": market_id,
        "kind": kind,
        "dedupe_key": dedupe_key,
        "channel": channel,
        "payload_json": payload,
        "created_at": now,
        "attempts": 0,
        "next_attempt_at": now,
    }


class SqlOutbox:
    """Implements `bot.core.ports.Outbox`."""

    def __init__(self, tx: Session) -> None:
        self.tx = tx
        self.queued = 0

    async def add(
        self, kind: AnnouncementKind, market: Market | None, payload: str, dedupe_key: str
    ) -> None:
        """Queue an announcement in this transaction (ignored if the key exists)."""
        tx = self.tx
        channel = tx.community.settings.announce_channel or (market.channel if market else None)
        row = outbox_row(
            community_id=tx.community.id,
            market_id=market.id if market else None,
            kind=kind,
            dedupe_key=dedupe_key,
            channel=channel,
            payload=payload,
            now=tx.now,
        )
        await tx.exec(tx.insert(t.outbox).values(row).on_conflict_do_nothing())
        self.queued += 1

    async def failed(self, limit: int) -> list[FailedAnnouncement]:
        """Return the community's announcements given up on, newest first."""
        o, m = t.outbox, t.market
        rows = await self.tx.exec(
            select(o.c.kind, m.c.number, o.c.channel, o.c.attempts, o.c.failed_at, o.c.last_error)
            .outerjoin(m, m.c.id == o.c.market_id)
            .where(o.c.community_id == self.tx.community.id, o.c.failed_at.is_not(None))
            .order_by(o.c.failed_at.desc(), o.c.id.desc())
            .limit(limit)
        )
        return [
            FailedAnnouncement(
                r.kind, r.number, r.channel, r.attempts, aware(r.failed_at), r.last_error
            )
            for r in rows
        ]

    async def count_failed(self) -> int:
        """Return how many of the community's announcements were given up on."""
        o = t.outbox
        query = select(func.count()).where(
            o.c.community_id == self.tx.community.id, o.c.failed_at.is_not(None)
        )
        return int((await self.tx.exec(query)).scalar_one())
