"""Deadlines and announcements on Slack with the real scheduler and outbox dispatcher."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import aiohttp
import pytest

from bot.adapters.slack import SlackAdapter
from bot.core.models import CommunitySettings
from bot.core.service import Service
from bot.runtime import SystemClock, build_background
from bot.settings import SchedulerSettings
from storage.engine import create_engine
from storage.store import SqlStore
from tests.adapters.slack.conftest import slack_settings
from tests.adapters.slack.harness import (
    ADMIN,
    ALICE,
    BOB,
    CHANNEL,
    TEAM,
    SlackDriver,
    button_value,
)
from tests.adapters.slack.test_lifecycle import bet_values
from tests.fakes.slack_stub import ResponsePost, SlackWebStub, StoredMessage
from tests.scheduling.support import outbox_settled, wait_for

FAST = SchedulerSettings(
    sweep_every=0.5,
    outbox_poll=0.2,
    outbox_lease=10.0,
    outbox_retry_base=0.2,
    drain_timeout=3.0,
)
QUESTION = "Will the deadline close this market <!channel> on time?"


def posts(stub: SlackWebStub, prefix: str) -> list[StoredMessage]:
    """Messages in the channel whose fallback text starts with `prefix`."""
    return [m for m in stub.channel_messages(CHANNEL) if (m.text or "").startswith(prefix)]


async def card_ref(service: Service, within: float = 3.0) -> str | None:
    """Wait until the dispatcher has recorded where market #1's card was posted."""
    deadline = time.monotonic() + within
    while True:
        card = await service.card("slack", TEAM, 1)
        if (card and card.card_ref) or time.monotonic() > deadline:
            return card.card_ref if card else None
        await asyncio.sleep(0.02)


@pytest.fixture
async def live(stub: SlackWebStub, db_url: str) -> AsyncIterator[SlackDriver]:
    """The adapter over HTTP plus the scheduler and the dispatcher, on one database."""
    async with running(stub, db_url, (ADMIN, "carol")) as driver:
        yield driver


@contextlib.asynccontextmanager
async def running(
    stub: SlackWebStub, db_url: str, moderators: tuple[str, ...]
) -> AsyncIterator[SlackDriver]:
    """Run the adapter, the scheduler and the dispatcher with these configured moderators."""
    engine = create_engine(db_url)
    defaults = CommunitySettings(min_duration=0, moderators=moderators)
    clock = SystemClock()
    store = SqlStore(engine, defaults=defaults, now=clock.now)
    service = Service(store, clock)
    adapter = SlackAdapter(service, slack_settings(stub), card_interval=0.05, host="127.0.0.1")
    await adapter.start()
    background = build_background(service, store, [adapter], FAST)
    for job in background:
        await job.start()
    try:
        async with aiohttp.ClientSession() as http:
            yield SlackDriver(stub, adapter, engine, http)
    finally:
        for job in reversed(background):
            await job.stop()
        await adapter.stop()
        await engine.dispose()


