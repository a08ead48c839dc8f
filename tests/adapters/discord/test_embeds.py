"""Card and announcement rendering: pure functions of the core's view models."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import discord

from bot.adapters.discord._buttons import card_view
from bot.adapters.discord._embeds import announcement, card_embed, not_open_reason, reply
from bot.core.commands import MICRO
from bot.core.views import (
    MarketCard,
    MarketClosed,
    MarketCreated,
    MarketExtended,
    MarketList,
    MarketResolved,
    OutcomeView,
    Payout,
)

CLOSES = datetime(2026, 3, 10, 23, 59, 59, tzinfo=UTC)


def make_card(outcomes: int = 2, **changes: object) -> MarketCard:
    card = MarketCard(
        community="2000",
        number=7,
        question="Will the @everyone question render safely and fully?",
        criteria="Per the rules.",
        outcomes=tuple(
            OutcomeView(i + 1, f"Outcome {i + 1}", 1 / outcomes, 0) for i in range(outcomes)
        ),
        mechanism="lmsr",
        liquidity=100 * MICRO,
        volume=1234 * MICRO,
        traders=3,
        closes_at=CLOSES,
        status="open",
        creator_user="3001",
    )
    return replace(card, **changes)  # type: ignore[arg-type]


def fields(embed: discord.Embed) -> dict[str, str]:
    return {f.name or "": f.value or "" for f in embed.fields}


def test_card_embed_shows_everything_a_card_needs() -> None:
    embed = card_embed(make_card())
    assert embed.title == "#7 · Will the @everyone question render safely and fully?"
    assert embed.description == "**Resolution criteria**\nPer the rules."
    shown = fields(embed)
    assert shown["Outcomes"].splitlines()[0] == "`██████░░░░░░` **50%** 1. Outcome 1"
    assert shown["Volume"] == "1,234 pts" and shown["Traders"] == "3"
    assert shown["Mechanism"] == "LMSR (b = 100)"
    stamp = int(CLOSES.timestamp())
    assert shown["Closes"] == f"<t:{stamp}:F> (<t:{stamp}:R>)"
    assert "Open" in shown["Status"]


def test_ten_outcomes_make_two_rows_of_five_buttons() -> None:
    view = card_view(make_card(10))
    rows = view.to_components()
    assert [len(r["components"]) for r in rows] == [5, 5]
    ids = [b["custom_id"] for r in rows for b in r["components"]]
    assert ids[0] == "predictbot:bet:7:1" and ids[-1] == "predictbot:bet:7:10"
    assert view.timeout is None and view.is_persistent()


def test_a_settled_card_disables_its_buttons_and_says_why() -> None:
    resolved = make_card(status="resolved", resolution="Outcome 2", evidence="https://x.org")
    assert all(b["disabled"] for r in card_view(resolved).to_components() for b in r["components"])
    shown = fields(card_embed(resolved))
    assert "Resolved: **Outcome 2**" in shown["Status"]
    assert "2. Outcome 2 ✅" in shown["Outcomes"]
    assert shown["Evidence"] == "https://x.org"
    assert "trading has ended" in not_open_reason(resolved)
    closed = make_card(status="closed", closed_at=CLOSES)
    assert "waiting for a resolution" in not_open_reason(closed)
    assert "cancelled" in not_open_reason(make_card(status="cancelled", resolution="N/A"))


def test_long_texts_are_clipped_to_discord_limits() -> None:
    card = make_card(question="Q" * 300, criteria="C" * 5000)
    embed = card_embed(card)
    assert embed.title is not None and len(embed.title) == 256 and embed.title.endswith("…")
    assert embed.description is not None and len(embed.description) == 4096


def test_announcements_and_replies() -> None:
    card = make_card(status="resolved", resolution="Outcome 1")
    resolved = announcement(
        MarketResolved(
            card, "Outcome 1", None, 150 * MICRO, (Payout("3002", "alice", 150 * MICRO),)
        )
    )
    assert not resolved.ephemeral and resolved.content == "🏁 Market #7 resolved: Outcome 1"
    assert fields(resolved.embeds[0])["Top winners"] == "1. <@3002> +150"
    closed = announcement(MarketClosed(make_card(status="closed"), late=True))
    assert closed.content is not None and "while the bot was offline" in closed.content
    extended = announcement(MarketExtended(make_card(), datetime(2026, 3, 5, tzinfo=UTC)))
    assert extended.content is not None and f"<t:{int(CLOSES.timestamp())}:F>" in extended.content
    created = announcement(MarketCreated(make_card()))
    assert created.card is not None and created.embeds and not created.ephemeral
    listing = reply(MarketList("open", (make_card(),)))
    assert listing.embeds[0].description is not None
    assert listing.embeds[0].description.startswith("**#7** Will the @everyone")
    empty = reply(MarketList("open", ()))
    assert empty.content == "No open markets."
