"""The Discord adapter: a discord.py client serving slash commands, cards and announcements."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Hashable
from typing import cast

import aiohttp
import discord
import discord.gateway
import discord.http
import yarl
from discord import app_commands

from bot.adapters.cards import Coalescer
from bot.adapters.discord._announcements import announcement
from bot.adapters.discord._buttons import BetButton, card_view
from bot.adapters.discord._commands import add_commands
from bot.adapters.discord._embeds import NO_MENTIONS, card_embed
from bot.adapters.discord._interactions import PLATFORM, Interactions
from bot.core.errors import DeliveryFailed, StartupError
from bot.core.ports import OutboxMessage
from bot.core.service import Service
from bot.core.views import MarketCard, Result
from bot.settings import DiscordSettings

log = logging.getLogger("bot.adapters.discord")

READY_TIMEOUT = 60.0
STOP_TIMEOUT = 10.0
# Longer rate-limit waits fail the post instead, so the outbox retries it later.
RATE_LIMIT_WAIT_MAX = 30.0  # the smallest discord.py accepts


class PredictClient(discord.Client):
    """A plain discord.py client (no privileged intents) with predictbot's command tree."""

    def __init__(self, handler: Interactions, *, guild_ready_timeout: float) -> None:
        # predictbot has no voice: discord.py's warnings about voice libraries are noise.
        discord.VoiceClient.warn_nacl = False
        discord.VoiceClient.warn_dave = False
        super().__init__(
            intents=discord.Intents(guilds=True),
            allowed_mentions=NO_MENTIONS,
            guild_ready_timeout=guild_ready_timeout,
            max_ratelimit_timeout=RATE_LIMIT_WAIT_MAX,
        )
        self.predictbot = handler
        self.tree: app_commands.CommandTree[PredictClient] = app_commands.CommandTree(self)
        add_commands(self.tree)

    async def setup_hook(self) -> None:
        """Route clicks on any card's outcome buttons, including cards posted before a restart."""
        self.add_dynamic_items(BetButton)


_SEND_ERRORS = (
    discord.HTTPException,
    discord.RateLimited,
    aiohttp.ClientError,
    OSError,
    TimeoutError,
)


def _parse_ref(ref: str) -> tuple[int, int]:
    channel, _, message = ref.partition(":")
    return int(channel), int(message)


def _delivery_failure(error: Exception) -> DeliveryFailed:
    """Classify a failed post or edit: worth retrying later, or never going to work."""
    if isinstance(error, discord.RateLimited):
        return DeliveryFailed(f"rate limited: {error}", retry_after=error.retry_after)
    if isinstance(error, discord.HTTPException):
        reason = f"Discord answered {error.status}: {error.text or error}"
        if error.status == 429 or error.status >= 500:
            return DeliveryFailed(reason)
        return DeliveryFailed(reason, permanent=True)
    return DeliveryFailed(f"{type(error).__name__}: {error}")


