"""The outbox dispatcher: retries, backoff, 429, posting rate, failures, draining at exit."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.core import grammar, serialize
from bot.core.errors import DeliveryFailed
from bot.core.ports import OutboxClaim, OutboxMessage
from bot.core.views import AnnouncementFailed, Result
from bot.scheduling.dispatcher import OutboxDispatcher
from storage.claims import SqlClaims
from storage.store import SqlStore
from tests.fakes.slack_stub import SlackWebStub
from tests.helpers import FakeClock, ctx, make_service
from tests.scheduling.support import (
    NO_MINIMUM,
    RecordingAnnouncer,
    SlackPoster,
    create_market,
    real_service,
    rows,
    soon,
    wait_for,
)


def dispatcher(service: object, announcer: object, **options: float) -> OutboxDispatcher:
    """Build a dispatcher on the service's store."""
    from bot.core.service import Service

    assert isinstance(service, Service) and isinstance(service.store, SqlStore)
    outbox = OutboxDispatcher(
        service,
        SqlClaims(service.store),
        [announcer],  # type: ignore[list-item]
        **options,  # type: ignore[arg-type]
    )
    service.on_outbox = outbox.wake
    return outbox


async def test_retries_500_then_429_then_delivers_once(engine: AsyncEngine) -> None:
    service = real_service(engine)
    async with SlackWebStub() as stub:
        poster = SlackPoster(stub.base_url)
        stub.fail_next("chat.postMessage", status=500)
        stub.fail_next("chat.postMessage", status=429, retry_after=1)
        outbox = dispatcher(service, poster, retry_base=0.3)
        await outbox.start()
        try:
            await create_market(service, soon(3600))
            await wait_for(lambda: stub.calls_of("chat.postMessage", ok_only=True), within=8)
            await wait_for(lambda: outbox._workers == {}, within=2)
        finally:
            await outbox.stop()
            await poster.close()
        calls = stub.calls_of("chat.postMessage")
        assert [c.status for c in calls] == [500, 429, 200]
        # Exponential backoff after the 500, then the platform's Retry-After after the 429.
        assert calls[1].time - calls[0].time >= 0.3
        assert calls[2].time - calls[1].time >= 1.0
        assert len(stub.channel_messages("chan")) == 1
    delivered = await rows(engine, "SELECT attempts, delivered_at, last_error FROM outbox")
    assert len(delivered) == 1
    assert delivered[0][0] == 3 and delivered[0][1] is not None and delivered[0][2] is None


async def test_posting_rate_per_channel(engine: AsyncEngine) -> None:
    service = real_service(engine)
    announcer = RecordingAnnouncer()
    for _n in range(3):
        await create_market(service, soon(3600), channel="busy")
    await create_market(service, soon(3600), channel="quiet")
    outbox = dispatcher(service, announcer, post_interval={"console": 0.4})  # type: ignore[arg-type]
    await outbox.drain()
    busy = [p.at for p in announcer.posted if p.message.channel == "busy"]
    quiet = [p.at for p in announcer.posted if p.message.channel == "quiet"]
    assert len(busy) == 3 and len(quiet) == 1
    assert all(b - a >= 0.39 for a, b in itertools.pairwise(busy))
    assert quiet[0] - busy[0] < 0.3  # other channels are not held up


async def test_market_announcements_keep_their_order(engine: AsyncEngine) -> None:
    service = real_service(engine)
    announcer = RecordingAnnouncer()
    announcer.failures.append(DeliveryFailed("flaky"))
    await create_market(service, soon(3600))
    await service.execute(grammar.parse("close 1"), ctx("al"))
    await service.execute(grammar.parse("resolve 1 yes"), ctx("mod", moderator=True))
    outbox = dispatcher(service, announcer, retry_base=0.2)
    await outbox.start()
    try:
        await wait_for(lambda: len(announcer.posted) == 3, within=5)
    finally:
        await outbox.stop()
    assert announcer.kinds() == ["created", "closed", "resolved"]
    assert len(announcer.attempts) == 4


async def test_last_failure_is_kept_and_moderators_told(
    engine: AsyncEngine, clock: FakeClock
) -> None:
    service = make_service(engine, clock, NO_MINIMUM)
    announcer = RecordingAnnouncer()
    announcer.failures.extend(DeliveryFailed("HTTP 500") for _ in range(3))
    await create_market(service, "2026-03-09")
    outbox = dispatcher(service, announcer, max_attempts=3, retry_base=60)
    for _ in range(3):
        await outbox.drain()
        clock.advance(minutes=10)
    await outbox.drain()
    failed = await rows(
        engine, "SELECT kind, attempts, last_error FROM outbox WHERE failed_at IS NOT NULL"
    )
    assert [tuple(r) for r in failed] == [("created", 3, "HTTP 500")]
    assert announcer.kinds() == ["delivery_failed"]
    notice = announcer.posted[0].result
    assert isinstance(notice, AnnouncementFailed)
    assert notice.kind == "created" and notice.market == 1 and notice.moderators == ("mod",)
    assert notice.attempts == 3
    listed = await SqlClaims(service.store).failed_messages("console", "test")  # type: ignore[arg-type]
    assert [(f.kind, f.attempts) for f in listed] == [("created", 3)]


async def test_permanent_failure_is_not_retried(engine: AsyncEngine, clock: FakeClock) -> None:
    service = make_service(engine, clock, NO_MINIMUM)
    announcer = RecordingAnnouncer()
    announcer.failures.append(DeliveryFailed("channel_not_found", permanent=True))
    announcer.failures.append(DeliveryFailed("channel_not_found", permanent=True))
    await create_market(service, "2026-03-09")
    outbox = dispatcher(service, announcer)
    await outbox.drain()
    # The notice failed too, and is not followed by a notice about the notice.
    kinds = await rows(engine, "SELECT kind, failed_at IS NOT NULL FROM outbox ORDER BY id")
    assert [tuple(r) for r in kinds] == [("created", True), ("delivery_failed", True)]
    assert len(announcer.attempts) == 2


