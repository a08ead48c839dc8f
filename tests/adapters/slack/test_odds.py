"""Odds of <1% and >99% on every Slack surface: escaped once in mrkdwn, never raw, never twice."""

from __future__ import annotations

from typing import Any

from tests.adapters.slack.harness import ALICE, BOB, CHANNEL, SlackDriver, button_value
from tests.fakes import specs
from tests.fakes.slack_stub import (
    ResponsePost,
    app_home_opened_body,
    block_actions_body,
    block_actions_payload,
)

# As Slack sends it: the user typed `R&D <team>`; should_escape turns it into entities.
CREATE = (
    'create "Will R&amp;D &lt;team&gt; ship it?" closes:2026-12-31 outcomes:"Yes, No &amp; more"'
)


def mrkdwn_texts(value: Any) -> list[str]:
    """Every mrkdwn text of a message or view, the fallback text included."""
    found: list[str] = []
    stack = [value]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            if node.get("type") == "mrkdwn" and isinstance(node.get("text"), str):
                found.append(node["text"])
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return found


def assert_shown_once(texts: list[str]) -> None:
    """The odds and the user's text appear escaped exactly once, and nothing is raw."""
    joined = "\n".join(texts)
    assert [specs.mrkdwn_problem(t) for t in texts] == [None] * len(texts), joined
    assert "&gt;99%" in joined and "&lt;1%" in joined, joined
    assert "&amp;amp;" not in joined and "&amp;lt;" not in joined, joined


async def lopsided_market(slack: SlackDriver) -> str:
    """Create a market whose odds are >99% and <1%, post its card; return the card's ts."""
    created = await slack.reply_text(CREATE, ALICE)
    assert created.startswith("Market #1 created: Will R&amp;D &lt;team&gt; ship it?")
    [ref] = await slack.deliver()
    assert ref is not None
    bought = await slack.reply_text("bet 1 yes 400", BOB)
    assert "Yes: 50% → &gt;99%" in bought
    return ref.split(":")[1]


async def test_odds_are_escaped_on_cards_edits_show_the_bet_form_and_home(
    slack: SlackDriver,
) -> None:
    stub = slack.stub
    ts = await lopsided_market(slack)

    # The card edited in place after the bet.
    await stub.wait_until(lambda: "&gt;99%" in str(stub.message(CHANNEL, ts).blocks))
    card = stub.message(CHANNEL, ts)
    assert_shown_once([*mrkdwn_texts(card.blocks), card.text or ""])
    assert "Will R&amp;D &lt;team&gt; ship it?" in str(card.blocks)

    # `show`, privately.
    shown = await slack.command("show 1", BOB)
    assert isinstance(shown, ResponsePost)
    assert_shown_once([*mrkdwn_texts(shown.body["blocks"]), shown.body["text"]])

    # The bet form opened from the card's button.
    await slack.click("bet:2", button_value(1, 2), BOB, message_ts=ts)
    form = await slack.opened_view(1)
    assert_shown_once(mrkdwn_texts(form["blocks"]))
    assert "No &amp; more &lt;1%" in str(form["blocks"])

    # The App Home.
    assert (await slack.post(app_home_opened_body(BOB)))[0] == 200
    await stub.wait_until(lambda: "Open markets" in str(stub.home_views.get(BOB)))
    home = stub.home_views[BOB]["blocks"]
    assert_shown_once(mrkdwn_texts(home))

    # The bet form opened from the App Home, and the reply shown there.
    click = block_actions_payload("home_bet", "1", user_id=BOB, view=stub.home_views[BOB])
    assert (await slack.post(block_actions_body(click)))[0] == 200
    home_form = await slack.opened_view(2)
    assert_shown_once(mrkdwn_texts(home_form["blocks"]))
    stub.assert_accepted()


async def test_the_stand_in_catches_raw_odds() -> None:
    raw = {
        "text": "x",
        "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "*<1%*"}}],
    }
    _, found = specs.check_slack_message("chat.update", raw)
    assert [v.rule.split(" (")[0] for v in found] == [
        "mrkdwn: '<' outside a control sequence must be escaped as &lt;"
    ]
    assert specs.mrkdwn_problem("Yes >99% · No <1%") is not None
    assert specs.mrkdwn_problem("Yes &gt;99% · No &lt;1%") is None
