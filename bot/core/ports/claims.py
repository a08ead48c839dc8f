"""What the scheduler and the outbox dispatcher need from storage (`storage/claims/`)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from bot.core.models import Community, Market
from bot.core.ports.records import DueClose, MarketRef, OutboxMessage

# How the core turns a market due for a reminder into its payload, and plans a batch close.
ReminderPayload = Callable[[Market, Community, datetime], str]
ClosePlan = Callable[[Community, Sequence[Market], datetime], Sequence[DueClose]]


@dataclass(frozen=True, slots=True)
class OutboxClaim:
    """An outbox row claimed for delivery; `token` is the lease this process holds on it."""

    message: OutboxMessage
    token: datetime


@dataclass(frozen=True, slots=True)
class FailedMessage:
    """An announcement that was given up on."""

    id: int
    platform: str
    community: str
    kind: str
    channel: str | None
    attempts: int
    failed_at: datetime
    last_error: str | None


class Claims(Protocol):
    """Claims on scheduled work, safe with several processes on one PostgreSQL database."""

    async def claim_due_markets(self, now: datetime, limit: int, lease: float) -> list[MarketRef]:
        """Claim open markets past their deadline that no live claim holds."""
        ...

    async def close_due_batch(
        self,
        now: datetime,
        limit: int,
        plan: Callable[[Community, Sequence[Market], datetime], Sequence[DueClose]],
    ) -> list[DueClose]:
        """Lock up to `limit` open, due markets no other process holds, let `plan` decide how
        to close them, and write the whole batch in one transaction; return what was closed."""
        ...

    async def queue_reminders(
        self,
        now: datetime,
        every: float,
        limit: int,
        payload: Callable[[Market, Community, datetime], str],
    ) -> int:
        """Queue the due reminder rounds of up to `limit` closed markets in one transaction;
        return how many were queued."""
        ...

    async def reminder_candidates(self, now: datetime, every: float, limit: int) -> list[MarketRef]:
        """Return closed markets whose next resolution reminder is due."""
        ...

    async def queue_reminder(
        self,
        ref: MarketRef,
        now: datetime,
        every: float,
        payload: Callable[[Market, Community, datetime], str],
    ) -> bool:
        """Queue one reminder round for a market if still due; tell whether it did."""
        ...

    async def claim_outbox(
        self, now: datetime, platforms: Sequence[str], limit: int, lease: float
    ) -> list[OutboxClaim]:
        """Claim due, undelivered announcements of these platforms."""
        ...

    async def renew(self, message_id: int, token: datetime, until: datetime) -> bool:
        """Extend a lease; False if it was lost."""
        ...

    async def mark_delivered(self, message_id: int, token: datetime, now: datetime) -> bool:
        """Record a delivery."""
        ...

    async def retry_later(
        self, message_id: int, token: datetime, attempts: int, at: datetime, error: str
    ) -> bool:
        """Record a failed attempt and the time of the next one."""
        ...

    async def mark_failed(
        self,
        message: OutboxMessage,
        token: datetime,
        now: datetime,
        attempts: int,
        error: str,
        notice: tuple[str, str] | None,
    ) -> bool:
        """Give up on a row, queueing a notice (kind, payload) for moderators."""
        ...

    async def next_attempt_at(self, platforms: Sequence[str]) -> datetime | None:
        """Return when the earliest pending row may be tried."""
        ...