async def test_a_market_lives_through_its_deadline_with_the_real_dispatcher(
    live: SlackDriver,
) -> None:
    stub, service = live.stub, live.adapter.service
    closes_at = datetime.now(UTC) + timedelta(seconds=3)
    created = await live.reply_text(f'create "{QUESTION}" closes:{closes_at.isoformat()}', ALICE)
    assert created.startswith("Market #1 created: ")

    # The dispatcher posts the card in the channel, on its own.
    await stub.wait_until(lambda: bool(posts(stub, "Market #1: ")))
    [card] = posts(stub, "Market #1: ")
    assert await card_ref(service) == f"{CHANNEL}:{card.ts}"
    assert [b["accessory"]["action_id"] for b in card.blocks or [] if "accessory" in b] == [
        "bet:1",
        "bet:2",
    ]

    # A bet through the button and its form edits the card.
    clicked = await live.click("bet:1", button_value(1, 1), BOB, message_ts=card.ts)
    form = await live.opened_view(1)
    assert await live.submit(form, bet_values("100", "1")) == (200, "")
    bought = await stub.wait_for_response(clicked)
    assert bought.body["text"].startswith("Bought ")
    await stub.wait_until(lambda: "Volume 100 pts · 1 trader" in str(card.blocks))

    # The deadline closes the market within about a second, announced once.
    await stub.wait_until(lambda: bool(posts(stub, ":lock: Market #1 closed")), within=6)
    assert time.time() - closes_at.timestamp() < 2.5
    [closed] = posts(stub, ":lock: Market #1 closed")
    assert (closed.text or "").startswith(":lock: Market #1 closed at its deadline.")
    assert "<!channel>" not in str(closed.blocks) and "<@" not in str(closed.blocks)
    state = await service.card("slack", TEAM, 1)
    assert state is not None and state.status == "closed" and state.closed_at is not None
    assert (state.closed_at - closes_at).total_seconds() < 1.5

    # The card shows the market closed, with no buttons left.
    await stub.wait_until(lambda: "awaiting resolution" in str(card.blocks))
    assert not [b for b in card.blocks or [] if "accessory" in b]

    # A reminder mentions the creator and the configured moderator with a Slack id.
    await stub.wait_until(lambda: bool(posts(stub, ":alarm_clock:")), within=5)
    [reminder] = posts(stub, ":alarm_clock:")
    assert (reminder.text or "").startswith(
        f":alarm_clock: <@{ALICE}>, <@{ADMIN}>: market #1 closed <!date^"
    )
    assert "carol" not in (reminder.text or "")

    # Moderators see it in the overdue list; members may not look.
    refused = await live.reply_text("overdue", BOB)
    assert refused.startswith("Only moderators")
    overdue = await live.command("overdue", ADMIN)
    assert isinstance(overdue, ResponsePost) and overdue.body["response_type"] == "ephemeral"
    assert overdue.body["text"] == "1 market waiting for a resolution."
    assert "*#1* Will the deadline close" in str(overdue.body["blocks"])

    # An admin resolves: the result is posted once, and the card shows it.
    resolved = await live.reply_text("resolve 1 yes", ADMIN)
    assert resolved.startswith("Market #1 resolved: Yes.")
    await stub.wait_until(lambda: bool(posts(stub, "Market #1 resolved: Yes")), within=5)
    await stub.wait_until(lambda: "Resolved: *Yes*" in str(card.blocks))
    await wait_for(lambda: outbox_settled(live.engine))  # nothing more is on its way
    assert len(posts(stub, "Market #1 resolved")) == 1
    assert len(posts(stub, ":lock:")) == 1 and len(posts(stub, ":alarm_clock:")) == 1
    assert len(posts(stub, "Market #1: ")) == 1


async def test_a_reminder_to_150_moderators_keeps_the_market_and_question(
    stub: SlackWebStub, db_url: str
) -> None:
    moderators = tuple(f"U{10**9 + n}" for n in range(150))
    question = "Will R&D ship <the thing> by May?" + " &" * 133  # the longest, escaping to 5x
    async with running(stub, db_url, moderators) as live:
        closes = (datetime.now(UTC) + timedelta(days=1)).isoformat()
        await live.reply_text(f'create "{question}" closes:{closes}', ALICE)
        assert (await live.reply_text("close 1", ALICE)).startswith("Market #1 closed")
        await stub.wait_until(lambda: bool(posts(stub, ":alarm_clock:")), within=5)
    [reminder] = posts(stub, ":alarm_clock:")
    [section] = reminder.blocks or []
    text = section["text"]["text"]
    assert len(text) <= 3000
    assert text.startswith(f":alarm_clock: <@{ALICE}>, <@{moderators[0]}>, ")
    named = text.count("<@")
    assert f"<@{moderators[named - 2]}> and {151 - named} more moderators: market #1 closed" in text
    assert "*Will R&amp;D ship &lt;the thing&gt; by May? &amp; &amp;" in text
    assert text.endswith("(or `na` to cancel and refund everyone).")
