"""Market cards end to end: posting, buttons and modals, live edits, closing, announcements."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from tests.adapters.discord.conftest import Harness, answered, content, start_adapter
from tests.fakes.discord_stub import (
    CHANNEL_ID,
    EPHEMERAL,
    MANAGER_USER_ID,
    MEMBER_USER_ID,
    MODAL,
    OTHER_CHANNEL_ID,
)
from tests.helpers import ledger_check, record_runs, snapshot, spaced

JSON = dict[str, Any]


def buttons(message: JSON) -> list[JSON]:
    return [b for row in message["components"] for b in row["components"]]


def field(message: JSON, name: str) -> str:
    (embed,) = message["embeds"]
    return str(next(f["value"] for f in embed["fields"] if f["name"] == name))


async def test_create_posts_the_card_where_the_market_was_created(harness: Harness) -> None:
    stub = harness.stub
    rec = await harness.slash(
        "market create",
        {
            "question": "Which team wins the @everyone cup final?",
            "closes": "2026-03-10",
            "outcomes": "Reds, Blues, Greens, Yellows, Purples, Oranges",
            "criteria": "The official result on the league's website.",
            "mechanism": "pool",
        },
        channel=OTHER_CHANNEL_ID,
    )
    assert rec.ephemeral and "Created market #1" in content(rec)
    public = [m for m in stub.messages.get(OTHER_CHANNEL_ID, []) if not m["flags"] & EPHEMERAL]
    assert public == []  # the card comes from the announcement, not the reply
    assert await harness.deliver() == 1
    card = stub.messages[OTHER_CHANNEL_ID][-1]
    assert not card["flags"]  # a normal, public message
    (embed,) = card["embeds"]
    assert embed["title"] == "#1 · Which team wins the @everyone cup final?"
    assert "official result" in embed["description"]
    outcomes = field(card, "Outcomes")
    assert "**17%** 1. Reds" in outcomes and "6. Oranges" in outcomes and "░" in outcomes
    assert field(card, "Volume") == "0 pts" and field(card, "Traders") == "0"
    closes = field(card, "Closes")
    assert closes.startswith("<t:") and ":F>" in closes and ":R>)" in closes
    assert "Open" in field(card, "Status")
    rows = card["components"]
    assert [len(r["components"]) for r in rows] == [5, 1]
    first = buttons(card)[0]
    assert (first["type"], first["label"], first["custom_id"]) == (2, "Reds", "predictbot:bet:1:1")
    assert not first["disabled"]
    shown = await harness.service.card("discord", "2000", 1)
    assert shown is not None and shown.card_ref == f"{OTHER_CHANNEL_ID}:{card['id']}"
    post = stub.requests_to("POST", rf"^/channels/{OTHER_CHANNEL_ID}/messages$")[-1]
    assert post.json["allowed_mentions"] == {"parse": []}


async def test_button_opens_modal_and_the_bet_edits_the_card(
    harness: Harness, engine: AsyncEngine
) -> None:
    stub = harness.stub
    card = await harness.create_market()
    click = await stub.send_interaction(stub.button_click(card, "predictbot:bet:1:1"))
    await click.wait_response()
    assert click.response_type == MODAL
    assert click.modal["title"] == "#1 · Bet on Yes"
    submit = await stub.send_interaction(
        stub.modal_submit(click.modal["custom_id"], {"points": "100"}, message=card)
    )
    await answered(submit)
    assert submit.ephemeral
    assert "Bought 148.99 shares of Yes in #1 for 100 points. Yes: 50% → 82%" in content(submit)
    await harness.adapter.cards.flush()
    edited = stub.get_message(int(card["id"]))
    assert edited is not None
    assert "**82%** 1. Yes" in field(edited, "Outcomes")
    assert field(edited, "Volume") == "100 pts" and field(edited, "Traders") == "1"
    assert stub.edits[-1].via == "rest"
    balances = await ledger_check(engine)
    assert balances[str(MEMBER_USER_ID)] == 900_000_000

    bad = await harness.bet_by_button(card, "predictbot:bet:1:2", "lots", user=MANAGER_USER_ID)
    assert bad.ephemeral and "not a number" in content(bad)


async def test_a_burst_of_bets_makes_at_most_one_card_edit_per_interval(harness: Harness) -> None:
    stub = harness.stub
    cards = harness.adapter.cards
    cards.interval = 0.5
    card = await harness.create_market()
    await cards.flush()
    edits_before = len(stub.edits)
    starts = record_runs(cards)
    for _ in range(4):
        rec = await harness.slash("bet", {"market": 1, "outcome": "no", "points": 10})
        assert "Bought" in content(rec)
    await cards.flush()
    card_edits = [e for e in stub.edits[edits_before:] if e.message_id == int(card["id"])]
    assert 1 <= len(card_edits) == len(starts) <= 4
    # However slowly the bets came (how many edits a burst makes depends on how long it
    # lasts), edits are an interval apart, and the last one shows the final state.
    assert spaced(starts, cards.interval), starts
    assert field(card_edits[-1].after, "Volume") == "40 pts"


async def test_a_members_resolve_is_refused_and_a_moderators_pays_and_announces(
    harness: Harness, engine: AsyncEngine
) -> None:
    stub = harness.stub
    card = await harness.create_market()
    await harness.slash("bet", {"market": 1, "outcome": "yes", "points": 100})
    await harness.deliver()
    before = await snapshot(engine)
    refused = await harness.slash("market resolve", {"market": 1, "outcome": "yes"})
    assert refused.ephemeral and "Only a moderator may resolve" in content(refused)
    assert await snapshot(engine) == before
    assert await harness.deliver() == 0

    resolved = await harness.slash(
        "market resolve",
        {"market": 1, "outcome": "yes", "evidence": "https://example.org/rain"},
        user=MANAGER_USER_ID,
    )
    assert resolved.ephemeral and "Market #1 resolved: Yes." in content(resolved)
    assert await harness.deliver() == 1
    announcement = stub.messages[CHANNEL_ID][-1]
    assert announcement["content"] == "🏁 Market #1 resolved: Yes"
    (embed,) = announcement["embeds"]
    fields = {f["name"]: f["value"] for f in embed["fields"]}
    assert fields["Paid out"] == "149 pts"
    assert fields["Top winners"] == f"1. <@{MEMBER_USER_ID}> +149"
    assert fields["Evidence"] == "https://example.org/rain"
    edited = stub.get_message(int(card["id"]))
    assert edited is not None
    assert all(b["disabled"] for b in buttons(edited))
    assert "Resolved: **Yes**" in field(edited, "Status")
    balances = await ledger_check(engine)
    assert balances[str(MEMBER_USER_ID)] == 900_000_000 + 148_988_012


async def test_buttons_of_a_closed_market_say_why(harness: Harness, engine: AsyncEngine) -> None:
    stub = harness.stub
    card = await harness.create_market()
    closed = await harness.slash("market close", {"market": 1}, user=MANAGER_USER_ID)
    assert closed.ephemeral and "closed" in content(closed)
    await harness.deliver()
    assert stub.messages[CHANNEL_ID][-1]["content"].startswith("🔒 Market #1 closed")
    edited = stub.get_message(int(card["id"]))
    assert edited is not None and all(b["disabled"] for b in buttons(edited))
    assert "awaiting resolution" in field(edited, "Status")
    assert edited["embeds"][0]["footer"]["text"].startswith("Trading has ended")

    before = await snapshot(engine)
    # A client still showing the old card (buttons enabled) clicks one.
    stale = await stub.send_interaction(stub.button_click(card, "predictbot:bet:1:2"))
    await stale.wait_response()
    assert stale.ephemeral
    assert "Market #1 closed" in content(stale) and "trading has ended" in content(stale)
    assert await snapshot(engine) == before


async def test_card_buttons_still_work_after_a_restart(
    harness: Harness, engine: AsyncEngine
) -> None:
    stub = harness.stub
    card = await harness.create_market()
    await harness.adapter.stop()
    harness.adapter = await start_adapter(stub, harness.service)
    submit = await harness.bet_by_button(card, "predictbot:bet:1:2", "25", user=MEMBER_USER_ID)
    assert submit.ephemeral and "Bought" in content(submit) and "of No in #1" in content(submit)
    await harness.adapter.cards.flush()
    edited = stub.get_message(int(card["id"]))
    assert edited is not None and field(edited, "Volume") == "25 pts"
    await ledger_check(engine)
