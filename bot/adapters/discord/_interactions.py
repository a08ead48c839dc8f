"""Answer interactions: build the context, run the command, reply within Discord's 3 seconds."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

import discord
from discord import app_commands

from bot.adapters.discord._buttons import card_view
from bot.adapters.discord._embeds import NO_MENTIONS, Reply, clip, reply
from bot.adapters.discord._modals import BetModal
from bot.adapters.inflight import InFlight
from bot.core.commands import Command, changes_state
from bot.core.errors import InvalidInput, PredictError
from bot.core.grammar import parse_market_id
from bot.core.models import Actor, Context
from bot.core.service import Service
from bot.core.text import percent
from bot.core.validation import no_market
from bot.core.views import MarketCard

log = logging.getLogger("bot.adapters.discord")

PLATFORM = "discord"
GENERIC_ERROR = "Something went wrong; nothing was changed."
CHOICES_MAX = 25
CHOICE_NAME_MAX = 100
# Discord answers "already acknowledged" / "unknown interaction" to a second answer of a
# duplicated or expired interaction; neither is worth more than a log line.
_QUIET_CODES = {40060, 10062}
CardChanged = Callable[[str, int], None]


def guild_of(interaction: discord.Interaction[Any]) -> str:
    """Name the community of an interaction, refusing direct messages."""
    if interaction.guild_id is None:
        raise InvalidInput("predictbot works in server channels, not in direct messages.")
    return str(interaction.guild_id)


def context_of(interaction: discord.Interaction[Any]) -> Context:
    """Describe who sent an interaction and where, for the core."""
    community = guild_of(interaction)
    user = interaction.user
    member = user if isinstance(user, discord.Member) else None
    return Context(
        platform=PLATFORM,
        community=community,
        actor=Actor(
            user_id=str(user.id),
            display_name=user.display_name,
            is_moderator=bool(member and member.guild_permissions.manage_guild),
            roles=tuple(str(role.id) for role in member.roles) if member else (),
        ),
        request_id=str(interaction.id),
        channel=str(interaction.channel_id) if interaction.channel_id else None,
    )


def _quiet(error: discord.HTTPException) -> bool:
    return error.code in _QUIET_CODES


def market_number(value: object) -> int | None:
    """Read a market number typed or chosen in an option, or None if it is not one."""
    if value is None:
        return None
    try:
        return parse_market_id(str(value))
    except PredictError:
        return None


class Interactions:
    """Turn interactions into core commands and their results into replies."""

    def __init__(
        self, service: Service, *, respond_within: float, on_card_changed: CardChanged
    ) -> None:
        self.service = service
        # Answer directly if the service is this quick, else defer: Discord allows 3 s.
        self.respond_within = respond_within
        self.on_card_changed = on_card_changed
        # Commands and clicks still being answered, which shutdown waits for.
        self.inflight = InFlight()

    # -- commands ------------------------------------------------------------------------

    async def run(
        self,
        interaction: discord.Interaction[Any],
        build: Callable[[], Command],
        *,
        public: bool = False,
    ) -> None:
        """Run the command `build()` makes for this interaction and answer the user.

        A command that changes something is acknowledged at once ("thinking…", private unless
        `public`) and its result replaces that message, so a burst of commands queueing on the
        database never delays the acknowledgement. A read answers in the first callback if the
        service is quick enough, else defers too.
        """
        async with self.inflight.track():
            await self._run(interaction, build, public)

    async def _run(
        self, interaction: discord.Interaction[Any], build: Callable[[], Command], public: bool
    ) -> None:
        try:
            ctx = context_of(interaction)
            command = build()
        except PredictError as error:
            await self._respond(interaction, Reply(content=error.message))
            return
        if changes_state(command):  # deferred at once, its result sent as an edit
            if not await self._defer(interaction, ephemeral=not public):
                # Not acknowledged (a duplicate, or expired): the user would never see the
                # result, so change nothing.
                return
            answer = await self._execute(command, ctx, public)
            await self._follow_up(interaction, answer, deferred_public=public)
            return
        work = asyncio.ensure_future(self._execute(command, ctx, public))
        done, _ = await asyncio.wait({work}, timeout=self.respond_within)
        if work in done:
            await self._respond(interaction, work.result())
            return
        deferred = await self._defer(interaction, ephemeral=not public)
        answer = await work
        if deferred:
            await self._follow_up(interaction, answer, deferred_public=public)

    async def _execute(self, command: Command, ctx: Context, public: bool) -> Reply:
        try:
            result = await self.service.execute(command, ctx)
        except PredictError as error:
            return Reply(content=clip(error.message, 2000))
        except Exception:
            log.exception("command %s failed (request %s)", type(command).__name__, ctx.request_id)
            return Reply(content=GENERIC_ERROR)
        card = getattr(result, "card", None)
        if isinstance(card, MarketCard) and card.card_ref:
            self.on_card_changed(ctx.community, card.number)
        answer = reply(result)
        return Reply(answer.content, answer.embeds, answer.card, ephemeral=not public)

    async def _respond(self, interaction: discord.Interaction[Any], answer: Reply) -> None:
        try:
            await interaction.response.send_message(
                content=answer.content,
                embeds=list(answer.embeds),
                view=card_view(answer.card) if answer.card else discord.utils.MISSING,
                ephemeral=answer.ephemeral,
                allowed_mentions=NO_MENTIONS,
            )
        except discord.InteractionResponded:
            log.info("interaction %s was already answered", interaction.id)
        except discord.HTTPException as error:
            self._log_http(interaction, error)

    async def _defer(self, interaction: discord.Interaction[Any], *, ephemeral: bool) -> bool:
        try:
            await interaction.response.defer(ephemeral=ephemeral, thinking=True)
        except discord.InteractionResponded:
            return False
        except discord.HTTPException as error:
            self._log_http(interaction, error)
            return False
        return True

    async def _follow_up(
        self, interaction: discord.Interaction[Any], answer: Reply, *, deferred_public: bool
    ) -> None:
        try:
            if deferred_public and answer.ephemeral:
                # A refusal stays private even when the command would have answered publicly.
                await interaction.delete_original_response()
                await interaction.followup.send(
                    content=answer.content or "…",
                    embeds=list(answer.embeds),
                    ephemeral=True,
                    allowed_mentions=NO_MENTIONS,
                )
                return
            await interaction.edit_original_response(
                content=answer.content,
                embeds=list(answer.embeds),
                view=card_view(answer.card) if answer.card else None,
                allowed_mentions=NO_MENTIONS,
            )
        except discord.HTTPException as error:
            self._log_http(interaction, error)

    def _log_http(
        self, interaction: discord.Interaction[Any], error: discord.HTTPException
    ) -> None:
        if _quiet(error):
            log.info("interaction %s: %s (a duplicate or a late answer)", interaction.id, error)
        else:
            log.warning("interaction %s: could not answer: %s", interaction.id, error)

    # -- buttons -------------------------------------------------------------------------

    async def open_bet(
        self, interaction: discord.Interaction[Any], number: int, index: int, label: str
    ) -> None:
        """Open the points modal for a card's outcome button, or say why betting has ended."""
        async with self.inflight.track():
            await self._open_bet(interaction, number, index, label)

    async def _open_bet(
        self, interaction: discord.Interaction[Any], number: int, index: int, label: str
    ) -> None:
        try:
            community = guild_of(interaction)
        except PredictError as error:
            await self._respond(interaction, Reply(content=error.message))
            return
        try:
            card = await self._card_quickly(community, number)
        except PredictError as error:
            await self._respond(interaction, Reply(content=error.message))
            return
        ended = card and self.service.trading_ended(
            card.number, card.status, card.closes_at, card.closed_at
        )
        if ended:
            self.on_card_changed(community, number)  # the clicked card is stale: redraw it
            await self._respond(interaction, Reply(content=ended))
            return
        outcome = label
        if card is not None and 1 <= index <= len(card.outcomes):
            outcome = card.outcomes[index - 1].name
        modal = BetModal(number, index, outcome, custom_id=f"predictbot:bet-modal:{interaction.id}")
        try:
            await interaction.response.send_modal(modal)
        except discord.InteractionResponded:
            modal.stop()
        except discord.HTTPException as error:
            modal.stop()
            self._log_http(interaction, error)

    async def _card_quickly(self, community: str, number: int) -> MarketCard | None:
        """Look a card up, giving up (None) when storage is too slow for a modal's 3 s;
        refuse (NotFound) a market that does not exist."""
        try:
            async with asyncio.timeout(self.respond_within):
                card = await self.service.card(PLATFORM, community, number)
        except TimeoutError:
            log.info("card #%s lookup was slow; opening the bet modal unchecked", number)
            return None
        except Exception:
            log.exception("card #%s lookup failed", number)
            return None
        if card is None:
            raise no_market(number)
        return card

    # -- autocomplete --------------------------------------------------------------------

    async def market_choices(
        self, interaction: discord.Interaction[Any], current: str
    ) -> list[app_commands.Choice[int]]:
        """Offer the open markets of this server matching a number or words of the question."""
        try:
            async with asyncio.timeout(2.5):
                cards = await self.service.open_markets(PLATFORM, guild_of(interaction))
        except Exception:
            log.info("market autocomplete failed", exc_info=True)
            return []
        needle = str(current or "").strip().removeprefix("#").casefold()
        matches = [
            card
            for card in cards
            if not needle
            or str(card.number).startswith(needle)
            or needle in card.question.casefold()
        ]
        return [
            app_commands.Choice(
                name=clip(f"#{card.number} · {card.question}", CHOICE_NAME_MAX), value=card.number
            )
            for card in matches[:CHOICES_MAX]
        ]

    async def outcome_choices(
        self, interaction: discord.Interaction[Any], current: str, *, with_na: bool = False
    ) -> list[app_commands.Choice[str]]:
        """Offer the outcomes of the market chosen in the same command."""
        number = market_number(getattr(interaction.namespace, "market", None))
        if number is None:
            return []
        try:
            async with asyncio.timeout(2.5):
                card = await self.service.card(PLATFORM, guild_of(interaction), number)
        except Exception:
            log.info("outcome autocomplete failed", exc_info=True)
            return []
        if card is None:
            return []
        needle = str(current or "").strip().casefold()
        choices = [
            app_commands.Choice(
                name=clip(f"{o.name} · {percent(o.probability)}", CHOICE_NAME_MAX), value=o.name
            )
            for o in card.outcomes
            if not needle or needle in o.name.casefold() or needle == str(o.index)
        ]
        if with_na and (not needle or needle in "n/a na cancel"):
            choices.append(app_commands.Choice(name="N/A (cancel and refund everyone)", value="na"))
        return choices[:CHOICES_MAX]
