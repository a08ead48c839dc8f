"""A market's whole life on Slack: form, card, buttons, bets, resolution, App Home."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.adapters.slack import SlackAdapter
from tests.adapters.slack.harness import (
    ADMIN,
    ALICE,
    BOB,
    CHANNEL,
    SlackDriver,
    button_value,
)
from tests.fakes.slack_stub import (
    app_home_opened_body,
    block_actions_body,
    block_actions_payload,
    date_value,
    option_value,
    plain_text_value,
    time_value,
)
from tests.helpers import ledger_check, record_runs, snapshot, spaced

QUESTION = "Will Turkey take delivery of S-400 systems by 2026-03-31?"


def create_values(**overrides: dict[str, object]) -> dict[str, dict[str, dict[str, object]]]:
    values: dict[str, dict[str, dict[str, object]]] = {
        "question": {"question": plain_text_value(QUESTION)},
        "date": {"date": date_value("2026-03-10")},
        "time": {"time": time_value("18:30", "Europe/Berlin")},
        "outcomes": {"outcomes": plain_text_value("Yes, No\nNot sure")},
        "criteria": {"criteria": plain_text_value("Reuters reports the delivery.")},
        "mechanism": {"mechanism": option_value("lmsr", "Market maker (LMSR)")},
    }
    for block, value in overrides.items():
        values[block] = {block: value}
    return values


def bet_values(points: str, outcome: str | None = None) -> dict[str, dict[str, dict[str, object]]]:
    return {
        "outcome": {"outcome": option_value(outcome)},
        "points": {"points": plain_text_value(points)},
    }


async def create_via_modal(slack: SlackDriver) -> str:
    """Open the create form with `/predict create`, submit it, post the card; return its ts."""
    name = await slack.command("create", ALICE, wait=False)
    view = await slack.opened_view(1)
    assert view["callback_id"] == "create_market"
    kinds = [b["element"]["type"] for b in view["blocks"] if b["type"] == "input"]
    assert kinds == [
        "plain_text_input",
        "datepicker",
        "timepicker",
        "plain_text_input",
        "plain_text_input",
        "static_select",
    ]
    assert await slack.submit(view, create_values(), ALICE) == (200, "")
    confirmation = await slack.stub.wait_for_response(str(name))
    assert confirmation.body["text"].startswith(f"Market #1 created: {QUESTION}")
    assert confirmation.body["response_type"] == "ephemeral"
    [ref] = await slack.deliver()
    assert ref is not None
    channel, ts = ref.split(":")
    assert channel == CHANNEL
    return ts


async def test_full_lifecycle(slack: SlackDriver, engine: AsyncEngine) -> None:
    stub = slack.stub
    ts = await create_via_modal(slack)
    card = stub.message(CHANNEL, ts)
    assert card.blocks is not None
    buttons = [b["accessory"] for b in card.blocks if "accessory" in b]
    assert [b["action_id"] for b in buttons] == ["bet:1", "bet:2", "bet:3"]
    # 18:30 in Berlin (UTC+1 in March) is 17:30 UTC, shown in each reader's zone.
    deadline = int(datetime(2026, 3, 10, 17, 30, tzinfo=UTC).timestamp())
    assert f"<!date^{deadline}^{{date_short_pretty}} {{time}}|2026-03-10 17:30 UTC>" in str(
        card.blocks
    )
    assert "Reuters reports the delivery." in str(card.blocks)

    # Bob clicks "Bet Yes": a form opens, nothing changes.
    before_click = await snapshot(engine)
    clicked = await slack.click("bet:1", button_value(1, 1), BOB, message_ts=ts)
    form = await slack.opened_view(2)
    assert form["callback_id"] == "place_bet"
    select = form["blocks"][2]["element"]
    assert select["initial_option"]["value"] == "1"
    assert await snapshot(engine) == before_click

    # A bad amount is refused inside the form, before anything runs.
    status, text = await slack.submit(form, bet_values("ten", "1"))
    assert status == 200
    assert json.loads(text)["response_action"] == "errors"
    assert "points" in json.loads(text)["errors"]
    assert await snapshot(engine) == before_click

    assert await slack.submit(form, bet_values("100", "1")) == (200, "")
    reply = await stub.wait_for_response(clicked)
    assert reply.body["text"].startswith("Bought ")
    assert reply.body["response_type"] == "ephemeral"
    await stub.wait_for_call("chat.update")
    await stub.wait_for_call("views.publish")
    assert stub.home_views[BOB]["type"] == "home"
    assert "900 points" in str(stub.home_views[BOB]["blocks"])
    updated = stub.message(CHANNEL, ts)
    assert updated.updated
    assert "Volume 100 pts · 1 trader" in str(updated.blocks)

    # The same submission again (Slack retried it): nothing changes twice.
    once = await snapshot(engine)
    headers = {"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"}
    assert await slack.submit(form, bet_values("100", "1"), headers=headers) == (200, "")
    await stub.wait_for_response(clicked, 2)
    assert await snapshot(engine) == once

    # Bob may not resolve (he holds a position, he is no admin); the admin may.
    before = await snapshot(engine)
    refused = await slack.reply_text("resolve 1 yes", BOB)
    assert refused.startswith("Only a moderator may resolve this market")
    assert await snapshot(engine) == before
    resolved = await slack.reply_text("resolve 1 yes", ADMIN)
    assert resolved.startswith("Market #1 resolved: Yes.")
    await slack.deliver()
    announcement = stub.last_message(CHANNEL)
    assert announcement.text is not None and "resolved: Yes" in announcement.text
    await stub.wait_until(lambda: "Resolved: *Yes*" in str(stub.message(CHANNEL, ts).blocks))
    final = stub.message(CHANNEL, ts)
    assert not [b for b in final.blocks or [] if "accessory" in b]  # no buttons any more

    # A stale Bet button answers why, with the core's words, privately.
    clicked = await slack.click("bet:2", button_value(1, 2), ALICE, message_ts=ts)
    form = await slack.opened_view(3)
    settled = await snapshot(engine)
    assert await slack.submit(form, bet_values("5", "2"), ALICE) == (200, "")
    why = await stub.wait_for_response(clicked)
    assert why.body["text"] == "Market #1 is resolved; trading has ended."
    assert await snapshot(engine) == settled
    balances = await ledger_check(engine)
    assert balances[BOB] > 1000_000_000


async def test_card_edits_coalesce_bursts(
    slack: SlackDriver, adapter: SlackAdapter, engine: AsyncEngine
) -> None:
    cards = adapter.bridge.cards
    cards.interval = 0.3
    ts = await create_via_modal(slack)
    await cards.flush()
    before = len(slack.stub.calls_of("chat.update"))
    starts = record_runs(cards)
    for n in range(5):
        await slack.reply_text(f"bet 1 {1 + n % 2} 10", BOB)
    await cards.flush()
    edits = slack.stub.calls_of("chat.update")[before:]
    assert 1 <= len(edits) == len(starts) <= 5
    # At most one edit per interval, however slowly the bets came (how many edits a burst
    # makes depends on how long it lasts), and the last one shows the final state.
    assert spaced(starts, cards.interval), starts
    assert "Volume 50 pts" in str(slack.stub.message(CHANNEL, ts).blocks)


async def test_create_form_refusal_is_private(slack: SlackDriver, engine: AsyncEngine) -> None:
    await slack.reply_text("list", ALICE)  # the workspace exists from the first contact on
    name = await slack.command("create", ALICE, wait=False)
    view = await slack.opened_view(1)
    before = await snapshot(engine)
    short = create_values(question=plain_text_value("Rain?"))
    assert await slack.submit(view, short, ALICE) == (200, "")
    reply = await slack.stub.wait_for_response(str(name))
    assert reply.body["text"] == "The question is too short (5 characters); write at least 10."
    assert await snapshot(engine) == before


async def test_app_home(slack: SlackDriver, engine: AsyncEngine) -> None:
    await create_via_modal(slack)
    await slack.reply_text("bet 1 no 40", BOB)
    body = app_home_opened_body(BOB)
    assert (await slack.post(body))[0] == 200
    await slack.stub.wait_until(lambda: "Open markets" in str(slack.stub.home_views.get(BOB)))
    home = str(slack.stub.home_views[BOB]["blocks"])
    assert "960 points" in home
    assert "No: " in home and QUESTION in home
    assert "home_bet" in home

    # Betting from the App Home answers in the App Home.
    view = slack.stub.home_views[BOB]
    click = block_actions_payload("home_bet", "1", user_id=BOB, view=view)
    assert (await slack.post(block_actions_body(click)))[0] == 200
    form = await slack.opened_view(2)
    assert "initial_option" not in form["blocks"][2]["element"]
    assert await slack.submit(form, bet_values("10", "Yes")) == (200, "")
    await slack.stub.wait_until(lambda: "Bought " in str(slack.stub.home_views[BOB]["blocks"][0]))
    assert "950 points" in str(slack.stub.home_views[BOB]["blocks"])
