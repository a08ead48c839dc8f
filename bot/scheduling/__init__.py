"""Scheduled work beside the chat adapters: deadline timers, reminders and the outbox.

`build_background` wires them to a service: the dispatcher wakes (and the deadline jobs are
re-synchronised) whenever a command queues announcements, and both poll as a backstop.

Several processes may share one PostgreSQL database: markets and outbox rows are claimed with
`FOR UPDATE SKIP LOCKED` and leases, so each market is closed once and each announcement posted
once. On SQLite one bot process per database file is assumed.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from bot.core.ports import Announcer, Store
from bot.core.services import Service
from bot.scheduling.dispatcher import OutboxDispatcher
from bot.scheduling.scheduler import Scheduler
from bot.settings import SchedulerSettings

if TYPE_CHECKING:
    from bot.runtime import Background

__all__ = ["OutboxDispatcher", "Scheduler", "build_background"]


def build_background(
    service: Service,
    store: Store,
    adapters: Sequence[Announcer],
    settings: SchedulerSettings,
) -> list[Background]:
    """Build the outbox dispatcher and the deadline scheduler, and hook them to the service.

    Start them in the returned order and stop them in reverse: the scheduler stops first, then
    the dispatcher delivers what is pending (briefly) before it stops."""
    from storage.claims import SqlClaims
    from storage.sql_store import SqlStore

    if not isinstance(store, SqlStore):
        raise TypeError("the scheduler needs the SQL store (storage.sql_store.SqlStore)")
    claims = SqlClaims(store)
    dispatcher = OutboxDispatcher(
        service,
        claims,
        adapters,
        lease=settings.outbox_lease,
        max_attempts=settings.outbox_attempts,
        retry_base=settings.outbox_retry_base,
        poll=settings.outbox_poll,
        drain_timeout=settings.drain_timeout,
    )
    scheduler = Scheduler(
        service,
        store,
        claims,
        sweep_every=settings.sweep_every,
        remind_every=settings.remind_every,
        lease=settings.outbox_lease,
        on_queued=dispatcher.wake,
    )
    previous = service.on_outbox

    def on_outbox() -> None:
        if previous is not None:
            previous()
        dispatcher.wake()
        scheduler.poke()

    service.on_outbox = on_outbox
    return [dispatcher, scheduler]
