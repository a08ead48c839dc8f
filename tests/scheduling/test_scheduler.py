"""Deadlines, catch-up, reminders and the overdue list, on SQLite and PostgreSQL."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.core import grammar, serialize
from bot.core.errors import NotAllowed
from bot.core.service import Service
from bot.core.text import render
from bot.core.views import MarketClosed, OverdueShown, ResolutionReminder
from bot.runtime import build_background
from bot.scheduling.dispatcher import OutboxDispatcher
from bot.scheduling.scheduler import Scheduler
from bot.settings import SchedulerSettings
from storage.claims import SqlClaims
from storage.store import SqlStore
from tests.helpers import FakeClock, ctx, make_service
from tests.scheduling.support import (
    NO_MINIMUM,
    RecordingAnnouncer,
    create_market,
    real_service,
    rows,
    soon,
    wait_for,
)

DAY = 86400.0


def wire(
    service: Service, announcer: RecordingAnnouncer, **dispatcher: float
) -> tuple[OutboxDispatcher, Scheduler]:
    """Build a dispatcher and a scheduler on the service's store, woken like in production."""
    assert isinstance(service.store, SqlStore)
    claims = SqlClaims(service.store)
    outbox = OutboxDispatcher(service, claims, [announcer], **dispatcher)  # type: ignore[arg-type]
    scheduler = Scheduler(
        service,
        service.store,
        claims,
        sweep_every=30,
        remind_every=3 * DAY,
        on_queued=outbox.wake,
    )

    def on_outbox() -> None:
        outbox.wake()
        scheduler.poke()

    service.on_outbox = on_outbox
    return outbox, scheduler


async def test_closes_on_time_end_to_end(engine: AsyncEngine) -> None:
    service = real_service(engine)
    announcer = RecordingAnnouncer()
    background = build_background(service, service.store, [announcer], SchedulerSettings())
    for job in background:
        await job.start()
    try:
        deadline = soon(2)
        await create_market(service, deadline)
        await wait_for(lambda: "closed" in announcer.kinds(), within=6)
        closed_at = datetime.now(UTC)
        await wait_for(lambda: "reminder" in announcer.kinds(), within=3)
    finally:
        for job in reversed(background):
            await job.stop()
    assert announcer.kinds() == ["created", "closed", "reminder"]
    assert timedelta(0) <= closed_at - deadline < timedelta(seconds=1)
    result = announcer.posted[1].result
    assert isinstance(result, MarketClosed) and not result.late
    assert result.card.closed_at is not None
    assert timedelta(0) <= result.card.closed_at - deadline < timedelta(seconds=1)
    assert set(result.resolvers) == {"al", "mod"}
    reminder = announcer.posted[2].result
    assert isinstance(reminder, ResolutionReminder)
    assert reminder.resolvers == ("al", "mod") and reminder.card.status == "closed"
    # The created card's reference was stored, and the card was edited when it closed.
    card = await service.card("console", "test", 1)
    assert card is not None and card.card_ref == f"ref-{announcer.posted[0].message.id}"
    assert [c.status for c in announcer.refreshed] == ["closed"]


async def test_extended_market_is_rescheduled(engine: AsyncEngine) -> None:
    service = real_service(engine)
    announcer = RecordingAnnouncer()
    outbox, scheduler = wire(service, announcer)
    await outbox.start()
    await scheduler.start()
    try:
        first = soon(2)
        await create_market(service, first)
        later = first + timedelta(seconds=1)
        await service.execute(grammar.parse(f"extend 1 closes:{later.isoformat()}"), ctx("al"))
        await wait_for(lambda: "closed" in announcer.kinds(), within=6)
        closed_at = datetime.now(UTC)
    finally:
        await scheduler.stop()
        await outbox.stop()
    assert later <= closed_at < later + timedelta(seconds=1)
    assert announcer.kinds()[:3] == ["created", "extended", "closed"]