class DiscordAdapter:
    """Serve predictbot on Discord and post its announcements there."""

    platform = PLATFORM

    def __init__(
        self,
        service: Service,
        settings: DiscordSettings,
        *,
        edit_interval: float = 3.0,
        respond_within: float = 1.5,
        guild_ready_timeout: float = 2.0,
    ) -> None:
        self.service = service
        self.settings = settings
        self.guild_ready_timeout = guild_ready_timeout
        self.cards = Coalescer(self._refresh_latest, interval=edit_interval)
        self.interactions = Interactions(
            service, respond_within=respond_within, on_card_changed=self.card_changed
        )
        self.client: PredictClient | None = None
        self._task: asyncio.Task[None] | None = None
        self._saved_urls: tuple[str, yarl.URL] | None = None

    # -- lifecycle -----------------------------------------------------------------------

    async def start(self) -> None:
        """Log in, sync the slash commands, connect, and return once ready."""
        token = self.settings.discord_token
        if token is None:
            raise RuntimeError("DISCORD_TOKEN is not set")
        self._point_at_server()
        client = PredictClient(self.interactions, guild_ready_timeout=self.guild_ready_timeout)
        self.client = client
        try:
            await client.login(token.get_secret_value())
            await self._sync_commands(client)
        except discord.LoginFailure as error:
            await self.stop()
            raise StartupError(
                "Discord rejected DISCORD_TOKEN (401 Unauthorized): copy the bot token again "
                "from the developer portal (your application → Bot → Reset Token)."
            ) from error
        except (aiohttp.ClientError, OSError) as error:
            await self.stop()
            raise StartupError(
                f"Cannot reach Discord at {discord.http.Route.BASE} ({error}): check the "
                "network, or DISCORD_API_BASE if it is set."
            ) from error
        except BaseException:
            await self.stop()
            raise
        self._task = asyncio.create_task(client.connect(reconnect=True), name="discord-client")
        ready = asyncio.create_task(client.wait_until_ready())
        try:
            done, _ = await asyncio.wait(
                {ready, self._task}, timeout=READY_TIMEOUT, return_when=asyncio.FIRST_COMPLETED
            )
        except BaseException:  # cancelled while connecting: `stop` closes the client
            ready.cancel()
            raise
        if ready not in done:
            ready.cancel()
            if self._task in done:
                ended = self._task.exception() if not self._task.cancelled() else None
                await self.stop()
                raise StartupError(
                    f"The Discord connection ended before it was ready ({ended or 'closed'}): "
                    "check DISCORD_TOKEN and DISCORD_GATEWAY_URL if it is set."
                )
            await self.stop()
            raise StartupError(
                f"Discord was not ready within {READY_TIMEOUT:.0f} s: check the network, or "
                "DISCORD_GATEWAY_URL if it is set."
            )
        log.info("discord: connected as %s to %d server(s)", client.user, len(client.guilds))

    async def stop(self) -> None:
        """Let commands being answered finish, land pending card edits, disconnect, and
        restore discord.py's URLs."""
        # The answer of a deferred command is sent through the client: close it only after
        # (closing leaves the command running without a session, its connection mid-write).
        await self.interactions.inflight.wait_idle(within=STOP_TIMEOUT)
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(STOP_TIMEOUT):
                await self.cards.flush()
        self.cards.close()
        if self.client is not None:
            await self.client.close()
        if self._task is not None:
            with contextlib.suppress(Exception, asyncio.CancelledError):
                async with asyncio.timeout(STOP_TIMEOUT):
                    await self._task
        self.client = None
        self._task = None
        if self._saved_urls is not None:
            discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = (
                self._saved_urls
            )
            self._saved_urls = None

    def _point_at_server(self) -> None:
        """Use a Discord-compatible server when the base-URL settings are given."""
        api, gateway = self.settings.discord_api_base, self.settings.discord_gateway_url
        if not api and not gateway:
            return
        self._saved_urls = (
            discord.http.Route.BASE,
            discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY,
        )
        if api:
            discord.http.Route.BASE = api.rstrip("/")
        if gateway:
            discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(gateway)

    async def _sync_commands(self, client: PredictClient) -> None:
        """Sync to the development servers when listed (instant), else globally (slow)."""
        guild_ids = self.settings.guild_ids
        if not guild_ids:
            await client.tree.sync()
            return
        for guild_id in guild_ids:
            guild = discord.Object(guild_id)
            client.tree.copy_global_to(guild=guild)
            try:
                await client.tree.sync(guild=guild)
            except discord.Forbidden:  # not invited there (yet): the other servers still work
                log.warning("discord: no command sync to server %s; is the bot in it?", guild_id)

    # -- cards ---------------------------------------------------------------------------

    def card_changed(self, community: str, number: int) -> None:
        """Redraw a market's card soon, merging bursts of trades into one edit."""
        self.cards.touch((community, number))

    async def _refresh_latest(self, key: Hashable) -> None:
        community, number = cast(tuple[str, int], key)
        card = await self.service.card(PLATFORM, community, number)
        if card is not None:
            await self.refresh_card(card)

    async def refresh_card(self, card: MarketCard) -> None:
        """Edit a market's posted card in place to show its current state."""
        if card.card_ref is None:
            return
        channel_id, message_id = _parse_ref(card.card_ref)
        message = (
            self._connected().get_partial_messageable(channel_id).get_partial_message(message_id)
        )
        try:
            await message.edit(
                embed=card_embed(card), view=card_view(card), allowed_mentions=NO_MENTIONS
            )
        except _SEND_ERRORS as error:
            raise _delivery_failure(error) from error

    # -- announcements -------------------------------------------------------------------

    async def announce(self, message: OutboxMessage, result: Result) -> str | None:
        """Post an announcement (for `created`, the market card); return "channel:message"."""
        if message.channel is None or not message.channel.isdigit():
            raise DeliveryFailed(
                f"no Discord channel to post in ({message.channel!r})", permanent=True
            )
        try:
            post = announcement(result)
        except TypeError as error:  # a result kind this adapter can't draw yet
            raise DeliveryFailed(str(error), permanent=True) from error
        channel = self._connected().get_partial_messageable(int(message.channel))
        try:
            posted = await channel.send(
                content=post.content,
                embeds=list(post.embeds),
                view=card_view(post.card) if post.card else discord.utils.MISSING,
                # Nobody is pinged, except the resolvers a reminder names.
                allowed_mentions=post.allowed_mentions,
            )
        except _SEND_ERRORS as error:
            raise _delivery_failure(error) from error
        # The card itself is redrawn by the dispatcher after a state change (`refresh_card`).
        return f"{posted.channel.id}:{posted.id}"

    def _connected(self) -> PredictClient:
        if self.client is None or self.client.is_closed():
            raise DeliveryFailed("the Discord client is not connected")
        return self.client
