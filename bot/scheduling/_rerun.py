"""Run a coroutine in the background on request, merging requests that arrive while it runs."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

log = logging.getLogger(__name__)


class Rerun:
    """Run `work()` after `trigger()`; triggers during a run cause exactly one more run.

    With a `delay`, a run starts that long after the first trigger, so a burst of triggers
    (a thousand markets closing) costs one run instead of hundreds."""

    def __init__(
        self, name: str, work: Callable[[], Awaitable[object]], delay: float = 0.0
    ) -> None:
        self.name = name
        self.work = work
        self.delay = delay
        self._task: asyncio.Task[None] | None = None
        self._again = False

    def trigger(self) -> None:
        """Ask for a run soon (call from the event loop)."""
        if self._task is not None and not self._task.done():
            self._again = True
            return
        self._again = False
        self._task = asyncio.get_running_loop().create_task(self._loop(), name=self.name)

    async def _loop(self) -> None:
        while True:
            if self.delay:
                await asyncio.sleep(self.delay)
                self._again = False
            try:
                await self.work()
            except asyncio.CancelledError:
                raise
            except Exception:  # keep the timer alive: the next trigger or sweep retries
                log.exception("%s failed", self.name)
            if not self._again:
                return
            self._again = False

    async def idle(self) -> None:
        """Wait until no run is in progress or pending."""
        while self._task is not None and not self._task.done():
            await asyncio.shield(self._task)

    async def cancel(self) -> None:
        """Stop a run in progress."""
        if self._task is not None and not self._task.done():
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self._task = None