async def test_catch_up_after_downtime(engine: AsyncEngine, clock: FakeClock) -> None:
    service = make_service(engine, clock, NO_MINIMUM)
    await create_market(service, "2026-03-02T13:00:00")
    await create_market(service, "2026-03-05T13:00:00")
    clock.advance(hours=5)  # the bot was down past the first deadline
    announcer = RecordingAnnouncer()
    outbox, scheduler = wire(service, announcer)
    await outbox.start()
    await scheduler.start()
    try:
        await wait_for(lambda: "closed" in announcer.kinds())
    finally:
        # Stopping waits for the closer and delivers what is queued, so a wrong second close
        # would be counted below.
        await scheduler.stop()
        await outbox.stop()
    closed = [p.result for p in announcer.posted if p.message.kind == "closed"]
    assert len(closed) == 1
    assert isinstance(closed[0], MarketClosed) and closed[0].late
    assert closed[0].card.number == 1
    # Closed at its deadline, not when the bot came back.
    assert closed[0].card.closed_at == datetime(2026, 3, 2, 13, 0, tzinfo=UTC)
    assert "offline" in render(closed[0])
    card = await service.card("console", "test", 2)
    assert card is not None and card.status == "open"


async def test_close_is_idempotent(engine: AsyncEngine, clock: FakeClock) -> None:
    service = make_service(engine, clock, NO_MINIMUM)
    await create_market(service, "2026-03-02T13:00:00")
    clock.advance(hours=2)
    _, scheduler = wire(service, RecordingAnnouncer())
    assert await scheduler.close_due_now() == 1
    assert await scheduler.close_due_now() == 0
    assert await service.close_due("console", "test", 1) is None
    closed = await rows(engine, "SELECT count(*) FROM outbox WHERE kind = 'closed'")
    assert closed[0][0] == 1


async def test_reminders_and_overdue_list(engine: AsyncEngine, clock: FakeClock) -> None:
    service = make_service(engine, clock, NO_MINIMUM)
    await create_market(service, "2026-03-02T14:00:00", user="al")
    await create_market(service, "2026-03-02T13:00:00", user="bo")
    await create_market(service, "2026-03-09T13:00:00", user="cy")
    clock.advance(hours=3)
    _, scheduler = wire(service, RecordingAnnouncer())
    assert await scheduler.close_due_now() == 2
    assert await scheduler.remind() == 2  # one reminder as each closes
    assert await scheduler.remind() == 0  # deduped within a round
    clock.advance(days=2)
    assert await scheduler.remind() == 0
    clock.advance(days=1, minutes=1)
    assert await scheduler.remind() == 2  # again after REMIND_EVERY
    await service.execute(grammar.parse("resolve 2 yes"), ctx("mod", moderator=True))
    clock.advance(days=3, minutes=1)
    assert await scheduler.remind() == 1  # resolved markets are left alone

    reminders = await rows(
        engine,
        "SELECT m.number, o.dedupe_key, o.payload_json FROM outbox o "
        "JOIN market m ON m.id = o.market_id WHERE o.kind = 'reminder' ORDER BY o.id",
    )
    assert [r[0] for r in reminders] == [2, 1, 2, 1, 1]
    assert len({r[1] for r in reminders}) == 5
    first = serialize.loads(reminders[0][2])
    assert isinstance(first, ResolutionReminder)
    assert first.resolvers == ("bo", "mod")
    assert first.due_since == datetime(2026, 3, 2, 13, 0, tzinfo=UTC)

    overdue = await service.execute(grammar.parse("overdue"), ctx("mod", moderator=True))
    assert isinstance(overdue, OverdueShown)
    assert [c.number for c in overdue.cards] == [1]
    # Oldest first, and moderators only.
    await service.execute(grammar.parse("unresolve 2"), ctx("mod", moderator=True))
    overdue = await service.execute(grammar.parse("overdue"), ctx("mod", moderator=True))
    assert isinstance(overdue, OverdueShown)
    assert [c.number for c in overdue.cards] == [2, 1]
    try:
        await service.execute(grammar.parse("overdue"), ctx("al"))
    except NotAllowed:
        pass
    else:
        raise AssertionError("overdue is for moderators")


