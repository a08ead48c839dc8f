"""The repositories of one transaction, one per aggregate; none of them commits."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from bot.core.models import (
    Account,
    AnnouncementKind,
    CommunitySettings,
    EntryKind,
    Holding,
    Market,
    MarketStatus,
    Position,
    Trade,
    Transfer,
)
from bot.core.ports.records import BatchSummary, MarketDraft
from bot.core.views import FailedAnnouncement


class Accounts(Protocol):
    """Users' accounts in the transaction's community."""

    async def find(self, user_id: str) -> Account | None:
        """Return the user's account if it exists."""
        ...

    async def ensure(self, user_id: str, display_name: str) -> Account:
        """Return the user's account, creating it with the starting balance on first contact
        (in a read-only transaction a missing account raises `WriteRequired`)."""
        ...

    async def spend(
        self,
        user_id: str,
        display_name: str,
        to_account: int,
        amount: int,
        kind: EntryKind,
        *,
        market_id: int | None = None,
    ) -> tuple[Account, bool]:
        """Move points from a user's account to another unless it holds too few.

        The account is found (and renamed) or created with the starting balance, as by
        `ensure`. Returns it with its balance after the move, read in the same statement as
        the debit, and whether the points moved (False: refused, balance as is)."""
        ...

    async def balance(self, account_id: int) -> int:
        """Return an account's current balance (any kind of account)."""
        ...

    async def claim_daily(self, account_id: int, today: str) -> bool:
        """Mark today's allowance as taken; False if it already was."""
        ...

    async def users(self) -> list[Account]:
        """Return every user account of the community."""
        ...


class Ledger(Protocol):
    """Movements of points; every one is an entry from one account to another."""

    async def transfer(
        self,
        from_account: int,
        to_account: int,
        amount: int,
        kind: EntryKind,
        *,
        market_id: int | None = None,
        trade_id: int | None = None,
        batch: str | None = None,
        require_funds: bool = False,
    ) -> bool:
        """Move points; with require_funds, refuse (return False) rather than overdraw."""
        ...

    async def transfer_many(
        self, transfers: Sequence[Transfer], kind: EntryKind, market_id: int, batch: str
    ) -> None:
        """Move points in many pairs at once, set-based."""
        ...

    async def pay_per_share(self, market: Market, outcome: int, batch: str) -> None:
        """Pay every holder of an outcome one point per share from escrow, set-based."""
        ...

    async def pay_net_cost(self, market: Market, batch: str) -> None:
        """Pay every account its net cost on the market from escrow (`refund`), and take a
        negative net cost — sale profit — back in full (`clawback`), set-based."""
        ...

    async def reverse(
        self, market: Market, batch: str, kinds: Sequence[EntryKind], new_batch: str
    ) -> None:
        """Move every user's net amount of some kinds in a batch back to escrow (or from it,
        when negative) exactly, set-based."""
        ...

    async def summary(self, batch: str, top: int) -> BatchSummary:
        """Sum a batch's movements to and from user accounts."""
        ...

    async def debtors(self, batch: str) -> list[tuple[str, str, int]]:
        """Return (user id, display name, balance) of the users a batch moved points of whose
        balance is now below zero, deepest debt first."""
        ...


class Markets(Protocol):
    """The community's markets."""

    async def get(self, number: int, *, lock: bool = False) -> Market | None:
        """Return a market by its number, locked for update when asked."""
        ...

    async def with_status(
        self, statuses: Sequence[MarketStatus], limit: int, offset: int = 0
    ) -> list[Market]:
        """Return markets with one of the statuses, newest first: `limit` of them, after
        skipping the first `offset`."""
        ...

    async def count(self, statuses: Sequence[MarketStatus]) -> int:
        """Return how many markets have one of the statuses."""
        ...

    async def overdue(self, limit: int | None = None, offset: int = 0) -> list[Market]:
        """Return closed, unresolved markets, oldest deadline first (then by number): `limit`
        of them (None: all), after skipping the first `offset`. `count([CLOSED])` counts them."""
        ...

    async def add(self, draft: MarketDraft) -> Market:
        """Store a new market with the next number and its own escrow account."""
        ...

    async def save(self, market: Market) -> None:
        """Write a market's mutable fields back."""
        ...


class Positions(Protocol):
    """What each account holds in each market."""

    async def of(self, market_id: int, account_id: int) -> list[Position]:
        """Return an account's positions in a market."""
        ...

    async def of_accounts(self, market_id: int, account_ids: Sequence[int]) -> list[Position]:
        """Return the positions of some accounts in a market."""
        ...

    async def save(self, position: Position) -> None:
        """Insert or update a position."""
        ...

    async def holdings(
        self, account_id: int | None = None, *, limit: int | None = None, offset: int = 0
    ) -> list[Holding]:
        """Return positions with shares in unsettled markets (of one account, or all users),
        by market number then outcome: `limit` of them (None: all), after skipping `offset`."""
        ...

    async def count_holdings(self, account_id: int) -> int:
        """Return how many positions `holdings(account_id)` returns in all."""
        ...

    async def winning_stakes(self, market_id: int, outcome: int) -> list[tuple[int, int]]:
        """Return (account id, stake) of an outcome's stakers, earliest stake first."""
        ...


class Trades(Protocol):
    """Every buy and sell."""

    async def add(self, trade: Trade) -> int:
        """Store a trade and return its id."""
        ...

    async def after(self, market_id: int, when: datetime) -> list[Trade]:
        """Return the market's unvoided trades placed after a time, newest first."""
        ...

    async def void(self, trade_ids: Sequence[int]) -> None:
        """Mark trades as voided."""
        ...

    async def first_standing_buy(self, market_id: int, account_id: int, outcome: int) -> int | None:
        """Return the id of an account's earliest unvoided purchase of an outcome."""
        ...


class Requests(Protocol):
    """Platform request ids already handled, with their answers."""

    async def claim(self, request_id: str, user_id: str, command: str) -> str | None:
        """Record a request id; return the stored answer if it was seen before."""
        ...

    async def finish(self, request_id: str, result: str) -> None:
        """Store the answer to a claimed request."""
        ...


class Outbox(Protocol):
    """Announcements written with the state change they announce."""

    # How many announcements this transaction queued (the service wakes the dispatcher
    # after the commit when it is more than zero).
    queued: int

    async def add(
        self, kind: AnnouncementKind, market: Market | None, payload: str, dedupe_key: str
    ) -> None:
        """Queue an announcement in this transaction (ignored if the key exists)."""
        ...

    async def failed(self, limit: int) -> list[FailedAnnouncement]:
        """Return the community's announcements given up on, newest first."""
        ...

    async def count_failed(self) -> int:
        """Return how many of the community's announcements were given up on."""
        ...


class Communities(Protocol):
    """The transaction's community."""

    async def save_settings(self, settings: CommunitySettings) -> None:
        """Store the community's settings (the transaction's `community` shows them)."""
        ...
