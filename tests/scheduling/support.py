"""Announcers and helpers shared by the scheduling tests."""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.core import grammar
from bot.core.errors import DeliveryFailed
from bot.core.models import CommunitySettings
from bot.core.ports import OutboxMessage
from bot.core.service import Service
from bot.core.views import MarketCard, MarketCreated, Result
from storage.store import SqlStore
from tests.helpers import ctx

QUESTION = "Will the scheduler close this market on time?"
NO_MINIMUM = CommunitySettings(min_duration=0, moderators=("mod",))


class RealClock:
    """The wall clock (the scheduler's timers run on it)."""

    def now(self) -> datetime:
        """Return the current time."""
        return datetime.now(UTC)


def real_service(engine: AsyncEngine) -> Service:
    """Build a service on the wall clock that accepts deadlines a second away."""
    clock = RealClock()
    return Service(SqlStore(engine, defaults=NO_MINIMUM, now=clock.now), clock)


@dataclass
class Posted:
    """One successful announcement."""

    message: OutboxMessage
    result: Result
    at: float  # time.monotonic()


@dataclass
class RecordingAnnouncer:
    """An in-memory platform: records announcements, fails on demand."""

    platform: str = "console"
    posted: list[Posted] = field(default_factory=list)
    attempts: list[float] = field(default_factory=list)
    refreshed: list[MarketCard] = field(default_factory=list)
    failures: deque[DeliveryFailed] = field(default_factory=deque)

    async def announce(self, message: OutboxMessage, result: Result) -> str | None:
        """Record the announcement (or raise the next queued failure)."""
        self.attempts.append(time.monotonic())
        if self.failures:
            raise self.failures.popleft()
        self.posted.append(Posted(message, result, time.monotonic()))
        return f"ref-{message.id}"

    async def refresh_card(self, card: MarketCard) -> None:
        """Record the card edit."""
        self.refreshed.append(card)

    def kinds(self) -> list[str]:
        """Return the kinds posted, in order."""
        return [p.message.kind for p in self.posted]


class SlackPoster:
    """A minimal Slack announcer: `chat.postMessage` over HTTP, errors as `DeliveryFailed`."""

    platform = "console"

    def __init__(self, base_url: str, token: str = "xoxb-test-token") -> None:
        self.base_url = base_url
        self.token = token
        self._http: aiohttp.ClientSession | None = None

    async def close(self) -> None:
        """Close the HTTP session."""
        if self._http is not None:
            await self._http.close()

    async def announce(self, message: OutboxMessage, result: Result) -> str | None:
        """Post the announcement to the message's channel; return its ts."""
        if self._http is None:
            self._http = aiohttp.ClientSession()
        body = {
            "channel": message.channel or "general",
            "text": f"{message.kind}: {message.dedupe_key}",
            "metadata": {"event_type": "predictbot", "event_payload": {"key": message.dedupe_key}},
        }
        headers = {"Authorization": f"Bearer {self.token}"}
        async with self._http.post(
            f"{self.base_url}chat.postMessage", json=body, headers=headers
        ) as response:
            data: dict[str, Any] = await response.json()
            if response.status == 429:
                raise DeliveryFailed(
                    "ratelimited", retry_after=float(response.headers.get("Retry-After", "1"))
                )
            if response.status >= 500:
                raise DeliveryFailed(f"HTTP {response.status}")
            if not data.get("ok"):
                raise DeliveryFailed(str(data.get("error")), permanent=True)
            return str(data["ts"])

    async def refresh_card(self, card: MarketCard) -> None:
        """Cards are not edited in these tests."""


async def create_market(
    service: Service,
    closes: datetime | str,
    *,
    community: str = "test",
    channel: str = "chan",
    user: str = "al",
) -> int:
    """Create a market and return its number."""
    when = closes if isinstance(closes, str) else closes.isoformat()
    result = await service.execute(
        grammar.parse(f'create "{QUESTION}" closes:{when}'),
        ctx(user, community=community, channel=channel),
    )
    assert isinstance(result, MarketCreated)
    return result.card.number


async def rows(engine: AsyncEngine, sql: str, **params: object) -> list[Any]:
    """Run a query and return all rows."""
    async with engine.connect() as conn:
        return list((await conn.execute(text(sql), params)).all())


async def outbox_settled(engine: AsyncEngine) -> bool:
    """Tell whether every queued announcement has been delivered (or given up on)."""
    pending = await rows(
        engine, "SELECT count(*) FROM outbox WHERE delivered_at IS NULL AND failed_at IS NULL"
    )
    return bool(pending[0][0] == 0)


async def wait_for(predicate: Callable[[], Any], within: float = 10.0, every: float = 0.02) -> None:
    """Wait until `predicate()` (sync or async) is truthy."""
    deadline = time.monotonic() + within
    while True:
        value = predicate()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(every)


def soon(seconds: float) -> datetime:
    """Return a whole-second wall-clock time about `seconds` from now (deadlines are stored
    to the second), never less than `seconds - 1` away."""
    return (datetime.now(UTC) + timedelta(seconds=seconds)).replace(microsecond=0)
