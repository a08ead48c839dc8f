"""What the core needs from storage, typed as protocols (implemented in `storage/`)."""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from bot.core.models import (
    Account,
    Community,
    CommunitySettings,
    Holding,
    Market,
    Mechanism,
    Position,
    Trade,
    Transfer,
)
from bot.core.views import FailedAnnouncement, MarketCard, MarketClosed, Result


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

    kind: str
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


class Tx(Protocol):
    """One transaction on one community: everything commits together or not at all."""

    community: Community

    async def commit(self) -> None:
        """Commit everything done in this transaction."""
        ...

    async def claim_request(self, request_id: str, user_id: str, command: str) -> str | None:
        """Record a request id; return the stored answer if it was seen before."""
        ...

    async def finish_request(self, request_id: str, result: str) -> None:
        """Store the answer to a claimed request."""
        ...

    async def ensure_account(self, user_id: str, display_name: str) -> Account:
        """Return the user's account, creating it with the starting balance on first contact."""
        ...

    async def find_account(self, user_id: str) -> Account | None:
        """Return the user's account if it exists."""
        ...

    async def get_market(self, number: int, *, lock: bool = False) -> Market | None:
        """Return a market by its number, locked for update when asked."""
        ...

    async def list_markets(self, statuses: Sequence[str], limit: int) -> list[Market]:
        """Return markets with one of the statuses, newest first."""
        ...

    async def overdue_markets(self) -> list[Market]:
        """Return closed, unresolved markets, oldest deadline first."""
        ...

    async def create_market(self, draft: MarketDraft) -> Market:
        """Store a new market with the next number and its own escrow account."""
        ...

    async def save_market(self, market: Market) -> None:
        """Write a market's mutable fields back."""
        ...

    async def positions(self, market_id: int, account_id: int) -> list[Position]:
        """Return an account's positions in a market."""
        ...

    async def save_position(self, position: Position) -> None:
        """Insert or update a position."""
        ...

    async def add_trade(self, trade: Trade) -> int:
        """Store a trade and return its id."""
        ...

    async def transfer(
        self,
        from_account: int,
        to_account: int,
        amount: int,
        kind: str,
        *,
        market_id: int | None = None,
        trade_id: int | None = None,
        batch: str | None = None,
        require_funds: bool = False,
    ) -> bool:
        """Move points; with require_funds, refuse (return False) rather than overdraw."""
        ...

    async def spend(
        self,
        user_id: str,
        display_name: str,
        to_account: int,
        amount: int,
        kind: str,
        *,
        market_id: int | None = None,
    ) -> tuple[Account, bool]:
        """Move points from a user's account to another unless it holds too few.

        The account is found (and renamed) or created with the starting balance, as by
        `ensure_account`. Returns it with its balance after the move, read in the same
        statement as the debit, and whether the points moved (False: refused, balance as is)."""
        ...

    async def bulk_transfer(
        self, transfers: Sequence[Transfer], kind: str, market_id: int, batch: str
    ) -> None:
        """Move points in many pairs at once, set-based."""
        ...

    async def balance(self, account_id: int) -> int:
        """Return an account's current balance."""
        ...

    async def claim_daily(self, account_id: int, today: str) -> bool:
        """Mark today's allowance as taken; False if it already was."""
        ...

    async def holdings(self, account_id: int | None = None) -> list[Holding]:
        """Return positions with shares in unsettled markets (of one account, or all users)."""
        ...

    async def user_accounts(self) -> list[Account]:
        """Return every user account of the community."""
        ...

    async def trades_after(self, market_id: int, when: datetime) -> list[Trade]:
        """Return the market's unvoided trades placed after a time, newest first."""
        ...

    async def void_trades(self, trade_ids: Sequence[int]) -> None:
        """Mark trades as voided."""
        ...

    async def first_standing_buy(self, market_id: int, account_id: int, outcome: int) -> int | None:
        """Return the id of an account's earliest unvoided purchase of an outcome."""
        ...

    async def market_positions(self, market_id: int, account_ids: Sequence[int]) -> list[Position]:
        """Return the positions of some accounts in a market."""
        ...

    async def pay_winning_shares(self, market: Market, outcome: int, batch: str) -> None:
        """Pay every holder of the outcome one point per share from escrow, set-based."""
        ...

    async def winning_stakes(self, market_id: int, outcome: int) -> list[tuple[int, int]]:
        """Return (account id, stake) of an outcome's stakers, earliest stake first."""
        ...

    async def refund_net_spend(self, market: Market, batch: str) -> None:
        """Give every account back its net spend; claw back sale profit in full (into debt
        if need be)."""
        ...

    async def reverse_batch(
        self, market: Market, batch: str, kinds: Sequence[str], new_batch: str
    ) -> None:
        """Reverse every user's net movement of some kinds in a batch exactly (into debt if
        need be)."""
        ...

    async def debtors(self, batch: str) -> list[tuple[str, str, int]]:
        """Return (user id, display name, balance) of the users a batch moved points of whose
        balance is now below zero, deepest debt first."""
        ...

    async def sweep_escrow(self, market: Market, target: int, batch: str) -> None:
        """Move points between escrow and house so escrow holds exactly `target`."""
        ...

    async def batch_summary(self, batch: str, top: int) -> BatchSummary:
        """Sum a batch's movements to and from user accounts."""
        ...

    async def failed_announcements(self, limit: int) -> list[FailedAnnouncement]:
        """Return announcements given up on, newest first."""
        ...

    async def save_settings(self, settings: CommunitySettings) -> None:
        """Store the community's settings."""
        ...

    async def add_outbox(
        self, kind: str, market: Market | None, payload: str, dedupe_key: str
    ) -> None:
        """Queue an announcement in this transaction (ignored if the key exists)."""
        ...


class Announcer(Protocol):
    """A platform adapter's way of posting announcements and editing market cards."""

    platform: str

    async def announce(self, message: OutboxMessage, result: Result) -> str | None:
        """Post an announcement (for `created`, the market card); return the posted message's
        reference, or raise `DeliveryFailed`. Called at least once per message: the outbox
        dedupes, so this only needs to post."""
        ...

    async def refresh_card(self, card: MarketCard) -> None:
        """Edit a market's posted card in place to show its current state."""
        ...


class Store(Protocol):
    """Opens transactions; the unit of work of the service layer."""

    def transaction(
        self, platform: str, community: str, *, write: bool
    ) -> AbstractAsyncContextManager[Tx]:
        """Open a transaction on a community (created on first contact)."""
        ...

    async def due_markets(self, now: datetime, limit: int) -> list[MarketRef]:
        """Return open markets whose deadline has passed, across communities."""
        ...

    async def open_deadlines(self) -> list[MarketRef]:
        """Return every open market's deadline, for rebuilding timers."""
        ...
