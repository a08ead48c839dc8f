"""Plain values that cross the core's boundaries (storage, scheduler, outbox)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.core.models import AnnouncementKind, Market, Mechanism
from bot.core.views import MarketClosed


@dataclass(frozen=True, slots=True)
class MarketDraft:
    """A validated market about to be stored."""

    question: str
    criteria: str | None
    outcomes: tuple[str, ...]
    mechanism: Mechanism
    liquidity: int
    creator_account_id: int
    creator_user: str
    created_at: datetime
    closes_at: datetime
    channel: str | None
    creator_subsidy: int = 0


@dataclass(frozen=True, slots=True)
class BatchSummary:
    """Totals of the user-side movements in one settlement batch."""

    total: int  # net points received by users (negative for clawbacks)
    accounts: int
    top: tuple[tuple[str, str, int], ...]  # (user_id, display_name, net amount), largest first


@dataclass(frozen=True, slots=True)
class MarketRef:
    """A market's address across communities, for the scheduler."""

    platform: str
    community: str
    number: int
    closes_at: datetime


@dataclass(frozen=True, slots=True)
class Announcement:
    """An outbox row to queue: its kind, encoded payload and dedupe key."""

    kind: AnnouncementKind
    payload: str
    dedupe_key: str


@dataclass(frozen=True, slots=True)
class DueClose:
    """What to write for one market closed at its deadline: the market with its new status
    and `closed_at`, the result announced, and the announcements to queue, in order."""

    market: Market
    result: MarketClosed
    announcements: tuple[Announcement, ...]


@dataclass(frozen=True, slots=True)
class OutboxMessage:
    """An announcement waiting to be delivered."""

    id: int
    platform: str
    community: str
    kind: str
    channel: str | None
    payload: str
    dedupe_key: str
    attempts: int
