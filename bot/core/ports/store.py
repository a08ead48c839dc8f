"""The unit of work: a store opens transactions, one per command, on one community."""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from datetime import datetime
from typing import Protocol

from bot.core.models import Community
from bot.core.ports.records import MarketRef, OutboxMessage
from bot.core.ports.repositories import (
    Accounts,
    Communities,
    Ledger,
    Markets,
    Outbox,
    Positions,
    Requests,
    Trades,
)
from bot.core.views import MarketCard, Result


class WriteRequired(Exception):
    """A read-only transaction was asked to write (a user's first contact opens their
    account); the service runs the command again in a writing transaction."""


class Tx(Protocol):
    """One transaction on one community: everything commits together or not at all; leaving
    it without `commit` rolls everything back."""

    community: Community

    @property
    def accounts(self) -> Accounts:
        """Users' accounts."""
        ...

    @property
    def ledger(self) -> Ledger:
        """Movements of points."""
        ...

    @property
    def markets(self) -> Markets:
        """The community's markets."""
        ...

    @property
    def positions(self) -> Positions:
        """What each account holds."""
        ...

    @property
    def trades(self) -> Trades:
        """Every buy and sell."""
        ...

    @property
    def requests(self) -> Requests:
        """Request ids already handled."""
        ...

    @property
    def outbox(self) -> Outbox:
        """Announcements queued with the change."""
        ...

    @property
    def communities(self) -> Communities:
        """The community's settings."""
        ...

    async def commit(self) -> None:
        """Commit everything done in this transaction."""
        ...


class Store(Protocol):
    """Opens transactions; the unit of work of the service layer."""

    def transaction(
        self, platform: str, community: str, *, write: bool
    ) -> AbstractAsyncContextManager[Tx]:
        """Open a transaction on a community (created on first contact); a read-only one
        (`write=False`) takes no write lock."""
        ...

    async def due_markets(self, now: datetime, limit: int) -> list[MarketRef]:
        """Return open markets whose deadline has passed, across communities."""
        ...

    async def open_deadlines(self) -> list[MarketRef]:
        """Return every open market's deadline, for rebuilding timers."""
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
