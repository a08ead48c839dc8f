"""`/predict` end to end: bolt's real HTTP server, signed requests, the Web API stand-in."""

from __future__ import annotations

import asyncio
import re
import time
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from tests.adapters.slack.harness import ADMIN, BOB, CHANNEL, SlackDriver
from tests.fakes.slack_stub import ResponsePost, signed_headers, slash_command_body
from tests.helpers import ledger_check, snapshot

CREATE = 'create "Will the S-400 arrive by March?" closes:2026-03-10 outcomes:"Yes, No"'


async def test_help_alone_and_by_name(slack: SlackDriver) -> None:
    overview = await slack.reply_text("")
    assert "create" in overview and "bet" in overview
    assert (await slack.reply_text("   help   ")) == overview
    assert "bet &lt;id&gt; &lt;outcome&gt; &lt;points&gt;" in await slack.reply_text("help bet")


async def test_text_commands_run_through_the_core_grammar(
    slack: SlackDriver, engine: AsyncEngine
) -> None:
    created = await slack.reply_text(CREATE)
    assert created.startswith("Market #1 created: Will the S-400 arrive by March?")
    assert f"<#{CHANNEL}>" in created

    bought = await slack.reply_text("bet 1 yes 100", BOB)
    assert bought.startswith("Bought 148.99 shares of Yes in #1 for 100 points.")
    assert "50% → 82%" in bought
    assert (await slack.reply_text("balance", BOB)).startswith("You have 900 points")
    shown = await slack.command("show #1", BOB)
    assert isinstance(shown, ResponsePost)
    assert [b["accessory"]["action_id"] for b in shown.body["blocks"] if "accessory" in b] == [
        "bet:1",
        "bet:2",
    ]
    balances = await ledger_check(engine)
    assert balances[BOB] == 900_000_000


async def test_refusals_are_private_specific_and_change_nothing(
    slack: SlackDriver, engine: AsyncEngine
) -> None:
    await slack.reply_text(CREATE)
    before = await snapshot(engine)
    assert await slack.reply_text("bet 1 maybe 5", BOB) == (
        "Market #1 has no outcome `maybe`. Its outcomes: 1. Yes, 2. No."
    )
    assert await slack.reply_text("bet 1 yes 5000", BOB) == (
        "You have 1,000 points; this bet needs 5,000."
    )
    assert "Unknown command `frobnicate`" in await slack.reply_text("frobnicate")
    assert await slack.reply_text("resolve 1 yes", BOB) == (
        "Only a moderator may resolve this market (its creator may too, "
        "but only while holding no position in it)."
    )
    assert await snapshot(engine) == before


async def test_values_that_need_quotes_are_refused_privately_and_change_nothing(
    slack: SlackDriver, engine: AsyncEngine
) -> None:
    await slack.reply_text(CREATE)
    before = await snapshot(engine)
    assert await slack.reply_text("create Will it rain tomorrow? closes:Dec 31") == (
        'Is `Dec 31` the deadline? A time of several words goes in quotes: `closes:"Dec 31"`.'
        " If `31` belongs to the question, put the question in quotes instead."
    )
    assert '`closes:"next friday"`' in await slack.reply_text(
        "create Will it snow? closes:next friday"
    )
    assert '`outcomes:"Yes, No, Maybe"`' in await slack.reply_text(
        'create "Will it rain on Friday?" closes:2026-03-10 outcomes:Yes, No, Maybe'
    )
    assert '`closes:"next friday"`' in await slack.reply_text("extend 1 closes:next friday")
    assert await slack.reply_text("bet 1 yes", BOB) == (
        "Missing the points — how many to stake, like `bet 1 yes 50`. "
        "Usage: `bet &lt;id&gt; &lt;outcome&gt; &lt;points&gt;`"
    )
    assert await snapshot(engine) == before


async def test_deadlines_are_read_the_way_the_workspace_writes_dates(
    slack: SlackDriver, engine: AsyncEngine
) -> None:
    async def card_deadline(text: str) -> str:
        assert (await slack.reply_text(text)).startswith("Market #")
        await slack.deliver()
        return str(slack.stub.last_message(CHANNEL).blocks)

    def stamp(*moment: int) -> str:
        return f"<!date^{int(datetime(*moment, tzinfo=UTC).timestamp())}^"  # type: ignore[misc]

    dmy = await card_deadline('create "Will it rain in Leeds on 5 June?" closes:05/06/2027')
    assert stamp(2027, 6, 5, 23, 59, 59) in dmy  # dmy by default
    assert "Updated date_order." in await slack.reply_text("config date_order:mdy", ADMIN)
    mdy = await card_deadline('create "Will it rain in Ohio on May 6?" closes:05/06/2027')
    assert stamp(2027, 5, 6, 23, 59, 59) in mdy
    assert "Updated date_order." in await slack.reply_text("config date_order:ymd", ADMIN)
    before = await snapshot(engine)
    assert await slack.reply_text('create "Will it rain in Seoul?" closes:05/06/2027') == (
        "`05/06/2027` could be 5 Jun 2027 or 6 May 2027: write it year first, like 2027-06-05."
    )
    assert await snapshot(engine) == before


