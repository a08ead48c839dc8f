"""Long lists on Slack: `list`, `portfolio` and `overdue` say what they leave out and page with
`page:N`; the App Home pages with buttons; a bad page is refused privately, changing nothing."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.core.commands import CloseMarket, Command, CreateMarket, PlaceBet
from bot.core.models import Actor, Context
from tests.adapters.slack.harness import ADMIN, ALICE, BOB, TEAM, SlackDriver
from tests.adapters.slack.test_limits import QUESTION, total_text
from tests.adapters.slack.test_odds import mrkdwn_texts
from tests.fakes import specs
from tests.fakes.slack_stub import (
    ResponsePost,
    app_home_opened_body,
    block_actions_body,
    block_actions_payload,
)
from tests.helpers import snapshot


async def as_user(slack: SlackDriver, user: str, command: Command) -> None:
    actor = Actor(user, user.lower(), is_moderator=user == ADMIN)
    await slack.adapter.service.execute(command, Context("slack", TEAM, actor, channel=None))


async def seed(slack: SlackDriver, count: int, question: str = "Will market {n} resolve?") -> None:
    """Create `count` markets as Alice, straight through the service (no cards posted)."""
    for n in range(1, count + 1):
        closes = f"2026-04-{1 + n % 28:02}"
        await as_user(slack, ALICE, CreateMarket(question.format(n=f"{n:02}"), closes))


def blocks_text(reply: ResponsePost) -> str:
    return "\n".join([*mrkdwn_texts(reply.body.get("blocks")), reply.body["text"]])


def well_formed(reply: ResponsePost, *, whole: bool = True) -> None:
    """Every text is valid mrkdwn, the message fits, and (`whole`) nothing was shortened."""
    texts = [*mrkdwn_texts(reply.body.get("blocks")), reply.body["text"]]
    assert [specs.mrkdwn_problem(t) for t in texts] == [None] * len(texts)
    assert total_text(reply.body) <= specs.SLACK_MESSAGE_TOTAL_TEXT_MAX
    assert not whole or "…" not in "".join(texts)


async def test_list_says_how_many_more_and_pages(slack: SlackDriver) -> None:
    await seed(slack, 23)
    first = await slack.command("list", BOB)
    assert isinstance(first, ResponsePost)
    shown = blocks_text(first)
    assert "*#23*" in shown and "*#14*" in shown and "*#13*" not in shown
    assert "Showing 10 of 23 — `/predict list open page:2` for more." in shown
    well_formed(first)
    last = await slack.command("list open page:3", BOB)
    assert isinstance(last, ResponsePost)
    shown = blocks_text(last)
    assert "*#3*" in shown and "*#1*" in shown and "*#4*" not in shown
    assert "Showing 21–23 of 23 — the last page; `/predict list open page:1` goes back." in shown


async def test_a_page_of_the_longest_markets_fits_a_message(slack: SlackDriver) -> None:
    await seed(slack, 12, QUESTION[:-2] + "{n}")
    for command, numbers in (("list", range(12, 2, -1)), ("list all page:2", (2, 1))):
        reply = await slack.command(command, BOB)
        assert isinstance(reply, ResponsePost)
        well_formed(reply, whole=False)  # a question is shortened on a list's line, whole
        shown = blocks_text(reply)
        for n in numbers:  # every market of the page has its line
            assert f"*#{n}* Will R&amp;D ship &lt;the thing&gt; &amp; more? &amp;" in shown
        assert "&amp;… — Yes 50% · Open · closes <!date^" in shown
        assert "`/predict list" in shown


async def test_overdue_shows_every_market_of_a_page_whole(slack: SlackDriver) -> None:
    await seed(slack, 12, QUESTION[:-2] + "{n}")
    for n in range(1, 13):
        await as_user(slack, ALICE, CloseMarket(n))
    first = await slack.command("overdue", ADMIN)
    assert isinstance(first, ResponsePost)
    assert first.body["text"] == "12 markets waiting for a resolution."
    shown = blocks_text(first)
    assert [f"*#{n}* Will R&amp;D ship" in shown for n in range(1, 13)] == [True] * 10 + [False] * 2
    assert "Showing 10 of 12 — `/predict overdue page:2` for more." in shown
    well_formed(first, whole=False)
    second = await slack.command("overdue page:2", ADMIN)
    assert isinstance(second, ResponsePost)
    assert "*#11* " in blocks_text(second) and "*#12* " in blocks_text(second)
    assert "*#10* " not in blocks_text(second)
    well_formed(second, whole=False)


async def test_portfolio_says_how_many_more_and_pages(slack: SlackDriver) -> None:
    await seed(slack, 12)
    for n in range(1, 13):
        await as_user(slack, BOB, PlaceBet(n, "yes", 5))
    first = await slack.command("portfolio", BOB)
    assert isinstance(first, ResponsePost)
    shown = blocks_text(first)
    assert "*#1* Will market 01 resolve?" in shown and "*#10* " in shown and "*#11* " not in shown
    assert "Showing 10 of 12 — `/predict portfolio page:2` for more." in shown
    assert "*Balance:* 940 points. *Positions:*" in shown
    assert first.body["text"] == "Balance: 940 points · 12 open positions."
    well_formed(first)
    second = await slack.command("positions page:2", BOB)
    assert isinstance(second, ResponsePost)
    shown = blocks_text(second)
    assert "*#11* " in shown and "*#12* " in shown and "*#10* " not in shown
    assert "Showing 11–12 of 12 — the last page; `/predict portfolio page:1` goes back." in shown


async def test_bad_pages_are_refused_privately_and_change_nothing(
    slack: SlackDriver, engine: AsyncEngine
) -> None:
    await seed(slack, 3)
    await slack.reply_text("list", BOB)
    before = await snapshot(engine)
    refusals = {
        "list page:0": "`0` is not a page number — pages are numbered from 1, like `page:2`.",
        "list open page:abc": "`abc` is not a page number — pages are numbered from 1, like "
        "`page:2`.",
        "list open page:2": "There is no page 2: there are 3 open markets, on page 1.",
        "list resolved page:2": "There is no page 2: there are no resolved markets.",
        "portfolio page:2": "There is no page 2: there are no open positions.",
        "overdue page:-3": "`-3` is not a page number — pages are numbered from 1, like `page:2`.",
        "overdue page:2": "There is no page 2: there are no markets waiting for a resolution.",
        "leaderboard page:2": "Unexpected `page:2`. Usage: `leaderboard`",
    }
    for command, refusal in refusals.items():
        reply = await slack.command(command, ADMIN if command.startswith("overdue") else BOB)
        assert isinstance(reply, ResponsePost)
        assert reply.body["response_type"] == "ephemeral"
        assert reply.body["text"] == refusal, command
    assert await snapshot(engine) == before


def home_button(view: dict[str, Any], action_id: str) -> dict[str, Any]:
    [button] = [
        element
        for block in view["blocks"]
        if block["type"] == "actions"
        for element in block["elements"]
        if element["action_id"] == action_id
    ]
    return button


async def click_home(slack: SlackDriver, action_id: str, value: str) -> None:
    view = slack.stub.home_views[BOB]
    published = len(slack.stub.calls_of("views.publish"))
    click = block_actions_payload(action_id, value, user_id=BOB, view=view)
    assert (await slack.post(block_actions_body(click)))[0] == 200
    await slack.stub.wait_for_call("views.publish", published + 1)


async def test_the_app_home_pages_markets_and_positions_with_buttons(
    slack: SlackDriver, engine: AsyncEngine
) -> None:
    stub = slack.stub
    await seed(slack, 23)
    for n in range(1, 13):
        await as_user(slack, BOB, PlaceBet(n, "no", 5))
    assert (await slack.post(app_home_opened_body(BOB)))[0] == 200
    await stub.wait_until(lambda: "Open markets" in str(stub.home_views.get(BOB)))
    home = stub.home_views[BOB]
    shown = "\n".join(mrkdwn_texts(home["blocks"]))
    assert "*#23*" in shown and "*#14*" in shown and "*#13* Will market 13" not in shown
    assert "Showing 10 of 23 open markets." in shown
    assert "Showing 10 of 12 open positions." in shown
    assert "*#1* Will market 01 resolve?\nNo: 9.76 shares" in shown
    assert "*#11* Will market 11" not in shown
    assert len(home["blocks"]) <= specs.SLACK_VIEW_BLOCKS_MAX

    before = await snapshot(engine)
    following = home_button(home, "home_page:markets:next")
    assert following["text"]["text"] == "Next page"
    await click_home(slack, following["action_id"], following["value"])
    home = stub.home_views[BOB]
    shown = "\n".join(mrkdwn_texts(home["blocks"]))
    assert "*#13* Will market 13" in shown and "*#4* " in shown and "*#14* " not in shown
    assert "Showing 11–20 of 23 open markets." in shown
    assert "Showing 10 of 12 open positions." in shown  # the other list stays where it was
    back = home_button(home, "home_page:markets:back")
    positions = home_button(home, "home_page:positions:next")
    await click_home(slack, positions["action_id"], positions["value"])
    shown = "\n".join(mrkdwn_texts(stub.home_views[BOB]["blocks"]))
    assert "Showing 11–12 of 12 open positions." in shown
    assert "Showing 11–20 of 23 open markets." in shown
    await click_home(slack, back["action_id"], back["value"])
    assert "Showing 10 of 23 open markets." in "\n".join(
        mrkdwn_texts(stub.home_views[BOB]["blocks"])
    )

    # A button from before the lists shrank, and a forged one: said so, first pages shown.
    await click_home(slack, "home_page:markets:next", json.dumps({"p": 1, "m": 9}))
    notice = stub.home_views[BOB]["blocks"][0]["text"]["text"]
    assert notice == "There is no page 9: there are 23 open markets, on pages 1 to 3."
    assert "Showing 10 of 23 open markets." in str(stub.home_views[BOB]["blocks"])
    for forged in ("not json", json.dumps({"p": "x", "m": 0}), json.dumps([1])):
        await click_home(slack, "home_page:markets:next", forged)
        notice = stub.home_views[BOB]["blocks"][0]["text"]["text"]
        assert notice == "That button is out of date; here are the first pages.", forged
    assert await snapshot(engine) == before
    stub.assert_accepted()
