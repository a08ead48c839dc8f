"""Claims on markets past their deadline: closed once, by one process, in batches."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import or_, select, update

from bot.core.models import Community, Market, MarketStatus
from bot.core.ports import DueClose, MarketRef
from bot.core.ports.claims import ClosePlan
from storage import tables as t
from storage.claims._base import ClaimsBase
from storage.rows import aware, market_of

_market = t.market


class DeadlineClaims(ClaimsBase):
    """Claim and close markets whose deadline has passed."""

    async def claim_due_markets(self, now: datetime, limit: int, lease: float) -> list[MarketRef]:
        """Claim open markets past their deadline that no live claim holds, oldest first."""
        m, c = _market, t.community
        pick = (
            select(m.c.id, m.c.number, m.c.closes_at, c.c.platform, c.c.external_id)
            .select_from(m.join(c, c.c.id == m.c.community_id))
            .where(
                m.c.status == MarketStatus.OPEN,
                m.c.closes_at <= now,
                or_(m.c.claimed_until.is_(None), m.c.claimed_until < now),
            )
            .order_by(m.c.closes_at, m.c.id)
            .limit(limit)
        )
        if self.skip_locked:
            pick = pick.with_for_update(skip_locked=True, of=m)
        async with self._writing() as conn:
            rows = (await conn.execute(pick)).all()
            if not rows:
                return []
            await conn.execute(
                update(m)
                .where(m.c.id.in_([r.id for r in rows]))
                .values(claimed_until=now + timedelta(seconds=lease))
            )
            await conn.commit()
        return [MarketRef(r.platform, r.external_id, r.number, aware(r.closes_at)) for r in rows]

    async def close_due_batch(self, now: datetime, limit: int, plan: ClosePlan) -> list[DueClose]:
        """Lock up to `limit` open markets past their deadline, oldest first, and close them
        all in one transaction: `plan` (the core's `Service.close_due_batch`) decides, this
        writes the status updates and the announcements with set-based statements.

        On PostgreSQL the markets are locked with `FOR UPDATE SKIP LOCKED` until the commit, so
        several processes take disjoint batches and a market closed by one is no longer open
        for the others; markets under another process's live claim lease are left to it."""
        m = _market
        pick = (
            select(m)
            .where(
                m.c.status == MarketStatus.OPEN,
                m.c.closes_at <= now,
                or_(m.c.claimed_until.is_(None), m.c.claimed_until < now),
            )
            .order_by(m.c.closes_at, m.c.id)
            .limit(limit)
        )
        if self.skip_locked:
            pick = pick.with_for_update(skip_locked=True)
        async with self._writing() as conn:
            markets = [market_of(r) for r in (await conn.execute(pick)).all()]
            if not markets:
                return []
            communities = await self._communities(conn, (x.community_id for x in markets))
            groups: dict[int, list[Market]] = {}
            for market in markets:
                groups.setdefault(market.community_id, []).append(market)
            closes: list[tuple[Community, DueClose]] = []
            for community_id, group in groups.items():
                community = communities[community_id]
                closes += [(community, close) for close in plan(community, group, now)]
            if not closes:
                return []
            # One UPDATE per closing time: on time, a batch shares `now`; late markets close at
            # their own deadline (the row is locked, so `closes_at` is the value planned on).
            by_time: dict[tuple[str, bool, datetime | None], list[int]] = {}
            for _, close in closes:
                closed = close.market
                at_deadline = closed.closed_at == closed.closes_at
                when = None if at_deadline else closed.closed_at
                by_time.setdefault((closed.status, at_deadline, when), []).append(closed.id)
            for (status, at_deadline, when), ids in by_time.items():
                closed_at = m.c.closes_at if at_deadline else when
                await conn.execute(
                    update(m).where(m.c.id.in_(ids)).values(status=status, closed_at=closed_at)
                )
            # Announcements in per-market order: every first one, then every second one...
            depth = max(len(close.announcements) for _, close in closes)
            for i in range(depth):
                await self._queue(
                    conn,
                    [
                        (community, close.market, a.kind, a.payload, a.dedupe_key)
                        for community, close in closes
                        if len(close.announcements) > i
                        for a in (close.announcements[i],)
                    ],
                )
            await conn.commit()
        return [close for _, close in closes]
