"""Odds of <1% and >99% on Discord: shown as typed (Discord markdown needs no HTML escaping),
while user text is escaped for markdown and pings nobody."""

from __future__ import annotations

from typing import Any

from tests.adapters.discord.conftest import Harness, answered
from tests.fakes.discord_stub import DEFERRED_CHANNEL_MESSAGE, MEMBER_USER_ID, InteractionRecord

JSON = dict[str, Any]


def answer(rec: InteractionRecord) -> JSON:
    """The message an interaction's user sees: its callback's, or the edit after a deferral."""
    if rec.response_type != DEFERRED_CHANNEL_MESSAGE:
        return rec.response_data
    [shown] = rec.edits + rec.followups
    return shown


def field(message: JSON, name: str) -> str:
    (embed,) = message["embeds"]
    return str(next(f["value"] for f in embed["fields"] if f["name"] == name))


async def test_lopsided_odds_show_as_typed_on_the_card_and_the_list(harness: Harness) -> None:
    stub = harness.stub
    card = await harness.create_market(
        "Will R&D *ship* <it> @everyone?", outcomes="Yes, No_way <@1>"
    )
    bet = await harness.slash(
        "bet", {"market": 1, "outcome": "yes", "points": 400}, user=MEMBER_USER_ID
    )
    assert "Yes: 50% → >99%" in str(answer(bet).get("content"))
    await harness.adapter.cards.flush()
    edited = stub.get_message(int(card["id"]))
    assert edited is not None
    outcomes = field(edited, "Outcomes")
    assert "**>99%** 1. Yes" in outcomes and "**<1%** 2. No\\_way <@1>" in outcomes
    assert edited["embeds"][0]["title"] == "#1 · Will R&D *ship* <it> @everyone?"

    shown = await answered(
        await stub.send_interaction(stub.slash_command("market show", {"market": 1}))
    )
    assert "**<1%** 2. No\\_way" in field(answer(shown), "Outcomes")

    listed = await harness.slash("market list")
    description = answer(listed)["embeds"][0]["description"]
    assert "Will R&D \\*ship\\* <it> @everyone? — Yes >99%" in description
    for rec in (bet, shown, listed):
        assert answer(rec)["allowed_mentions"] == {"parse": []}