async def test_extend_after_close_stops_reminders(engine: AsyncEngine, clock: FakeClock) -> None:
    service = make_service(engine, clock, NO_MINIMUM)
    await create_market(service, "2026-03-02T13:00:00")
    clock.advance(hours=2)
    _, scheduler = wire(service, RecordingAnnouncer())
    await scheduler.close_due_now()
    assert await scheduler.remind() == 1
    await service.execute(grammar.parse("extend 1 closes:2026-03-04T13:00:00"), ctx("al"))
    clock.advance(days=3, hours=1)
    assert await scheduler.remind() == 0  # open again: nothing to resolve yet
    assert await scheduler.close_due_now() == 1
    assert await scheduler.remind() == 1  # closed again: a fresh first reminder


async def _closed_rows(engine: AsyncEngine, community: str) -> dict[int, list[Any]]:
    found = await rows(
        engine,
        "SELECT m.number, o.kind, o.dedupe_key, o.channel, o.payload_json, o.id, m.id,"
        " m.status, m.closed_at FROM outbox o JOIN market m ON m.id = o.market_id"
        " JOIN community c ON c.id = m.community_id"
        " WHERE c.external_id = :c AND o.kind IN ('closed', 'reminder') ORDER BY o.id",
        c=community,
    )
    by_number: dict[int, list[Any]] = {}
    for r in found:
        by_number.setdefault(r[0], []).append(r)
    return by_number


async def test_batch_close_writes_what_close_due_writes(
    engine: AsyncEngine, clock: FakeClock
) -> None:
    service = make_service(engine, clock, NO_MINIMUM)
    for community in ("one", "batch"):
        await create_market(service, "2026-03-02T13:00:00", community=community, user="al")
        await create_market(service, "2026-03-02T14:30:00", community=community, user="bo")
    for _ in range(5):
        await create_market(service, "2026-03-02T14:00:00", community="batch", user="cy")
    await create_market(service, "2026-03-02T15:00:00", community="batch")  # not due
    clock.current = datetime(2026, 3, 2, 14, 30, 30, tzinfo=UTC)
    for number in (1, 2):  # the reference: one transaction per market
        assert await service.close_due("console", "one", number) is not None
    _, scheduler = wire(service, RecordingAnnouncer())
    scheduler.batch = 3
    assert await scheduler.close_due_now() == 7  # three batches
    assert await scheduler.close_due_now() == 0
    assert await scheduler.remind() == 9
    assert await scheduler.remind() == 0

    one, batch = await _closed_rows(engine, "one"), await _closed_rows(engine, "batch")
    assert sorted(batch) == [1, 2, 3, 4, 5, 6, 7]
    for number in (1, 2):
        for ours, theirs in zip(batch[number], one[number], strict=True):
            assert ours[1] == theirs[1] and ours[3] == theirs[3]  # kind, channel
            assert ours[2] == theirs[2].replace(f"m{theirs[6]}:", f"m{ours[6]}:", 1)
            assert ours[7:] == theirs[7:]  # status, closed_at
            mine, reference = serialize.loads(ours[4]), serialize.loads(theirs[4])
            assert mine == replace(reference, card=replace(reference.card, community="batch"))
    closed = serialize.loads(batch[1][0][4])
    assert isinstance(closed, MarketClosed) and closed.late and closed.automatic
    assert closed.card.closed_at == datetime(2026, 3, 2, 13, 0, tzinfo=UTC)
    assert closed.resolvers == ("al", "mod")
    on_time = serialize.loads(batch[2][0][4])
    assert isinstance(on_time, MarketClosed) and not on_time.late
    assert on_time.card.closed_at == clock.now()
    for found in batch.values():  # each closed once, then reminded once, in that order
        assert [r[1] for r in found] == ["closed", "reminder"]
    card = await service.card("console", "batch", 8)
    assert card is not None and card.status == "open"


async def test_failed_batch_falls_back_to_one_at_a_time(
    engine: AsyncEngine, clock: FakeClock
) -> None:
    service = make_service(engine, clock, NO_MINIMUM)
    for _ in range(3):
        await create_market(service, "2026-03-02T13:00:00")
    clock.advance(hours=2)
    _, scheduler = wire(service, RecordingAnnouncer())

    def broken(*args: object) -> list[Any]:
        raise RuntimeError("planning failed")

    service.close_due_batch = broken  # type: ignore[method-assign]
    assert await scheduler.close_due_now() == 3
    closed = await rows(engine, "SELECT count(*) FROM outbox WHERE kind = 'closed'")
    assert closed[0][0] == 3
