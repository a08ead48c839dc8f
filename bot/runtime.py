"""The composition root: one process, one asyncio loop, every platform and the scheduler."""

from __future__ import annotations

import asyncio
import logging
import signal
from datetime import UTC, datetime
from typing import Protocol

from bot.core.ports import Announcer
from bot.core.services import Service
from bot.settings import Settings
from storage.engine import create_engine, migrate
from storage.sql_store import SqlStore

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
        from bot.scheduling import build_background

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
