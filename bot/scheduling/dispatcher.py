"""Deliver the outbox: every announcement reaches its channel, in order, without duplicates.

Rows are claimed with a lease (`storage.claims`), delivered one channel at a time under a
per-platform posting rate, and marked delivered by the holder of the lease only. Failures are
retried with exponential backoff (or after the platform's `retry_after`); after the last attempt
the row is marked failed, logged, and a notice for the moderators is queued in its place.
Delivery is at least once: a process killed between posting and recording the delivery posts
that one message again after its lease expires; everything merely pending is posted once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections import deque
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta

from bot.core import serialize
from bot.core.errors import DeliveryFailed
from bot.core.models import Clock
from bot.core.ports import Announcer, Claims, OutboxClaim, OutboxMessage
from bot.core.service import Service
from bot.core.views import AnnouncementFailed, MarketCard, Result

log = logging.getLogger(__name__)

# Seconds between two posts in one channel (Slack allows about one message a second per
# channel; discord.py paces its own buckets, so a short gap suffices there).
DEFAULT_POST_INTERVAL: Mapping[str, float] = {"slack": 1.0, "discord": 0.25}
# Announcements after which the market's posted card is edited to its new state.
REFRESH_KINDS = frozenset({"closed", "extended", "resolved", "cancelled", "unresolved"})
FAILED_KIND = "delivery_failed"


def _card(result: Result) -> MarketCard | None:
    card = getattr(result, "card", None)
    return card if isinstance(card, MarketCard) else None


class OutboxDispatcher:
    """Claim due outbox rows and deliver them through the adapter of their platform."""

    def __init__(
        self,
        service: Service,
        claims: Claims,
        announcers: Sequence[Announcer],
        *,
        clock: Clock | None = None,
        post_interval: Mapping[str, float] | None = None,
        lease: float = 60.0,
        max_attempts: int = 10,
        retry_base: float = 2.0,
        retry_cap: float = 900.0,
        poll: float = 5.0,
        batch: int = 50,
        drain_timeout: float = 5.0,
    ) -> None:
        self.service = service
        self.claims = claims
        self.announcers = {a.platform: a for a in announcers}
        self.clock = clock or service.clock
        self.post_interval = {**DEFAULT_POST_INTERVAL, **(post_interval or {})}
        self.lease = lease
        self.max_attempts = max_attempts
        self.retry_base = retry_base
        self.retry_cap = retry_cap
        self.poll = poll
        self.batch = batch
        self.drain_timeout = drain_timeout
        self._wake = asyncio.Event()
        self._loop_task: asyncio.Task[None] | None = None
        self._stopping = False
        self._queues: dict[tuple[str, str, str | None], deque[OutboxClaim]] = {}
        self._workers: dict[tuple[str, str, str | None], asyncio.Task[None]] = {}
        self._next_post: dict[tuple[str, str, str | None], float] = {}
        self._timers: set[asyncio.TimerHandle] = set()

    # -- lifecycle -----------------------------------------------------------------------

    async def start(self) -> None:
        """Start claiming and delivering in the background."""
        self._stopping = False
        self._loop_task = asyncio.get_running_loop().create_task(
            self._run(), name="outbox dispatcher"
        )

    def wake(self) -> None:
        """Look for new announcements now (wired to `Service.on_outbox`)."""
        self._wake.set()

    async def stop(self) -> None:
        """Deliver what is pending for up to `drain_timeout` seconds, then stop."""
        self._stopping = True
        self.wake()
        for timer in self._timers:
            timer.cancel()
        self._timers.clear()
        try:
            async with asyncio.timeout(self.drain_timeout):
                if self._loop_task is not None:
                    # Let a claim under way hand its rows to their workers: cancelled once
                    # the claim committed, it would leave them leased to nobody, and the
                    # drain would skip them until the lease ran out.
                    await asyncio.wait({self._loop_task})
                await self.drain()
        except TimeoutError:
            log.warning("stopping with announcements still pending; they go out on restart")
        if self._loop_task is not None:
            self._loop_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._loop_task
            self._loop_task = None
        for task in list(self._workers.values()):
            task.cancel()
        await asyncio.gather(*self._workers.values(), return_exceptions=True)
        self._workers.clear()
        self._queues.clear()

    async def drain(self) -> int:
        """Claim and deliver until nothing is due; return how many rows were claimed."""
        total = 0
        while True:
            # A delivery still running may unblock its market's next row (or queue a failure
            # notice): look again once it is done.
            busy = bool(self._workers)
            claimed = await self.claim_once()
            await self._idle()
            if not claimed and not busy:
                return total
            total += claimed

    async def _idle(self) -> None:
        while self._workers:
            await asyncio.gather(*list(self._workers.values()), return_exceptions=True)

    async def _run(self) -> None:
        while not self._stopping:
            self._wake.clear()
            try:
                claimed = await self.claim_once()
            except asyncio.CancelledError:
                raise
            except Exception:  # a database hiccup must not stop delivery for good
                log.exception("claiming announcements failed")
                claimed = 0
            if claimed or self._stopping:
                continue
            timeout = await self._sleep_time()
            # asyncio.timeout, not wait_for: on Python 3.11 wait_for can swallow a cancellation
            # that arrives as the wait ends, and this loop would then never stop.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(timeout):
                    await self._wake.wait()

    async def _sleep_time(self) -> float:
        try:
            due = await self.claims.next_attempt_at(list(self.announcers))
        except Exception:
            return self.poll
        if due is None:
            return self.poll
        wait: float = (due - self.clock.now()).total_seconds()
        return min(self.poll, max(0.05, wait))

    # -- claiming ------------------------------------------------------------------------

    async def claim_once(self) -> int:
        """Claim one batch of due rows and hand them to their channels' workers."""
        claims = await self.claims.claim_outbox(
            self.clock.now(), list(self.announcers), self.batch, self.lease
        )
        loop = asyncio.get_running_loop()
        for claim in claims:
            msg = claim.message
            key = (msg.platform, msg.community, msg.channel)
            self._queues.setdefault(key, deque()).append(claim)
            if key not in self._workers:
                self._workers[key] = loop.create_task(self._work(key), name=f"outbox {key}")
        return len(claims)

    async def _work(self, key: tuple[str, str, str | None]) -> None:
        queue = self._queues[key]
        try:
            while queue:
                claim = queue.popleft()
                try:
                    await self._deliver(key, claim)
                except asyncio.CancelledError:
                    raise
                except Exception:  # the lease lapses and the row is tried again
                    log.exception("delivering outbox row %s failed", claim.message.id)
        finally:
            self._workers.pop(key, None)
            if not queue:
                self._queues.pop(key, None)

    # -- delivery ------------------------------------------------------------------------

    async def _deliver(self, key: tuple[str, str, str | None], claim: OutboxClaim) -> None:
        msg = claim.message
        wait = self._next_post.get(key, 0.0) - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)
        now = self.clock.now()
        token = claim.token
        if (token - now).total_seconds() < 0.75 * self.lease:
            # Waiting in the channel's queue used up part of the lease: take a fresh one (or
            # learn that another process took the row over after the lease ran out).
            token = now + timedelta(seconds=self.lease)
            if not await self.claims.renew(msg.id, claim.token, token):
                log.info("outbox row %s was taken over or settled elsewhere; skipping", msg.id)
                return
        announcer = self.announcers[msg.platform]
        result = serialize.loads(msg.payload)
        interval = self.post_interval.get(msg.platform, 0.0)
        try:
            async with asyncio.timeout(self.lease / 2):
                ref = await announcer.announce(msg, result)
        except DeliveryFailed as error:
            self._next_post[key] = time.monotonic() + max(interval, error.retry_after or 0.0)
            await self._failed(msg, token, result, error.reason, error.retry_after, error.permanent)
            return
        except Exception as error:
            self._next_post[key] = time.monotonic() + interval
            log.warning("announcing %s raised %r", msg.dedupe_key, error)
            await self._failed(msg, token, result, f"{type(error).__name__}: {error}", None, False)
            return
        self._next_post[key] = time.monotonic() + interval
        card = _card(result)
        if msg.kind == "created" and ref and card is not None:
            try:
                await self.service.set_card_ref(msg.platform, msg.community, card.number, ref)
            except Exception:
                log.exception("remembering the card of market #%s failed", card.number)
        if not await self.claims.mark_delivered(msg.id, token, self.clock.now()):
            log.warning("outbox row %s was delivered, but its lease had been lost", msg.id)
        self.wake()  # the market's next announcement may now go
        if msg.kind in REFRESH_KINDS and card is not None:
            await self._refresh(announcer, msg, card.number)

    async def _refresh(self, announcer: Announcer, msg: OutboxMessage, number: int) -> None:
        try:
            card = await self.service.card(msg.platform, msg.community, number)
            if card is not None and card.card_ref:
                await announcer.refresh_card(card)
        except Exception:  # the announcement is out; a stale card is not worth a repost
            log.warning("refreshing the card of market #%s failed", number, exc_info=True)

    def backoff(self, attempts: int) -> float:
        """Return the delay before the next try after `attempts` failures."""
        base: float = min(self.retry_cap, self.retry_base * 2.0 ** (attempts - 1))
        return base * random.uniform(1.0, 1.25)

    async def _failed(
        self,
        msg: OutboxMessage,
        token: datetime,
        result: Result,
        reason: str,
        retry_after: float | None,
        permanent: bool,
    ) -> None:
        attempts = msg.attempts + 1
        now = self.clock.now()
        if permanent or attempts >= self.max_attempts:
            log.error(
                "giving up on announcement %s (%s in %s/%s) after %d attempt(s): %s",
                msg.dedupe_key,
                msg.kind,
                msg.platform,
                msg.community,
                attempts,
                reason,
            )
            notice = None
            if msg.kind != FAILED_KIND:
                notice = (FAILED_KIND, await self._notice(msg, result, reason, attempts))
            await self.claims.mark_failed(msg, token, now, attempts, reason, notice)
            self.wake()
            return
        delay = retry_after if retry_after is not None else self.backoff(attempts)
        log.warning(
            "announcement %s failed (%s); attempt %d in %.1fs",
            msg.dedupe_key,
            reason,
            attempts + 1,
            delay,
        )
        await self.claims.retry_later(
            msg.id, token, attempts, now + timedelta(seconds=delay), reason
        )
        timer = asyncio.get_running_loop().call_later(delay, self._timer_fired)
        self._timers.add(timer)

    def _timer_fired(self) -> None:
        now = asyncio.get_running_loop().time()
        self._timers = {t for t in self._timers if t.when() > now}
        self.wake()

    async def _notice(self, msg: OutboxMessage, result: Result, reason: str, attempts: int) -> str:
        card = _card(result)
        moderators: tuple[str, ...] = ()
        try:
            moderators = await self.service.moderators(msg.platform, msg.community)
        except Exception:
            log.warning("could not read the moderators of %s", msg.community, exc_info=True)
        notice = AnnouncementFailed(
            kind=msg.kind,
            market=card.number if card else None,
            question=card.question if card else None,
            error=reason,
            attempts=attempts,
            moderators=moderators,
        )
        return serialize.dumps(notice)
