"""Coalesce bursts of card refreshes: at most one edit per card every few seconds."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Hashable

log = logging.getLogger(__name__)


class Coalescer:
    """Run `action(key)` soon after `touch(key)`, at most once per `interval` seconds per key.

    A burst of touches becomes one call at the start (if the key was idle) and one at the end,
    so the last state always lands."""

    def __init__(
        self, action: Callable[[Hashable], Awaitable[None]], interval: float = 3.0
    ) -> None:
        self.action = action
        self.interval = interval
        self._last: dict[Hashable, float] = {}
        self._pending: dict[Hashable, asyncio.Task[None]] = {}
        self._tasks: set[asyncio.Task[None]] = set()  # pending or running

    def touch(self, key: Hashable) -> None:
        """Ask for `action(key)` to run; merged with other requests in the same window."""
        if key in self._pending:
            return
        wait = max(0.0, self._last.get(key, 0.0) + self.interval - time.monotonic())
        task = asyncio.get_running_loop().create_task(self._run(key, wait))
        self._pending[key] = task
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run(self, key: Hashable, wait: float) -> None:
        try:
            if wait:
                await asyncio.sleep(wait)
        finally:
            self._pending.pop(key, None)
        self._last[key] = time.monotonic()
        try:
            await self.action(key)
        except Exception:  # a failed edit must not kill the loop; the next touch retries
            log.exception("card refresh for %r failed", key)

    async def flush(self) -> None:
        """Wait for every pending or running action (used at shutdown and in tests)."""
        while self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    def close(self) -> None:
        """Cancel pending actions."""
        for task in self._pending.values():
            task.cancel()
        self._pending.clear()
