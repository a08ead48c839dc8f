"""What every listener shares: who is asking, running commands, replying, follow-up edits."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.adapters.cards import Coalescer
from bot.adapters.inflight import InFlight
from bot.adapters.slack import blocks, forms
from bot.core.commands import Command, ListMarkets, ShowPortfolio
from bot.core.errors import PredictError
from bot.core.models import Actor, Context
from bot.core.service import Service
from bot.core.views import (
    BetPlaced,
    DailyClaimed,
    MarketCancelled,
    MarketCard,
    MarketClosed,
    MarketExtended,
    MarketList,
    MarketResolved,
    MarketUnresolved,
    PortfolioShown,
    Result,
    SharesSold,
)

log = logging.getLogger(__name__)

PLATFORM = "slack"
GENERIC_FAILURE = "Something went wrong; nothing was changed."

Reply = Callable[[str, list[blocks.Block] | None], Awaitable[None]]

# Results after which the market's posted card shows stale numbers.
_CARD_CHANGES = (
    BetPlaced,
    SharesSold,
    MarketClosed,
    MarketExtended,
    MarketResolved,
    MarketCancelled,
    MarketUnresolved,
)
# Results after which the acting user's App Home shows stale numbers.
_HOME_CHANGES = (BetPlaced, SharesSold, DailyClaimed)


@dataclass(frozen=True, slots=True)
class Person:
    """What Slack tells us about a user."""

    user_id: str
    display_name: str
    is_moderator: bool
    timezone: str


class Directory:
    """Look users up with `users.info`, remembering answers for a short while."""

    def __init__(self, client: AsyncWebClient, ttl: float = 60.0) -> None:
        self.client = client
        self.ttl = ttl
        self._cache: dict[str, tuple[float, Person]] = {}

    async def person(self, user_id: str, fallback_name: str | None = None) -> Person:
        """Return a user's name, admin status and timezone."""
        cached = self._cache.get(user_id)
        if cached is not None and time.monotonic() - cached[0] < self.ttl:
            return cached[1]
        try:
            user: dict[str, Any] = (await self.client.users_info(user=user_id))["user"]
        except SlackApiError as error:
            # Without users.info the user is treated as an ordinary member, not cached.
            log.warning("users.info for %s failed: %s", user_id, error.response.get("error"))
            return Person(user_id, fallback_name or user_id, False, "UTC")
        profile = user.get("profile") or {}
        person = Person(
            user_id=user_id,
            display_name=profile.get("display_name")
            or profile.get("real_name")
            or user.get("real_name")
            or user.get("name")
            or fallback_name
            or user_id,
            is_moderator=bool(
                user.get("is_admin") or user.get("is_owner") or user.get("is_primary_owner")
            ),
            timezone=user.get("tz") or "UTC",
        )
        self._cache[user_id] = (time.monotonic(), person)
        return person


class Bridge:
    """Run core commands for Slack users and keep cards and home tabs up to date."""

    def __init__(
        self,
        service: Service,
        client: AsyncWebClient,
        *,
        card_interval: float = 3.0,
        user_ttl: float = 60.0,
    ) -> None:
        self.service = service
        self.client = client
        self.people = Directory(client, user_ttl)
        self.cards = Coalescer(self._refresh_key, card_interval)
        # Listeners keep working after their ack; shutdown waits for them.
        self.inflight = InFlight()

    async def context(
        self,
        team: str,
        user_id: str,
        request_id: str | None,
        channel: str | None,
        user_name: str | None = None,
    ) -> Context:
        """Build the core's request context for a Slack user."""
        person = await self.people.person(user_id, user_name)
        actor = Actor(user_id, person.display_name, is_moderator=person.is_moderator)
        return Context(PLATFORM, team, actor, request_id=request_id, channel=channel)

    async def run(
        self, command: Command, ctx: Context, reply: Reply, *, refresh_home: bool = True
    ) -> Result | None:
        """Execute a command and reply privately; refusals and bugs are replied to as well.

        `refresh_home=False` when the reply itself republishes the user's App Home."""
        async with self.inflight.track():
            return await self._run(command, ctx, reply, refresh_home=refresh_home)

    async def _run(
        self, command: Command, ctx: Context, reply: Reply, *, refresh_home: bool
    ) -> Result | None:
        try:
            result = await self.service.execute(command, ctx)
        except PredictError as refusal:
            await self._safe_reply(reply, *blocks.text_reply(refusal.message))
            return None
        except Exception:
            log.exception("slack command %r failed (request %s)", command, ctx.request_id)
            await self._safe_reply(reply, GENERIC_FAILURE, None)
            return None
        # The card edit is scheduled before the reply goes out, so that whoever sees the reply
        # (a user, a test) can rely on the edit being on its way.
        self.touch_card_of(result, ctx)
        await self._safe_reply(reply, *blocks.reply(result))
        if refresh_home and isinstance(result, _HOME_CHANGES):
            await self.publish_home(ctx)
        return result

    async def _safe_reply(self, reply: Reply, text: str, extra: list[blocks.Block] | None) -> None:
        try:
            await reply(text, extra)
        except Exception:  # the command is done; a lost reply must not look like a failure
            log.exception("slack reply failed")

    def touch_card_of(self, result: Result, ctx: Context) -> None:
        """Schedule the edit of the card a result changed, if any."""
        if isinstance(result, _CARD_CHANGES):
            self.touch_card(ctx.community, result.card.number)

    def touch_card(self, team: str, number: int) -> None:
        """Ask for a market's posted card to be edited soon (bursts coalesce)."""
        self.cards.touch((team, number))

    async def _refresh_key(self, key: Hashable) -> None:
        assert isinstance(key, tuple)
        team, number = key
        card = await self.service.card(PLATFORM, team, number)
        if card is not None:
            await self.edit_card(card)

    async def edit_card(self, card: MarketCard) -> None:
        """Edit a posted card in place (no-op when it was never posted)."""
        if not card.card_ref:
            return
        channel, _, ts = card.card_ref.partition(":")
        await self.client.chat_update(
            channel=channel, ts=ts, text=blocks.card_fallback(card), blocks=blocks.card_blocks(card)
        )

    async def publish_home(
        self, ctx: Context, notice: str | None = None, pages: tuple[int, int] = (1, 1)
    ) -> None:
        """Publish a user's App Home tab with some pages of their positions and of the open
        markets; pages that no longer exist show the first ones and say why."""
        async with self.inflight.track():
            await self._publish_home(ctx, notice, pages)

    async def _publish_home(self, ctx: Context, notice: str | None, pages: tuple[int, int]) -> None:
        try:
            reader = Context(ctx.platform, ctx.community, ctx.actor)
            try:
                portfolio = await self.service.execute(ShowPortfolio(page=pages[0]), reader)
                markets = await self.service.execute(ListMarkets("open", page=pages[1]), reader)
            except PredictError as refusal:  # a list shrank since its button was drawn
                notice = blocks.text_reply(refusal.message)[0]
                portfolio = await self.service.execute(ShowPortfolio(), reader)
                markets = await self.service.execute(ListMarkets("open"), reader)
            assert isinstance(portfolio, PortfolioShown) and isinstance(markets, MarketList)
            view = forms.home_view(portfolio, markets, notice)
            await self.client.views_publish(user_id=ctx.actor.user_id, view=view)
        except Exception:
            log.exception("publishing the App Home of %s failed", ctx.actor.user_id)
