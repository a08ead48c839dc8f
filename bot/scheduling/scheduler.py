"""Deadline timers and resolution reminders on APScheduler.

The database is the truth: every open market gets a date job at its deadline, rebuilt from the
store at start-up and re-synchronised whenever announcements are queued (a market was created,
extended, closed...) and at every sweep. A firing job does not close "its" market directly; it
wakes the closer, which locks due markets a batch at a time (`FOR UPDATE SKIP LOCKED` on
PostgreSQL) and closes each batch in one transaction, as planned by the core's
`Service.close_due_batch`. So 1,000 markets due at the same moment become a few transactions, and
several processes split them without closing any twice. Reminders are queued in batches too.

On SQLite one bot process per database is assumed (see `storage.claims`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import UTC, datetime

from apscheduler.jobstores.base import JobLookupError
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.core.models import Clock
from bot.core.ports import Claims, MarketRef, Store
from bot.core.service import Service
from bot.scheduling._rerun import Rerun

log = logging.getLogger(__name__)

JOB_PREFIX = "close:"


def _job_id(ref: MarketRef) -> str:
    return f"{JOB_PREFIX}{ref.platform}:{ref.community}:{ref.number}"


class Scheduler:
    """Close markets at their deadline and remind resolvers of closed markets."""

    def __init__(
        self,
        service: Service,
        store: Store,
        claims: Claims,
        *,
        sweep_every: float,
        remind_every: float,
        clock: Clock | None = None,
        batch: int = 200,
        lease: float = 60.0,
        concurrency: int = 8,
        on_queued: Callable[[], None] | None = None,
    ) -> None:
        self.service = service
        self.store = store
        self.claims = claims
        self.sweep_every = sweep_every
        self.remind_every = remind_every
        self.clock = clock or service.clock
        self.batch = batch
        self.lease = lease
        self.concurrency = concurrency
        self.on_queued = on_queued
        self.aps: AsyncIOScheduler | None = None
        self._deadlines: dict[str, datetime] = {}
        self._closer = Rerun("close due markets", self.close_due_now)
        # Deadlines are at least MIN_MARKET_DURATION away, so a short delay that merges the
        # re-synchronisations of a burst of announcements costs no timeliness.
        self._syncer = Rerun("sync deadline jobs", self.sync_jobs, delay=0.3)
        self._reminder = Rerun("queue reminders", self.remind, delay=0.5)

    # -- lifecycle -----------------------------------------------------------------------

    async def start(self) -> None:
        """Rebuild deadline jobs from the database, start the sweep, catch up on the past."""
        self.aps = AsyncIOScheduler(timezone=UTC)
        self.aps.start()
        self.aps.add_job(
            self._sweep,
            "interval",
            seconds=self.sweep_every,
            id="sweep",
            coalesce=True,
            max_instances=1,
            misfire_grace_time=None,
        )
        await self.sync_jobs()
        # Deadlines that passed while the bot was down close now (announced as late).
        self._closer.trigger()
        self._reminder.trigger()

    async def stop(self) -> None:
        """Stop the timers and wait for a close in progress (it is one short transaction)."""
        if self.aps is not None:
            self.aps.shutdown(wait=False)
            self.aps = None
        await self._syncer.cancel()
        await self._reminder.cancel()
        try:
            async with asyncio.timeout(5):
                await self._closer.idle()
        except TimeoutError:
            await self._closer.cancel()

    def poke(self) -> None:
        """React to queued announcements: a market may have been created, extended or closed."""
        if self.aps is None:
            return
        self._syncer.trigger()
        self._reminder.trigger()

    async def _sweep(self) -> None:
        self._closer.trigger()
        self._syncer.trigger()
        self._reminder.trigger()

    async def _deadline(self, closes_at: datetime) -> None:
        # A timer may fire a hair early; the core only closes markets whose deadline passed.
        early = (closes_at - self.clock.now()).total_seconds()
        if early > 0:
            await asyncio.sleep(early)
        self._closer.trigger()

    # -- work ----------------------------------------------------------------------------

    async def sync_jobs(self) -> None:
        """Give every open market a date job at its deadline; drop jobs of the others."""
        aps = self.aps
        if aps is None:
            return
        refs = await self.store.open_deadlines()
        wanted = {_job_id(ref): ref.closes_at for ref in refs}
        for job_id in list(self._deadlines):
            if job_id not in wanted:
                del self._deadlines[job_id]
                with contextlib.suppress(JobLookupError):  # a date job is gone once it fired
                    aps.remove_job(job_id)
        now = self.clock.now()
        overdue = False
        for job_id, closes_at in wanted.items():
            # A fired job is not re-added: a market still open past its deadline is the
            # closer's (and the sweep's) to retry, not a new timer's.
            if self._deadlines.get(job_id) == closes_at:
                continue
            self._deadlines[job_id] = closes_at
            if closes_at <= now:
                overdue = True
                continue
            aps.add_job(
                self._deadline,
                "date",
                run_date=closes_at,
                args=(closes_at,),
                id=job_id,
                replace_existing=True,
                misfire_grace_time=None,
                coalesce=True,
            )
        if overdue:
            self._closer.trigger()

    async def close_due_now(self) -> int:
        """Close every market past its deadline, a batch per transaction; return how many this
        call closed.

        Each batch is locked (`FOR UPDATE SKIP LOCKED` on PostgreSQL, so processes take
        disjoint batches), planned by the core's `Service.close_due_batch` and written in one
        transaction. If a batch fails, the next claimable batch is closed one market at a time
        through `Service.close_due` instead, so one bad market cannot hold up the others (its
        claim lease keeps the batch path off it until a later sweep retries)."""
        closed = 0
        while True:
            try:
                done = await self.claims.close_due_batch(
                    self.clock.now(), self.batch, self.service.close_due_batch
                )
            except Exception:
                log.exception("closing a batch of due markets failed; closing one at a time")
                one_by_one = await self._close_one_by_one()
                if one_by_one is None:
                    break
                closed += one_by_one
                continue
            if not done:
                break
            closed += len(done)
            if self.service.on_outbox is not None:
                self.service.on_outbox()
        if closed:
            log.info("closed %d market(s) at their deadline", closed)
            if self.aps is not None:
                self._reminder.trigger()
        return closed

    async def _close_one_by_one(self) -> int | None:
        """Claim a batch of due markets and close each in its own transaction; None when
        there was nothing to claim."""
        gate = asyncio.Semaphore(self.concurrency)

        async def close(ref: MarketRef) -> bool:
            async with gate:
                try:
                    result = await self.service.close_due(ref.platform, ref.community, ref.number)
                except Exception:  # the claim lapses and a later sweep retries
                    log.exception("closing market #%s of %s failed", ref.number, ref.community)
                    return False
                return result is not None

        refs = await self.claims.claim_due_markets(self.clock.now(), self.batch, self.lease)
        if not refs:
            return None
        return sum(await asyncio.gather(*(close(ref) for ref in refs)))

    async def remind(self) -> int:
        """Queue every resolution reminder that is due, a batch per transaction; return how
        many were queued."""
        queued = 0
        while True:
            done = await self.claims.queue_reminders(
                self.clock.now(), self.remind_every, self.batch, self.service.reminder_payload
            )
            queued += done
            if done and self.on_queued is not None:
                self.on_queued()
            if done < self.batch:
                break
        return queued
