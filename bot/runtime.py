"""The composition root: one process, one asyncio loop, every platform and the scheduler.

Everything is wired here and nowhere else: the store on its engine, the service on the store,
the chat adapters on the service, and the outbox dispatcher and deadline scheduler on the
store's claims (`build_background`)."""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Protocol

from bot.core.errors import StartupError
from bot.core.ports import Announcer
from bot.core.service import Service
from bot.scheduling.dispatcher import OutboxDispatcher
from bot.scheduling.scheduler import Scheduler
from bot.settings import SchedulerSettings, Settings
from storage.claims import SqlClaims
from storage.engine import create_engine, migrate
from storage.store import SqlStore

log = logging.getLogger(__name__)


class SystemClock:
    """The real clock, timezone-aware UTC."""

    def now(self) -> datetime:
        """Return the current time."""
        return datetime.now(UTC)


class PlatformAdapter(Announcer, Protocol):
    """A chat platform served in this process."""

    async def start(self) -> None:
        """Connect and start serving; return once serving."""
        ...

    async def stop(self) -> None:
        """Disconnect and release resources."""
        ...


class Background(Protocol):
    """Something that runs beside the adapters (scheduler, outbox dispatcher)."""

    async def start(self) -> None:
        """Start running in the background."""
        ...

    async def stop(self) -> None:
        """Stop and wait for in-flight work."""
        ...


class Runtime:
    """Build and run predictbot: storage, service, adapters and scheduler."""

    def __init__(self, settings: Settings, clock: SystemClock | None = None) -> None:
        self.settings = settings
        self.clock = clock or SystemClock()
        self.engine = create_engine(settings.database.database_url)
        self.store = SqlStore(
            self.engine, defaults=settings.community.community_settings(), now=self.clock.now
        )
        self.service = Service(self.store, self.clock)
        self.adapters: list[PlatformAdapter] = []
        self.announcers: list[Announcer] = []  # announcers that are not chat adapters (console)
        self.background: list[Background] = []
        self._started: list[PlatformAdapter | Background] = []

    async def migrate(self) -> None:
        """Bring the database schema up to date."""
        await migrate(self.engine)

    def chat_adapters(self) -> list[PlatformAdapter]:
        """Build the adapters of every configured chat platform."""
        adapters: list[PlatformAdapter] = []
        if self.settings.discord.enabled:
            from bot.adapters.discord import DiscordAdapter

            adapters.append(DiscordAdapter(self.service, self.settings.discord))
        if self.settings.slack.enabled:
            from bot.adapters.slack import SlackAdapter

            adapters.append(SlackAdapter(self.service, self.settings.slack))
        return adapters

    def add_scheduler(self) -> None:
        """Add the deadline scheduler and the outbox dispatcher for the adapters."""
        self.background.extend(
            build_background(
                self.service,
                self.store,
                [*self.adapters, *self.announcers],
                self.settings.scheduler,
            )
        )

    async def start(self) -> None:
        """Migrate, then start adapters and background work.

        Whatever was (even partly) started is remembered, so `stop` cleans up after a start
        that failed or was cancelled half-way."""
        await self.migrate()
        for part in [*self.adapters, *self.background]:
            self._started.append(part)
            await part.start()

    async def stop(self) -> None:
        """Stop everything started, in reverse order: the scheduler, then the dispatcher
        (delivering what is pending while the adapters still run), then the adapters."""
        while self._started:
            part = self._started.pop()
            try:
                await part.stop()
            except Exception:  # the others must still stop, and the database be released
                log.exception("stopping %s failed", type(part).__name__)
        await self.engine.dispose()


def build_background(
    service: Service,
    store: SqlStore,
    adapters: Sequence[Announcer],
    settings: SchedulerSettings,
) -> list[Background]:
    """Build the outbox dispatcher and the deadline scheduler, and hook them to the service.

    Start them in the returned order and stop them in reverse: the scheduler stops first, then
    the dispatcher delivers what is pending (briefly) before it stops."""
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


SIGNALS = (signal.SIGINT, signal.SIGTERM)


async def serve(settings: Settings) -> int:
    """Run the chat adapters until SIGINT/SIGTERM; return the exit code.

    A signal during start-up stops at once too; a second signal while shutting down is
    handled the default way (it ends the process without waiting)."""
    runtime = Runtime(settings)
    runtime.adapters = runtime.chat_adapters()
    runtime.add_scheduler()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()

    def on_signal(sig: signal.Signals) -> None:
        log.info("%s received: shutting down", sig.name)
        stop.set()
        for each in SIGNALS:
            loop.remove_signal_handler(each)

    for sig in SIGNALS:
        loop.add_signal_handler(sig, on_signal, sig)
    starting = asyncio.create_task(runtime.start(), name="predictbot start")
    stopping = asyncio.create_task(stop.wait(), name="predictbot stop signal")
    code = 0
    try:
        await asyncio.wait({starting, stopping}, return_when=asyncio.FIRST_COMPLETED)
        if not starting.done():
            log.info("stopping before start-up finished")
            starting.cancel()
        try:
            await starting
        except asyncio.CancelledError:
            if not stop.is_set():
                raise
        except StartupError:  # said in one line by `predictbot`, after the cleanup below
            raise
        except Exception:
            log.exception("predictbot could not start")
            code = 1
        else:
            log.info(
                "predictbot running: %s", ", ".join(type(a).__name__ for a in runtime.adapters)
            )
            await stopping
    finally:
        stopping.cancel()
        await runtime.stop()
        for sig in SIGNALS:
            loop.remove_signal_handler(sig)
    log.info("predictbot stopped")
    return code
