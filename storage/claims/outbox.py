"""Claims on outbox rows: each announcement held by one process's lease at a time."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import exists, func, or_, select, update

from bot.core.ports import FailedMessage, OutboxClaim, OutboxMessage
from storage import tables as t
from storage.claims._base import ClaimsBase
from storage.repositories.outbox import DEDUPE_KEY_MAX, outbox_row
from storage.rows import aware, utc

ERROR_MAX = 2000


class OutboxClaims(ClaimsBase):
    """Claim announcements for delivery and record how each attempt went."""

    async def claim_outbox(
        self, now: datetime, platforms: Sequence[str], limit: int, lease: float
    ) -> list[OutboxClaim]:
        """Claim undelivered announcements that are due, oldest first.

        A row waits while an earlier row of the same market is undelivered, so a market's
        announcements reach its channel in order (created before closed before resolved)."""
        if not platforms:
            return []
        o, c = t.outbox, t.community
        earlier = t.outbox.alias("earlier")
        blocked = exists().where(
            earlier.c.market_id == o.c.market_id,
            earlier.c.id < o.c.id,
            earlier.c.delivered_at.is_(None),
            earlier.c.failed_at.is_(None),
        )
        pick = (
            select(
                o.c.id,
                o.c.kind,
                o.c.channel,
                o.c.payload_json,
                o.c.dedupe_key,
                o.c.attempts,
                c.c.platform,
                c.c.external_id,
            )
            .join(c, c.c.id == o.c.community_id)
            .where(
                o.c.delivered_at.is_(None),
                o.c.failed_at.is_(None),
                o.c.next_attempt_at <= now,
                or_(o.c.claimed_until.is_(None), o.c.claimed_until < now),
                c.c.platform.in_(list(platforms)),
                ~blocked,
            )
            .order_by(o.c.id)
            .limit(limit)
        )
        if self.skip_locked:
            pick = pick.with_for_update(skip_locked=True, of=o)
        token = now + timedelta(seconds=lease)
        async with self._writing() as conn:
            rows = (await conn.execute(pick)).all()
            if not rows:
                return []
            await conn.execute(
                update(o).where(o.c.id.in_([r.id for r in rows])).values(claimed_until=token)
            )
            await conn.commit()
        return [
            OutboxClaim(
                OutboxMessage(
                    id=r.id,
                    platform=r.platform,
                    community=r.external_id,
                    kind=r.kind,
                    channel=r.channel,
                    payload=r.payload_json,
                    dedupe_key=r.dedupe_key,
                    attempts=r.attempts,
                ),
                token,
            )
            for r in rows
        ]

    async def _settle(self, message_id: int, token: datetime, **values: object) -> bool:
        o = t.outbox
        async with self._writing() as conn:
            result = await conn.execute(
                update(o)
                .where(
                    o.c.id == message_id,
                    o.c.claimed_until == token,
                    o.c.delivered_at.is_(None),
                    o.c.failed_at.is_(None),
                )
                .values(**values)
            )
            await conn.commit()
        return bool(result.rowcount == 1)

    async def renew(self, message_id: int, token: datetime, until: datetime) -> bool:
        """Extend this process's lease on a row; False if the lease was lost or it is done."""
        return await self._settle(message_id, token, claimed_until=until)

    async def mark_delivered(self, message_id: int, token: datetime, now: datetime) -> bool:
        """Record a successful delivery; False if this process no longer held the row."""
        return await self._settle(
            message_id,
            token,
            delivered_at=now,
            claimed_until=None,
            attempts=t.outbox.c.attempts + 1,
            last_error=None,
        )

    async def retry_later(
        self, message_id: int, token: datetime, attempts: int, at: datetime, error: str
    ) -> bool:
        """Record a failed attempt and when to try again; release the claim."""
        return await self._settle(
            message_id,
            token,
            attempts=attempts,
            next_attempt_at=at,
            claimed_until=None,
            last_error=error[:ERROR_MAX],
        )

    async def mark_failed(
        self,
        message: OutboxMessage,
        token: datetime,
        now: datetime,
        attempts: int,
        error: str,
        notice: tuple[str, str] | None,
    ) -> bool:
        """Give up on a row and, in the same transaction, queue a notice (kind, payload) for
        the moderators in the same channel."""
        o = t.outbox
        async with self._writing() as conn:
            result = await conn.execute(
                update(o)
                .where(
                    o.c.id == message.id,
                    o.c.claimed_until == token,
                    o.c.delivered_at.is_(None),
                    o.c.failed_at.is_(None),
                )
                .values(
                    attempts=attempts,
                    failed_at=now,
                    claimed_until=None,
                    last_error=error[:ERROR_MAX],
                )
                .returning(o.c.community_id, o.c.market_id, o.c.channel)
            )
            row = result.first()
            if row is None:
                return False
            if notice is not None:
                kind, payload = notice
                notice_row = outbox_row(
                    community_id=row.community_id,
                    market_id=row.market_id,
                    kind=kind,
                    dedupe_key=f"{message.dedupe_key}:{kind}"[-DEDUPE_KEY_MAX:],
                    channel=row.channel,
                    payload=payload,
                    now=now,
                )
                await conn.execute(self.store.insert(o).values(notice_row).on_conflict_do_nothing())
            await conn.commit()
        return True

    async def next_attempt_at(self, platforms: Sequence[str]) -> datetime | None:
        """Return when the earliest pending row of these platforms may be tried."""
        if not platforms:
            return None
        o, c = t.outbox, t.community
        query = (
            select(func.min(o.c.next_attempt_at))
            .join(c, c.c.id == o.c.community_id)
            .where(
                o.c.delivered_at.is_(None),
                o.c.failed_at.is_(None),
                c.c.platform.in_(list(platforms)),
            )
        )
        async with self.store.connect(write=False) as conn:
            value = (await conn.execute(query)).scalar()
        return utc(value)

    async def failed_messages(
        self, platform: str | None = None, community: str | None = None, limit: int = 50
    ) -> list[FailedMessage]:
        """Return announcements given up on, newest first (for moderators and operators)."""
        o, c = t.outbox, t.community
        query = (
            select(
                o.c.id,
                o.c.kind,
                o.c.channel,
                o.c.attempts,
                o.c.failed_at,
                o.c.last_error,
                c.c.platform,
                c.c.external_id,
            )
            .join(c, c.c.id == o.c.community_id)
            .where(o.c.failed_at.is_not(None))
            .order_by(o.c.failed_at.desc(), o.c.id.desc())
            .limit(limit)
        )
        if platform is not None:
            query = query.where(c.c.platform == platform)
        if community is not None:
            query = query.where(c.c.external_id == community)
        async with self.store.connect(write=False) as conn:
            rows = (await conn.execute(query)).all()
        return [
            FailedMessage(
                r.id,
                r.platform,
                r.external_id,
                r.kind,
                r.channel,
                r.attempts,
                aware(r.failed_at),
                r.last_error,
            )
            for r in rows
        ]
