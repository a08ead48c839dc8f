"""A bot process for the multi-process tests: the real Runtime with an HTTP announcer.

Run as `python -m tests.scheduling.worker`; settings come from the environment like the bot's
(DATABASE_URL, SWEEP_EVERY, OUTBOX_LEASE, ...), and RECORDER_URL names the test's recorder.
Prints `ready` once started; stops cleanly on SIGTERM.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys

import aiohttp

from bot.core.errors import DeliveryFailed
from bot.core.ports import OutboxMessage
from bot.core.views import MarketCard, Result
from bot.runtime import Runtime
from bot.settings import Settings


class HttpAnnouncer:
    """Post each announcement's dedupe key to the recorder; anything but 200 is a failure."""

    platform = "console"

    def __init__(self, url: str) -> None:
        self.url = url
        self.http: aiohttp.ClientSession | None = None

    async def start(self) -> None:
        """Open the HTTP session."""
        self.http = aiohttp.ClientSession()

    async def stop(self) -> None:
        """Close the HTTP session."""
        if self.http is not None:
            await self.http.close()

    async def announce(self, message: OutboxMessage, result: Result) -> str | None:
        """Post the announcement to the recorder."""
        assert self.http is not None
        body = {"key": message.dedupe_key, "kind": message.kind, "pid": os.getpid()}
        try:
            async with self.http.post(self.url, json=body) as response:
                if response.status != 200:
                    raise DeliveryFailed(f"HTTP {response.status}")
                return str((await response.json())["ref"])
        except aiohttp.ClientError as error:
            raise DeliveryFailed(str(error)) from error

    async def refresh_card(self, card: MarketCard) -> None:
        """Cards are not edited here."""


async def main() -> int:
    """Run until SIGTERM."""
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    runtime = Runtime(Settings())
    runtime.adapters = [HttpAnnouncer(os.environ["RECORDER_URL"])]
    runtime.add_scheduler()
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    await runtime.start()
    print("ready", flush=True)
    await stop.wait()
    await runtime.stop()
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
