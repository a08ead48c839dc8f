"""Claims for scheduled work: due markets, resolution reminders and outbox rows.

On PostgreSQL every claim picks rows with `FOR UPDATE SKIP LOCKED` and stamps a lease
(`claimed_until`) in the same short transaction, so several bot processes on one database share
the work without waiting on each other, and a crashed process's claims expire with their lease.
Whatever a claim leads to is idempotent on its own (closing locks the market and checks its
status; a reminder re-checks `reminded_at` under a row lock; an outbox row is delivered only by
the holder of its current lease), so an expired lease costs at most a repeated attempt.

On SQLite one bot process per database file is assumed: SQLite has no row locks, writers queue
on the store's in-process lock and `BEGIN IMMEDIATE`, and leases only guard against the same
process claiming a row twice.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from contextlib import asynccontextmanager
from datetime import datetime, timedelta

from sqlalchemy import (
    ColumnElement,
    exists,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.core.models import Community, Market
from bot.core.ports import DueClose, MarketRef, OutboxMessage
from bot.scheduling.ports import FailedMessage, OutboxClaim
from storage import tables as t
from storage.sql_store import SqlStore, settings_from_json, utc
from storage.sql_store import _market as market_of

_market = t.market

DEDUPE_KEY_MAX = 120
ERROR_MAX = 2000


ReminderPayload = Callable[[Market, Community, datetime], str]
ClosePlan = Callable[[Community, Sequence[Market], datetime], Sequence[DueClose]]


def _aware(value: datetime | None) -> datetime:
    result = utc(value)
    assert result is not None
    return result


class SqlClaims:
    """Claim scheduled work on the database of a `SqlStore`."""

    def __init__(self, store: SqlStore) -> None:
        self.store = store
        self.skip_locked = not store.sqlite

    @asynccontextmanager
    async def _writing(self) -> AsyncIterator[AsyncConnection]:
        if self.store.sqlite:
            async with self.store._write_lock, self.store._connect(write=True) as conn:
                yield conn
        else:
            async with self.store._connect(write=True) as conn:
                yield conn

    # -- deadlines -----------------------------------------------------------------------

    async def claim_due_markets(self, now: datetime, limit: int, lease: float) -> list[MarketRef]:
        """Claim open markets past their deadline that no live claim holds, oldest first."""
        m, c = _market, t.community
        pick = (
            select(m.c.id, m.c.number, m.c.closes_at, c.c.platform, c.c.external_id)
            .select_from(m.join(c, c.c.id == m.c.community_id))
            .where(
                m.c.status == "open",
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
        return [MarketRef(r.platform, r.external_id, r.number, _aware(r.closes_at)) for r in rows]

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
        now = self.store._now()
        await conn.execute(
            self.store.insert(t.outbox)
            .values(
                [
                    {
                        "community_id": community.id,
                        "market_id": market.id,
                        "kind": kind,
                        "dedupe_key": key,
                        "channel": community.settings.announce_channel or market.channel,
                        "payload_json": payload,
                        "created_at": now,
                        "attempts": 0,
                        "next_attempt_at": now,
                    }
                    for community, market, kind, payload, key in rows
                ]
            )
            .on_conflict_do_nothing()
        )

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
                m.c.status == "open",
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

    # -- reminders -----------------------------------------------------------------------

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
            .where(m.c.status == "closed", self._reminder_due(now, every))
            .order_by(m.c.closes_at, m.c.id)
            .limit(limit)
        )
        if self.skip_locked:
            pick = pick.with_for_update(skip_locked=True, of=m)
        async with self.store._connect(write=False) as conn:
            rows = (await conn.execute(pick)).all()
        return [MarketRef(r.platform, r.external_id, r.number, _aware(r.closes_at)) for r in rows]

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
                m.c.status == "closed",
                self._reminder_due(now, every),
            )
            if self.skip_locked:
                lock = lock.with_for_update(skip_locked=True, of=m)
            row = (await tx.conn.execute(lock)).first()
            if row is None:
                return False
            market = await tx.get_market(ref.number)
            assert market is not None
            closed_at = _aware(row.closed_at or market.closes_at)
            reminded = utc(row.reminded_at)
            if reminded is None or reminded < closed_at:
                round_ = 0
            else:
                round_ = max(1, int((now - closed_at).total_seconds() // every))
            key = f"m{market.id}:reminder:{closed_at.isoformat()}:{round_}"
            await tx.add_outbox(
                "reminder", market, payload(market, tx.community, closed_at), key[:DEDUPE_KEY_MAX]
            )
            await tx.conn.execute(update(m).where(m.c.id == row.id).values(reminded_at=now))
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
            .where(m.c.status == "closed", self._reminder_due(now, every))
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
                closed_at = _aware(market.closed_at or market.closes_at)
                if reminded is None or reminded < closed_at:
                    round_ = 0
                else:
                    round_ = max(1, int((now - closed_at).total_seconds() // every))
                key = f"m{market.id}:reminder:{closed_at.isoformat()}:{round_}"
                rows.append(
                    (
                        community,
                        market,
                        "reminder",
                        payload(market, community, closed_at),
                        key[:DEDUPE_KEY_MAX],
                    )
                )
            await self._queue(conn, rows)
            await conn.execute(
                update(m).where(m.c.id.in_([x.id for x, _ in found])).values(reminded_at=now)
            )
            await conn.commit()
        return len(found)

    # -- outbox --------------------------------------------------------------------------

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
                await conn.execute(
                    self.store.insert(o)
                    .values(
                        community_id=row.community_id,
                        market_id=row.market_id,
                        kind=kind,
                        dedupe_key=f"{message.dedupe_key}:{kind}"[-DEDUPE_KEY_MAX:],
                        channel=row.channel,
                        payload_json=payload,
                        created_at=now,
                        attempts=0,
                        next_attempt_at=now,
                    )
                    .on_conflict_do_nothing()
                )
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
        async with self.store._connect(write=False) as conn:
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
        async with self.store._connect(write=False) as conn:
            rows = (await conn.execute(query)).all()
        return [
            FailedMessage(
                r.id,
                r.platform,
                r.external_id,
                r.kind,
                r.channel,
                r.attempts,
                _aware(r.failed_at),
                r.last_error,
            )
            for r in rows
        ]
