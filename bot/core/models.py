"""The domain model: communities, accounts, markets and their trades.

A market's status changes only through its own methods (`close`, `extend`, `resolve`,
`cancel`, `unresolve`); storage maps these records to rows and back.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from typing import Literal, Protocol

from bot.core.money import MICRO


class MarketStatus(StrEnum):
    """Where a market is in its life: open → closed → resolved or cancelled."""

    OPEN = "open"
    CLOSED = "closed"
    RESOLVED = "resolved"
    CANCELLED = "cancelled"


class Mechanism(StrEnum):
    """How a market prices its outcomes."""

    LMSR = "lmsr"
    POOL = "pool"


class AccountKind(StrEnum):
    """Who holds an account's points."""

    USER = "user"
    HOUSE = "house"
    ESCROW = "escrow"


class EntryKind(StrEnum):
    """Why points moved (a ledger entry's kind)."""

    GRANT = "grant"  # the starting balance
    DAILY = "daily"
    SUBSIDY = "subsidy"  # house or creator → escrow, at creation
    BET = "bet"
    SELL = "sell"
    PAYOUT = "payout"
    REFUND = "refund"
    CLAWBACK = "clawback"  # sale profit taken back by a cancel
    RETURN = "return"  # the creator's share of what the subsidy did not lose
    SWEEP = "sweep"  # escrow ↔ house at settlement
    VOID = "void"  # a user's trades after known-at, reversed as one unit
    REVERSE = "reverse"  # an unresolve taking a settlement back


# The kinds that reverse earlier movements: the only ones that may put a user into debt.
REVERSALS = frozenset({EntryKind.VOID, EntryKind.CLAWBACK, EntryKind.REVERSE})


class AnnouncementKind(StrEnum):
    """What an outbox row announces."""

    CREATED = "created"  # the market card
    CLOSED = "closed"
    EXTENDED = "extended"
    RESOLVED = "resolved"
    CANCELLED = "cancelled"
    UNRESOLVED = "unresolved"
    REMINDER = "reminder"  # a resolution reminder
    FAILED = "failed"  # a notice that an announcement could not be delivered


# Market.resolution value meaning "resolved N/A" (cancelled).
NA = -1

STATUSES: tuple[MarketStatus, ...] = tuple(MarketStatus)
UNSETTLED = (MarketStatus.OPEN, MarketStatus.CLOSED)
SETTLED = (MarketStatus.RESOLVED, MarketStatus.CANCELLED)


class Clock(Protocol):
    """Tell the current time, timezone-aware UTC."""

    def now(self) -> datetime: ...


@dataclass(frozen=True, slots=True)
class CommunitySettings:
    """Per-community configuration; amounts in micro-points."""

    starting_balance: int = 1000 * MICRO
    daily_allowance: int = 50 * MICRO
    default_liquidity: int = 100 * MICRO
    # The liquidity b up to which the house funds anyone's market (None: default_liquidity),
    # and up to which it funds a moderator's; beyond it the creator funds the rest.
    house_liquidity: int | None = None
    moderator_liquidity: int = 1000 * MICRO
    timezone: str = "UTC"
    moderator_roles: tuple[str, ...] = ()
    moderators: tuple[str, ...] = ()
    announce_channel: str | None = None
    create_policy: Literal["anyone", "moderators"] = "anyone"
    min_duration: int = 60  # seconds
    # How numeric dates are read: 05/06/2027 is 5 June (dmy) or May 6 (mdy); ymd refuses it.
    date_order: Literal["dmy", "mdy", "ymd"] = "dmy"

    @property
    def house_funded_liquidity(self) -> int:
        """The liquidity b up to which the house funds anyone's market."""
        return self.default_liquidity if self.house_liquidity is None else self.house_liquidity

    def with_changes(self, **changes: object) -> CommunitySettings:
        """Return a copy with some fields replaced."""
        return replace(self, **changes)  # type: ignore[arg-type]


@dataclass(frozen=True, slots=True)
class Community:
    """One Discord guild, Slack workspace or console database."""

    id: int
    platform: str
    external_id: str
    settings: CommunitySettings
    house_account_id: int


@dataclass(slots=True)
class Account:
    """A holder of points: a user, the house or a market's escrow."""

    id: int
    community_id: int
    kind: AccountKind
    user_id: str | None
    display_name: str
    balance: int
    last_daily: str | None = None


