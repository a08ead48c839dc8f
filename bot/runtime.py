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
        """Migrate, then start adapters and background work."""
        await self.migrate()
        for adapter in self.adapters:
            await adapter.start()
        for job in self.background:
            await job.start()

    async def stop(self) -> None:
        """Stop everything started, in reverse order."""
        for job in reversed(self.background):
            await job.stop()
        for adapter in reversed(self.adapters):
            await adapter.stop()
        await self.engine.dispose()


async def serve(settings: Settings) -> int:
    """Run the chat adapters until SIGINT/SIGTERM; return the exit code."""
    runtime = Runtime(settings)
    runtime.adapters = runtime.chat_adapters()
    runtime.add_scheduler()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await runtime.start()
    log.info("predictbot running: %s", ", ".join(type(a).__name__ for a in runtime.adapters))
    try:
        await stop.wait()
    finally:
        await runtime.stop()
    return 0