async def test_stop_delivers_what_is_pending(engine: AsyncEngine) -> None:
    service = real_service(engine)
    announcer = RecordingAnnouncer()
    outbox = dispatcher(service, announcer, poll=60)
    await outbox.start()
    service.on_outbox = None  # nothing wakes it: only the drain at stop delivers
    await create_market(service, soon(3600))
    await service.execute(grammar.parse("close 1"), ctx("al"))
    await outbox.stop()
    assert announcer.kinds() == ["created", "closed"]
    payload = await rows(engine, "SELECT payload_json FROM outbox ORDER BY id")
    assert serialize.loads(payload[0][0]).card.number == 1  # type: ignore[union-attr]


async def test_lost_lease_is_not_delivered(engine: AsyncEngine, clock: FakeClock) -> None:
    """A row whose lease expired and was claimed elsewhere is left to its new holder."""
    service = make_service(engine, clock, NO_MINIMUM)
    await create_market(service, "2026-03-09")
    assert isinstance(service.store, SqlStore)
    claims = SqlClaims(service.store)
    first = await claims.claim_outbox(clock.now(), ["console"], 10, lease=5)
    assert len(first) == 1
    assert await claims.claim_outbox(clock.now(), ["console"], 10, lease=5) == []
    clock.advance(seconds=6)
    second = await claims.claim_outbox(clock.now(), ["console"], 10, lease=5)
    assert len(second) == 1
    assert not await claims.renew(first[0].message.id, first[0].token, clock.now())
    assert await claims.mark_delivered(second[0].message.id, second[0].token, clock.now())
    assert not await claims.mark_delivered(first[0].message.id, first[0].token, clock.now())


class GatedClaims(SqlClaims):
    """Claims whose `claim_outbox` holds its result until the test opens the gate, as if the
    claim had committed and the dispatcher were still waiting for the database's answer."""

    def __init__(self, store: SqlStore) -> None:
        super().__init__(store)
        self.claimed = asyncio.Event()  # set once a claim that found rows committed
        self.gate = asyncio.Event()

    async def claim_outbox(
        self, now: datetime, platforms: Sequence[str], limit: int, lease: float
    ) -> list[OutboxClaim]:
        """Claim as usual; hold a non-empty result until the gate opens."""
        claims = await super().claim_outbox(now, platforms, limit, lease)
        if claims:
            self.claimed.set()
            await self.gate.wait()
        return claims


async def test_stop_during_a_claim_still_delivers_the_claimed_rows(engine: AsyncEngine) -> None:
    """SIGTERM just after a command queued an announcement: the dispatcher is mid-claim (the
    rows are leased to it), and stopping must deliver them rather than abandon the lease."""
    service = real_service(engine)
    announcer = RecordingAnnouncer()
    assert isinstance(service.store, SqlStore)
    claims = GatedClaims(service.store)
    outbox = OutboxDispatcher(service, claims, [announcer], poll=60)  # type: ignore[list-item]
    service.on_outbox = outbox.wake
    await outbox.start()
    await create_market(service, soon(3600))
    async with asyncio.timeout(10):
        await claims.claimed.wait()
    stopping = asyncio.create_task(outbox.stop())
    await wait_for(lambda: outbox._stopping, within=5)
    claims.gate.set()
    async with asyncio.timeout(10):
        await stopping
    assert announcer.kinds() == ["created"]


class HeldAnnouncer(RecordingAnnouncer):
    """Records announcements; posting a `created` one waits until the test releases it."""

    def __init__(self) -> None:
        super().__init__()
        self.posting = asyncio.Event()
        self.release = asyncio.Event()

    async def announce(self, message: OutboxMessage, result: Result) -> str | None:
        """Hold `created` posts until released, then record as usual."""
        if message.kind == "created":
            self.posting.set()
            await self.release.wait()
        return await super().announce(message, result)


class CountedClaims(SqlClaims):
    """Claims that count finished `claim_outbox` calls, so a test can wait for the next one."""

    def __init__(self, store: SqlStore) -> None:
        super().__init__(store)
        self.calls = 0

    async def claim_outbox(
        self, now: datetime, platforms: Sequence[str], limit: int, lease: float
    ) -> list[OutboxClaim]:
        """Claim as usual and count the call."""
        try:
            return await super().claim_outbox(now, platforms, limit, lease)
        finally:
            self.calls += 1


async def test_drain_delivers_a_row_unblocked_while_draining(engine: AsyncEngine) -> None:
    """A market's `closed` waits for its `created`; if `created` is still being posted when the
    drain looks (and finds nothing else due), the drain must look again once it is posted."""
    service = real_service(engine)
    announcer = HeldAnnouncer()
    assert isinstance(service.store, SqlStore)
    claims = CountedClaims(service.store)
    outbox = OutboxDispatcher(service, claims, [announcer], post_interval={"console": 0})  # type: ignore[list-item]
    await create_market(service, soon(3600))
    await service.execute(grammar.parse("close 1"), ctx("al"))
    assert await outbox.claim_once() == 1  # `created`; `closed` waits behind it
    async with asyncio.timeout(10):
        await announcer.posting.wait()
    calls = claims.calls
    draining = asyncio.create_task(outbox.drain())
    await wait_for(lambda: claims.calls > calls, within=5)  # the drain's claim found nothing
    announcer.release.set()
    async with asyncio.timeout(10):
        await draining
    assert announcer.kinds() == ["created", "closed"]
