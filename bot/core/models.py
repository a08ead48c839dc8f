"""Domain records the services work with; storage maps them to rows."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Literal, Protocol

from bot.core.commands import MICRO

Mechanism = Literal["lmsr", "pool"]
MarketStatus = Literal["open", "closed", "resolved", "cancelled"]
AccountKind = Literal["user", "house", "escrow"]

# Market.resolution value meaning "resolved N/A" (cancelled).
NA = -1

STATUSES: tuple[MarketStatus, ...] = ("open", "closed", "resolved", "cancelled")


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