@dataclass(slots=True)
class Market:
    """A question with outcomes that people trade on."""

    id: int
    community_id: int
    number: int
    question: str
    criteria: str | None
    outcomes: tuple[str, ...]
    mechanism: Mechanism
    liquidity: int
    creator_account_id: int
    creator_user: str
    created_at: datetime
    closes_at: datetime
    status: MarketStatus
    escrow_account_id: int
    q: list[int] = field(default_factory=list)
    volume: int = 0
    traders: int = 0
    channel: str | None = None
    card_ref: str | None = None
    closed_at: datetime | None = None
    resolved_at: datetime | None = None
    resolution: int | None = None
    evidence: str | None = None
    known_at: datetime | None = None
    settlement: int = 0
    escrow_before: int = 0
    creator_subsidy: int = 0  # the part of the LMSR subsidy the creator funded

    # -- status transitions: the only code that sets `status` ---------------------------

    def close(self, now: datetime, *, late: bool = False) -> None:
        """Stop trading: now, or at the deadline when closed late (the bot was down)."""
        self.status = MarketStatus.CLOSED
        self.closed_at = min(now, self.closes_at) if late else now

    def extend(self, closes_at: datetime) -> None:
        """Move the deadline later, reopening a closed market."""
        self.closes_at = closes_at
        self.status = MarketStatus.OPEN
        self.closed_at = None

    def open_settlement(self) -> str:
        """Start a new settlement; return the ledger batch its movements carry."""
        self.settlement += 1
        return self.settlement_batch

    @property
    def settlement_batch(self) -> str:
        """The ledger batch of the current (latest) settlement."""
        return f"m{self.id}.s{self.settlement}"

    @property
    def undo_batch(self) -> str:
        """The ledger batch that takes the current settlement back."""
        return f"m{self.id}.u{self.settlement}"

    def resolve(self, outcome: int, evidence: str | None, now: datetime) -> None:
        """Record the winning outcome."""
        self._settle(MarketStatus.RESOLVED, outcome, evidence, now)

    def cancel(self, now: datetime) -> None:
        """Record the market as N/A."""
        self._settle(MarketStatus.CANCELLED, NA, None, now)

    def _settle(
        self, status: MarketStatus, resolution: int, evidence: str | None, now: datetime
    ) -> None:
        self.status = status
        self.resolution = resolution
        self.evidence = evidence
        self.resolved_at = now
        if self.closed_at is None:
            self.closed_at = min(now, self.closes_at)

    def unresolve(self) -> None:
        """Take the resolution back: closed again, awaiting a new one."""
        self.status = MarketStatus.CLOSED
        self.resolution = None
        self.evidence = None
        self.resolved_at = None
        self.known_at = None

    @property
    def settled(self) -> bool:
        """Tell whether the market is resolved or cancelled."""
        return self.status in SETTLED


@dataclass(slots=True)
class Position:
    """Shares and net cost of one account in one outcome of one market."""

    market_id: int
    account_id: int
    outcome: int
    shares: int = 0
    net_cost: int = 0
    first_trade_id: int | None = None
    id: int | None = None


@dataclass(frozen=True, slots=True)
class Trade:
    """A buy or sell of one outcome by one account."""

    market_id: int
    account_id: int
    outcome: int
    side: Literal["buy", "sell"]
    amount: int
    shares: int
    prob_before: int  # parts per million
    prob_after: int
    created_at: datetime
    request_id: str | None
    id: int | None = None
    # Every outcome's probability just after the trade, in parts per million (the history the
    # scores and charts read).
    probs: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class Holding:
    """A user's position joined with its market, for portfolios and net worth."""

    market: Market
    position: Position


@dataclass(frozen=True, slots=True)
class Transfer:
    """A movement of points between two accounts, for bulk settlement."""

    from_account: int
    to_account: int
    amount: int


@dataclass(frozen=True, slots=True)
class Actor:
    """The user behind a request, as the platform describes them."""

    user_id: str
    display_name: str
    is_moderator: bool = False  # platform-level: Manage Server, workspace admin, --moderator
    roles: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Context:
    """Where a request came from and who sent it."""

    platform: str
    community: str
    actor: Actor
    request_id: str | None = None
    channel: str | None = None