async def test_help_examples_work_when_pasted_into_slack(slack: SlackDriver) -> None:
    examples = re.findall(r"Example: `([^`]+)`", await slack.reply_text("help create"))
    assert len(examples) == 3
    for number, example in enumerate(examples, 1):
        assert (await slack.reply_text(example, ADMIN)).startswith(f"Market #{number} created")
    (overview,) = re.findall(r"Example: `([^`]+)`", await slack.reply_text("help"))
    assert (await slack.reply_text(overview, ADMIN)).startswith("Market #4 created")


async def test_admin_is_a_moderator_others_are_not(slack: SlackDriver) -> None:
    assert "Only moderators" in await slack.reply_text("config", BOB)
    settings = await slack.reply_text("config", ADMIN)
    assert settings.startswith("Settings:")
    # Configured moderators come from the core; Slack sends mentions escaped like this.
    changed = await slack.reply_text(f"config moderators:<@{BOB}|bob>", ADMIN)
    assert changed.startswith("Updated moderators.")
    assert (await slack.reply_text("config", BOB)).startswith("Settings:")


async def test_slack_entities_are_unescaped_before_parsing(slack: SlackDriver) -> None:
    reply = await slack.reply_text(
        'create "Will R&amp;D ship &lt;the thing&gt; by March?" closes:2026-03-10'
    )
    assert "Will R&amp;D ship &lt;the thing&gt; by March?" in reply  # stored once, shown once
    shown = await slack.reply_text("show 1")
    assert "R&amp;D" in shown and "&amp;amp;" not in shown


async def test_retried_slash_command_changes_nothing_twice(
    slack: SlackDriver, engine: AsyncEngine
) -> None:
    await slack.reply_text(CREATE)
    name, url = slack.response_url()
    body = slash_command_body(
        text="bet 1 yes 100", user_id=BOB, channel_id=CHANNEL, trigger_id="T.1", response_url=url
    )
    assert await slack.post(body) == (200, "")
    first = await slack.stub.wait_for_response(name)
    once = await snapshot(engine)
    for retry in ("1", "2"):
        headers = {"X-Slack-Retry-Num": retry, "X-Slack-Retry-Reason": "http_timeout"}
        assert await slack.post(body, headers) == (200, "")
    again = await slack.stub.wait_for_response(name, 3)
    assert again.body["text"] == first.body["text"]
    assert await snapshot(engine) == once
    assert (await ledger_check(engine))[BOB] == 900_000_000


async def test_forged_and_stale_signatures_are_rejected(
    slack: SlackDriver, engine: AsyncEngine
) -> None:
    await slack.reply_text(CREATE)
    before = await snapshot(engine)
    calls = len(slack.stub.calls)
    body = slash_command_body(text="bet 1 yes 100", user_id=BOB, channel_id=CHANNEL)
    assert (await slack.post(body, secret="not-the-secret"))[0] == 401
    stale = slash_command_body(text="bet 1 yes 100", user_id=BOB, channel_id=CHANNEL)
    old = signed_headers(stale, "test-signing-secret", timestamp=int(time.time()) - 6 * 60)
    async with slack.http.post(slack.url, data=stale, headers=old) as resp:
        assert resp.status == 401
    assert await snapshot(engine) == before
    assert len(slack.stub.calls) == calls


async def test_user_text_never_pings(slack: SlackDriver) -> None:
    await slack.reply_text(
        'create "Will <!channel> and @here see <@U0BOB|bob> win?" closes:2026-03-10 '
        'outcomes:"@everyone, <!here>" criteria:"Ask <!everyone> @channel"'
    )
    await slack.deliver()
    posted = slack.stub.last_message(CHANNEL)
    everything = str(posted.blocks) + (posted.text or "")
    for ping in ("<!channel>", "<!here>", "<!everyone>", "<@U0BOB", "@here", "@everyone"):
        assert ping not in everything
    assert "@\u2060channel" in everything and "@bob" in everything


async def test_ack_comes_before_the_work(slack: SlackDriver) -> None:
    release = asyncio.Event()

    async def slow_users_info(params: dict[str, Any]) -> dict[str, Any]:
        await release.wait()  # Slack (or the database) is slow today
        return {"ok": True, "user": slack.stub.users[params["user"]]}

    slack.stub.set_handler("users.info", slow_users_info)
    started = time.monotonic()
    name = await slack.command("balance", BOB, wait=False)
    assert time.monotonic() - started < 1.0  # acked while the work still waits
    assert slack.stub.responses_for(str(name)) == []
    release.set()
    reply = await slack.stub.wait_for_response(str(name))
    assert reply.body["text"].startswith("You have 1,000 points")
