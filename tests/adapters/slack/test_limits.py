"""The longest texts a market may have, full of `&`, `<` and `>`, through the Slack stand-in:
every message, modal and Home tab stays within what Slack accepts and shows as typed."""

from __future__ import annotations

import re
from typing import Any

from tests.adapters.slack.harness import ADMIN, ALICE, BOB, CHANNEL, SlackDriver
from tests.adapters.slack.test_lifecycle import bet_values, create_values
from tests.fakes import specs
from tests.fakes.slack_stub import (
    ResponsePost,
    app_home_opened_body,
    block_actions_body,
    block_actions_payload,
    plain_text_value,
)

# As long as the core allows (300, 2000 and 10 x 50 characters), escaping to five times that.
QUESTION = "Will R&D ship <the thing> & more?" + " &" * 133
CRITERIA = "& <criteria> " * 153
OUTCOMES = ",".join(f"{n} " + "&" * 48 for n in range(10))


async def create(
    slack: SlackDriver, markets: int = 1, *, outcomes: str = OUTCOMES, criteria: str = CRITERIA
) -> None:
    """Create markets through the form (whose text Slack does not escape) and post their cards."""
    for n in range(1, markets + 1):
        name = await slack.command("create", ALICE, wait=False)
        view = await slack.opened_view(n)
        values = create_values(
            question=plain_text_value(QUESTION[:-2] + f"{n:02}"),
            outcomes=plain_text_value(outcomes),
            criteria=plain_text_value(criteria),
        )
        assert await slack.submit(view, values, ALICE) == (200, "")
        created = await slack.stub.wait_for_response(str(name))
        assert created.body["text"].startswith(f"Market #{n} created: Will R&amp;D ship ")
    await slack.deliver()


def total_text(message: dict[str, Any]) -> int:
    """The text of a message in all: its fallback and every text object of its blocks."""
    found = [message.get("text") or ""]
    stack = list(message.get("blocks") or [])
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            if node.get("type") in ("mrkdwn", "plain_text"):
                found.append(node["text"])
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return sum(map(len, found))


async def test_long_replies_are_cut_between_entities_and_within_12000_characters(
    slack: SlackDriver,
) -> None:
    await create(slack, 5)
    closed = await slack.command("close 1", ALICE)  # the reply repeats the whole card
    listed = await slack.command("list all", BOB)
    for reply in (closed, listed):
        assert isinstance(reply, ResponsePost)
        assert total_text(reply.body) <= specs.SLACK_MESSAGE_TOTAL_TEXT_MAX
        assert [specs.mrkdwn_problem(s["text"]["text"]) for s in reply.body["blocks"]] == [
            None
        ] * len(reply.body["blocks"])
    assert "R&amp;D ship &lt;the thing&gt; &amp; more?" in str(listed.body["blocks"])  # type: ignore[union-attr]


async def test_the_overdue_list_cuts_no_date_or_entity(slack: SlackDriver) -> None:
    await create(slack, 7)
    for n in range(1, 8):
        await slack.reply_text(f"close {n}", ALICE)
    overdue = await slack.command("overdue", ADMIN)
    assert isinstance(overdue, ResponsePost)
    assert overdue.body["text"] == "7 markets waiting for a resolution."
    *waiting, hint = overdue.body["blocks"]
    assert hint["type"] == "context"
    assert total_text(overdue.body) <= specs.SLACK_MESSAGE_TOTAL_TEXT_MAX
    texts = [block["text"]["text"] for block in waiting]
    assert all(len(text) <= 3000 and specs.mrkdwn_problem(text) is None for text in texts)
    lines = "\n".join(texts).split("\n")[1:]
    # Every market has its line (the list was one section, cut at 3,000 characters), its
    # question shortened between entities and its closing time a whole date token.
    assert [line.split("*")[1] for line in lines] == [f"#{n}" for n in range(1, 8)]
    assert all(
        line.startswith(f"• *#{n}* Will R&amp;D ship &lt;the thing&gt;")
        for n, line in enumerate(lines, 1)
    )
    assert all(
        re.search(r"&amp;… · closed <!date\^\d+\^[^<>]*\|[^<>]*UTC>$", line) for line in lines
    )


async def test_the_home_tab_of_long_markets_is_published(slack: SlackDriver) -> None:
    await create(slack, 2)
    assert (await slack.post(app_home_opened_body(BOB)))[0] == 200
    await slack.stub.wait_until(lambda: "Open markets" in str(slack.stub.home_views.get(BOB)))
    home = str(slack.stub.home_views[BOB]["blocks"])
    assert "*#1* Will R&amp;D ship &lt;the thing&gt; &amp; more?" in home
    assert "*#2* Will R&amp;D ship" in home


async def test_a_card_with_a_long_evidence_link_is_still_updated(slack: SlackDriver) -> None:
    await create(slack)
    # Within the 2,000 characters evidence may have, but far over a section once escaped.
    evidence = "https://example.com/report?" + "a=1&amp;" * 450  # as Slack sends `&`
    resolved = await slack.reply_text(f"resolve 1 1 evidence:{evidence}", ADMIN)
    assert resolved.startswith("Market #1 resolved: 0 &amp;&amp;")
    await slack.deliver()
    [card] = [
        m for m in slack.stub.channel_messages(CHANNEL) if (m.text or "").startswith("Market #1: ")
    ]
    await slack.stub.wait_until(lambda: "Evidence: https://example.com/report" in str(card.blocks))
    assert total_text({"text": card.text, "blocks": card.blocks}) <= 12_000


async def test_a_home_notice_shows_the_reply_as_typed(slack: SlackDriver) -> None:
    await create(slack, outcomes="R&D, Sales", criteria="Per the minutes.")
    assert (await slack.post(app_home_opened_body(BOB)))[0] == 200
    await slack.stub.wait_until(lambda: "Open markets" in str(slack.stub.home_views.get(BOB)))
    click = block_actions_payload("home_bet", "1", user_id=BOB, view=slack.stub.home_views[BOB])
    assert (await slack.post(block_actions_body(click)))[0] == 200
    form = await slack.opened_view(2)
    assert await slack.submit(form, bet_values("10", "1")) == (200, "")
    await slack.stub.wait_until(lambda: "Bought " in str(slack.stub.home_views[BOB]["blocks"][0]))
    notice = slack.stub.home_views[BOB]["blocks"][0]["text"]["text"]
    assert "of R&amp;D in #1" in notice and "&amp;amp;" not in notice  # escaped once, not twice
