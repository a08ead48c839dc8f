"""Claims on closed markets whose resolution reminder is due: each round queued once."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, or_, select, update

from bot.core.models import AnnouncementKind, Community, Market, MarketStatus
from bot.core.ports import MarketRef
from bot.core.ports.claims import ReminderPayload
from storage import tables as t
from storage.claims._base import ClaimsBase
from storage.repositories.outbox import DEDUPE_KEY_MAX
from storage.rows import aware, market_of, utc

_market = t.market


def reminder_key(
    market: Market, closed_at: datetime, reminded: datetime | None, now: datetime, every: float
) -> str:
    """The dedupe key of a market's due reminder round: round 0 when it closed, then one per
    `every` seconds since."""
    if reminded is None or reminded < closed_at:
        round_ = 0
    else:
        round_ = max(1, int((now - closed_at).total_seconds() // every))
    return f"m{market.id}:reminder:{closed_at.isoformat()}:{round_}"[:DEDUPE_KEY_MAX]


class ReminderClaims(ClaimsBase):
    """Queue resolution reminders of closed markets."""

    def _reminder_due(self, now: datetime, every: float) -> ColumnElement[bool]:
        m = _market
        return or_(
            m.c.reminded_at.is_(None),
            m.c.closed_at.is_(None),
            m.c.reminded_at < m.c.closed_at,
            m.c.reminded_at <= now - timedelta(seconds=every),
        )

    async def reminder_candidates(self, now: datetime, every: float, limit: int) -> list[MarketRef]:
        """Return closed markets whose next resolution reminder is due (rows being changed by
        another transaction are skipped; `queue_reminder` decides under a lock)."""
        m, c = _market, t.community
        pick = (
            select(m.c.number, m.c.closes_at, c.c.platform, c.c.external_id)
            .select_from(m.join(c, c.c.id == m.c.community_id))
            .where(m.c.status == MarketStatus.CLOSED, self._reminder_due(now, every))
            .order_by(m.c.closes_at, m.c.id)
            .limit(limit)
        )
        if self.skip_locked:
            pick = pick.with_for_update(skip_locked=True, of=m)
        async with self.store.connect(write=False) as conn:
            rows = (await conn.execute(pick)).all()
        return [MarketRef(r.platform, r.external_id, r.number, aware(r.closes_at)) for r in rows]

    async def queue_reminder(
        self, ref: MarketRef, now: datetime, every: float, payload: ReminderPayload
    ) -> bool:
        """Queue one resolution reminder for a market if one is due, and mark the round.

        Runs in one transaction with the market row locked (skipped if another process holds
        it), so a round is queued at most once and never without its `reminded_at` stamp."""
        m = _market
        async with self.store.transaction(ref.platform, ref.community, write=True) as tx:
            lock = select(m.c.id, m.c.closed_at, m.c.reminded_at).where(
                m.c.community_id == tx.community.id,
                m.c.number == ref.number,
                m.c.status == MarketStatus.CLOSED,
                self._reminder_due(now, every),
            )
            if self.skip_locked:
                lock = lock.with_for_update(skip_locked=True, of=m)
            row = (await tx.exec(lock)).first()
            if row is None:
                return False
            market = await tx.markets.get(ref.number)
            assert market is not None
            closed_at = aware(row.closed_at or market.closes_at)
            key = reminder_key(market, closed_at, utc(row.reminded_at), now, every)
            await tx.outbox.add(
                AnnouncementKind.REMINDER, market, payload(market, tx.community, closed_at), key
            )
            await tx.exec(update(m).where(m.c.id == row.id).values(reminded_at=now))
            await tx.commit()
        return True

    async def queue_reminders(
        self, now: datetime, every: float, limit: int, payload: ReminderPayload
    ) -> int:
        """Queue the due resolution reminders of up to `limit` closed markets in one
        transaction; return how many markets had one due.

        Same rounds, keys and payloads as `queue_reminder`, with the markets locked together
        (`FOR UPDATE SKIP LOCKED` on PostgreSQL: rows another process holds are left to it),
        one multi-row outbox INSERT and one `reminded_at` UPDATE."""
        m = _market
        pick = (
            select(m)
            .where(m.c.status == MarketStatus.CLOSED, self._reminder_due(now, every))
            .order_by(m.c.closes_at, m.c.id)
            .limit(limit)
        )
        if self.skip_locked:
            pick = pick.with_for_update(skip_locked=True)
        async with self._writing() as conn:
            found = [(market_of(r), utc(r.reminded_at)) for r in (await conn.execute(pick)).all()]
            if not found:
                return 0
            communities = await self._communities(conn, (x.community_id for x, _ in found))
            rows: list[tuple[Community, Market, str, str, str]] = []
            for market, reminded in found:
                community = communities[market.community_id]
                closed_at = aware(market.closed_at or market.closes_at)
                key = reminder_key(market, closed_at, reminded, now, every)
                reminder = payload(market, community, closed_at)
                rows.append((community, market, AnnouncementKind.REMINDER, reminder, key))
            await self._queue(conn, rows)
            await conn.execute(
                update(m).where(m.c.id.in_([x.id for x, _ in found])).values(reminded_at=now)
            )
            await conn.commit()
        return len(found)
