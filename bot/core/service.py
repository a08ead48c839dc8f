"""The service entry point: run a command in one transaction, exactly once per request id.

What lives here is only what every command shares: the handler registry
(`bot.core.usecases.HANDLERS`), retries on transient conflicts, idempotent request ids, read
transactions for commands that change nothing, and what happens after a commit (the outbox
dispatcher's wake-up when the transaction queued announcements). The rules themselves are in
the use-case modules.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable, Sequence
from datetime import datetime

from bot.core import serialize, validation
from bot.core.commands import Command, ShowHelp, changes_state
from bot.core.errors import TransientConflict
from bot.core.help import help_text
from bot.core.models import Actor, Clock, Community, Context, Market, MarketStatus
from bot.core.ports import DueClose, Store, WriteRequired
from bot.core.usecases import HANDLERS, Request, markets
from bot.core.usecases._shared import card_of, trading_ended
from bot.core.views import HelpShown, MarketCard, MarketClosed, Result

RETRIES = 8
OPEN_MARKETS_SHOWN = 100
# Who closes markets at their deadline.
_SCHEDULER = Actor("predictbot", "predictbot")


class Service:
    """Run commands against the store: parse nothing, decide everything."""

    def __init__(self, store: Store, clock: Clock) -> None:
        self.store = store
        self.clock = clock
        # Called after a commit that queued announcements (the outbox dispatcher's wake-up).
        self.on_outbox: Callable[[], None] | None = None

    async def execute(self, command: Command, ctx: Context) -> Result:
        """Run one command for one user; a repeated request id returns the first answer."""
        ctx = validation.check_context(ctx)
        validation.check_command(command)
        if isinstance(command, ShowHelp):
            return HelpShown(help_text(command.command))
        for attempt in range(RETRIES):
            try:
                try:
                    return await self._run(command, ctx, write=changes_state(command))
                except WriteRequired:
                    # A read met a user's first contact: open their account, in a write.
                    return await self._run(command, ctx, write=True)
            except TransientConflict:
                if attempt == RETRIES - 1:
                    raise
                await asyncio.sleep(random.uniform(0.005, 0.05) * (attempt + 1))
        raise AssertionError("unreachable")

    async def _run(self, command: Command, ctx: Context, *, write: bool) -> Result:
        handler = HANDLERS[type(command)]
        idempotent = changes_state(command) and ctx.request_id is not None
        async with self.store.transaction(ctx.platform, ctx.community, write=write) as tx:
            if idempotent:
                assert ctx.request_id is not None
                earlier = await tx.requests.claim(
                    ctx.request_id, ctx.actor.user_id, type(command).__name__
                )
                if earlier is not None:
                    return serialize.loads(earlier)
            result = await handler(command, Request(tx, ctx, self.clock.now()))
            if idempotent:
                assert ctx.request_id is not None
                await tx.requests.finish(ctx.request_id, serialize.dumps(result))
            if write:
                await tx.commit()
            queued = tx.outbox.queued
        if queued:
            self.committed_announcements()
        return result

    def committed_announcements(self) -> None:
        """Tell the outbox dispatcher that committed announcements wait for delivery."""
        if self.on_outbox is not None:
            self.on_outbox()

    # -- for adapters and the scheduler ----------------------------------------------------

    async def card(self, platform: str, community: str, number: int) -> MarketCard | None:
        """Return a market's current card, or None if there is no such market."""
        if not validation.is_market_number(number):
            return None
        async with self.store.transaction(platform, community, write=False) as tx:
            market = await tx.markets.get(number)
            return None if market is None else card_of(market, tx.community)

    async def open_markets(self, platform: str, community: str) -> list[MarketCard]:
        """Return the open markets of a community, newest first."""
        async with self.store.transaction(platform, community, write=False) as tx:
            found = await tx.markets.with_status([MarketStatus.OPEN], OPEN_MARKETS_SHOWN)
            return [card_of(m, tx.community) for m in found]

    async def moderators(self, platform: str, community: str) -> tuple[str, ...]:
        """Return a community's configured moderators (user ids)."""
        async with self.store.transaction(platform, community, write=False) as tx:
            return tx.community.settings.moderators

    async def set_card_ref(self, platform: str, community: str, number: int, ref: str) -> None:
        """Remember where a market's card was posted, so it can be edited later."""
        async with self.store.transaction(platform, community, write=True) as tx:
            market = await tx.markets.get(number, lock=True)
            if market is not None:
                market.card_ref = ref
                await tx.markets.save(market)
                await tx.commit()

    async def close_due(self, platform: str, community: str, number: int) -> MarketClosed | None:
        """Close a market whose deadline has passed; do nothing if it is not due or not open."""
        ctx = Context(platform, community, _SCHEDULER)
        async with self.store.transaction(platform, community, write=True) as tx:
            result = await markets.close_if_due(Request(tx, ctx, self.clock.now()), number)
            if result is None:
                return None
            await tx.commit()
        self.committed_announcements()
        return result

    def close_due_batch(
        self, community: Community, due: Sequence[Market], now: datetime
    ) -> list[DueClose]:
        """Decide how to close a batch of locked, due markets of one community (no I/O)."""
        return markets.plan_due_closes(community, due, now)

    def reminder_payload(self, market: Market, community: Community, due_since: datetime) -> str:
        """Encode a closed market's resolution reminder (the scheduler queues it)."""
        return markets.reminder_payload(market, community, due_since)

    def trading_ended(
        self, number: int, status: str, closes_at: datetime, closed_at: datetime | None
    ) -> str | None:
        """Say why a market takes no more trades, or None while it does (buttons use this)."""
        return trading_ended(number, status, closes_at, closed_at, self.clock.now())
