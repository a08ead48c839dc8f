"""What the slash commands, buttons and modals hand their interactions to.

The client (`_adapter.PredictClient`) carries the handler (`_interactions.Interactions`) as
`client.predictbot`; the components reach it through `handler_of`, typed by this protocol, so
they import neither the client nor the handler (no import cycle)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

import discord
from discord import app_commands

from bot.core.commands import Command


class Handler(Protocol):
    """Runs the commands that interactions ask for, and answers them."""

    async def run(
        self,
        interaction: discord.Interaction[Any],
        build: Callable[[], Command],
        *,
        public: bool = False,
    ) -> None:
        """Run the command `build()` makes for this interaction and answer the user."""
        ...

    async def open_bet(
        self, interaction: discord.Interaction[Any], number: int, index: int, label: str
    ) -> None:
        """Open the points form for a bet on one outcome of a market."""
        ...

    async def market_choices(
        self, interaction: discord.Interaction[Any], current: str
    ) -> list[app_commands.Choice[int]]:
        """Suggest open markets for a `market` option."""
        ...

    async def outcome_choices(
        self, interaction: discord.Interaction[Any], current: str, *, with_na: bool = False
    ) -> list[app_commands.Choice[str]]:
        """Suggest the chosen market's outcomes for an `outcome` option."""
        ...


def handler_of(interaction: discord.Interaction[Any]) -> Handler:
    """Return the handler of the client that received an interaction."""
    handler: Handler = interaction.client.predictbot
    return handler
