"""Modals: the points form behind each outcome button of a market card."""

from __future__ import annotations

from typing import Any

import discord

from bot.adapters.discord._embeds import clip
from bot.adapters.discord._handler import handler_of
from bot.core.commands import PlaceBet
from bot.core.grammar import parse_points

MODAL_TITLE_MAX = 45
MODAL_LIFETIME = 15 * 60.0  # an unanswered modal is forgotten after this many seconds


class BetModal(discord.ui.Modal):
    """Ask how many points to stake on one outcome of one market."""

    points: discord.ui.TextInput[BetModal] = discord.ui.TextInput(
        label="Points",
        placeholder="Whole points, e.g. 50",
        min_length=1,
        max_length=20,
        custom_id="points",
    )

    def __init__(self, number: int, index: int, outcome: str, *, custom_id: str) -> None:
        super().__init__(
            title=clip(f"#{number} · Bet on {outcome}", MODAL_TITLE_MAX),
            timeout=MODAL_LIFETIME,
            custom_id=custom_id,
        )
        self.number = number
        self.index = index

    async def on_submit(self, interaction: discord.Interaction[Any]) -> None:
        """Place the bet the form describes."""
        value = self.points.value
        await handler_of(interaction).run(
            interaction,
            lambda: PlaceBet(
                market=self.number, outcome=str(self.index), points=parse_points(value)
            ),
        )
