"""Outcome buttons of market cards, dispatched by custom id so they outlive restarts."""

from __future__ import annotations

import re
from typing import Any

import discord

from bot.adapters.discord._embeds import clip
from bot.adapters.discord._handler import handler_of
from bot.core.views import MarketCard

BUTTONS_PER_ROW = 5
LABEL_MAX = 80
BET_ID = "predictbot:bet:{number}:{index}"


class BetButton(
    discord.ui.DynamicItem[discord.ui.Button[discord.ui.View]],
    template=r"predictbot:bet:(?P<number>[0-9]+):(?P<index>[0-9]+)",
):
    """Open the bet form for one outcome of one market."""

    def __init__(
        self, number: int, index: int, label: str, *, disabled: bool = False, row: int | None = None
    ) -> None:
        super().__init__(
            discord.ui.Button(
                label=clip(label, LABEL_MAX) or str(index),
                custom_id=BET_ID.format(number=number, index=index),
                style=discord.ButtonStyle.primary,
                disabled=disabled,
                row=row,
            )
        )
        self.number = number
        self.index = index

    @classmethod
    async def from_custom_id(
        cls,
        interaction: discord.Interaction[Any],
        item: discord.ui.Item[Any],
        match: re.Match[str],
        /,
    ) -> BetButton:
        """Rebuild the button a user clicked from its custom id."""
        label = getattr(item, "label", None) or match["index"]
        return cls(int(match["number"]), int(match["index"]), label)

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        """Open the points form, or explain why this market no longer takes bets."""
        await handler_of(interaction).open_bet(
            interaction, self.number, self.index, self.item.label or str(self.index)
        )


def card_view(card: MarketCard) -> discord.ui.View:
    """Lay out one button per outcome, five per row, disabled once trading has ended."""
    view = discord.ui.View(timeout=None)
    for outcome in card.outcomes:
        view.add_item(
            BetButton(
                card.number,
                outcome.index,
                outcome.name,
                disabled=not card.is_open,
                row=(outcome.index - 1) // BUTTONS_PER_ROW,
            )
        )
    return view
