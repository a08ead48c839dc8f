"""Deadlines and announcements on Discord with the real scheduler and outbox dispatcher."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.core.models import CommunitySettings
from bot.core.service import Service
from bot.runtime import Background, SystemClock, build_background
from bot.settings import SchedulerSettings
from storage.engine import create_engine
from storage.store import SqlStore
from tests.adapters.discord.conftest import Harness, content, start_adapter
from tests.fakes.discord_stub import (
    CHANNEL_ID,
    GUILD_ID,
    MANAGER_USER_ID,
    MEMBER_USER_ID,
    DiscordStub,
)
from tests.scheduling.support import outbox_settled, wait_for

JSON = dict[str, Any]
# Configured moderators: a real member's id, and a name that is no Discord id (never pinged).
MODERATOR_ID = 3003
FAST = SchedulerSettings(
    sweep_every=0.5,
    outbox_poll=0.2,
    outbox_lease=10.0,
    outbox_retry_base=0.2,
    drain_timeout=2.0,
)
QUESTION = "Will the @everyone deadline close this market on time?"


def buttons(message: JSON) -> list[JSON]:
    return [b for row in message["components"] for b in row["components"]]


def field(message: JSON, name: str) -> str:
    (embed,) = message["embeds"]
    return str(next(f["value"] for f in embed["fields"] if f["name"] == name))


def posts(stub: DiscordStub, prefix: str) -> list[JSON]:
    """Messages in the market's channel whose text starts with `prefix`."""
    return [m for m in stub.messages.get(CHANNEL_ID, []) if m["content"].startswith(prefix)]


async def card_ref(service: Service, within: float = 3.0) -> str | None:
    """Wait until the dispatcher has recorded where market #1's card was posted."""
    deadline = time.monotonic() + within
    while True:
        card = await service.card("discord", str(GUILD_ID), 1)
        if (card and card.card_ref) or time.monotonic() > deadline:
            return card.card_ref if card else None
        await asyncio.sleep(0.02)


@dataclass
class Live:
    """The adapter, the scheduler and the outbox dispatcher running on one database."""

    harness: Harness
    store: SqlStore
    background: list[Background]


@pytest.fixture
async def live(stub: DiscordStub, db_url: str) -> AsyncIterator[Live]:
    async with running(stub, db_url, (str(MODERATOR_ID), "carol")) as started:
        yield started


@contextlib.asynccontextmanager
async def running(
    stub: DiscordStub, db_url: str, moderators: tuple[str, ...]
) -> AsyncIterator[Live]:
    """Run the adapter, the scheduler and the dispatcher with these configured moderators."""
    engine = create_engine(db_url)
    defaults = CommunitySettings(min_duration=0, moderators=moderators)
    clock = SystemClock()
    store = SqlStore(engine, defaults=defaults, now=clock.now)
    service = Service(store, clock)
    adapter = await start_adapter(stub, service)
    background = build_background(service, store, [adapter], FAST)
    for job in background:
        await job.start()
    try:
        yield Live(Harness(stub, service, engine, adapter), store, background)
    finally:
        for job in reversed(background):
            await job.stop()
        await adapter.stop()
        await engine.dispose()
    assert stub.errors == [] and stub.unhandled == []


async def test_a_market_lives_through_its_deadline_with_the_real_dispatcher(live: Live) -> None:
    h = live.harness
    stub = h.stub
    closes_at = datetime.now(UTC) + timedelta(seconds=3)
    created = await h.slash(
        "market create",
        {"question": QUESTION, "closes": closes_at.isoformat()},
        user=MEMBER_USER_ID,
    )
    assert created.ephemeral and "Created market #1" in content(created)

    # The dispatcher posts the card in the channel, on its own.
    card = await stub.wait_for_message(
        CHANNEL_ID, lambda m: bool(m["embeds"]) and m["embeds"][0]["title"].startswith("#1 · ")
    )
    assert [b["disabled"] for b in buttons(card)] == [False, False]
    assert await card_ref(h.service) == f"{CHANNEL_ID}:{card['id']}"

    # A bet through the button and its modal edits the card.
    bet = await h.bet_by_button(card, "predictbot:bet:1:1", "100", user=MANAGER_USER_ID)
    assert bet.ephemeral and "Bought" in content(bet), content(bet)
    await stub.wait_until(
        lambda: field(stub.get_message(int(card["id"])) or card, "Volume") == "100 pts"
    )

    # The deadline closes the market within about a second, announced once.
    [closed] = await stub.wait_until(
        lambda: posts(stub, "🔒 Market #1 closed at its deadline"), timeout=6
    )
    assert time.time() - closes_at.timestamp() < 2.5
    state = await h.service.card("discord", str(GUILD_ID), 1)
    assert state is not None and state.status == "closed" and state.closed_at is not None
    assert (state.closed_at - closes_at).total_seconds() < 1.5
    assert "**Will the @everyone deadline close this market on time?**" in closed["content"]

    # The card shows the market closed, and its buttons no longer work.
    def closed_card() -> JSON | None:
        message = stub.get_message(int(card["id"]))
        if message and all(b["disabled"] for b in buttons(message)):
            return message
        return None

    edited = await stub.wait_until(closed_card)
    assert "awaiting resolution" in field(edited, "Status")
    stale = await stub.send_interaction(
        stub.button_click(card, "predictbot:bet:1:2", user_id=MEMBER_USER_ID)
    )
    await stale.wait_response()
    assert stale.ephemeral and "trading has ended" in content(stale)

    # A reminder pings the creator and the configured moderator, and nobody else.
    [reminder] = await stub.wait_until(lambda: posts(stub, "⏰"), timeout=5)
    assert reminder["content"].startswith(f"⏰ <@{MEMBER_USER_ID}> and <@{MODERATOR_ID}>: ")
    assert "carol" not in reminder["content"]
    [sent] = [
        r
        for r in stub.requests_to("POST", rf"^/channels/{CHANNEL_ID}/messages$")
        if (r.json.get("content") or "").startswith("⏰")
    ]
    assert sent.json["allowed_mentions"] == {"parse": [], "users": [MEMBER_USER_ID, MODERATOR_ID]}

    # Moderators see it in the overdue list; members may not look.
    refused = await h.slash("market overdue", user=MEMBER_USER_ID)
    assert refused.ephemeral and "Only moderators" in content(refused)
    overdue = await h.slash("market overdue", user=MODERATOR_ID)
    assert overdue.ephemeral
    [embed] = overdue.response_data["embeds"]
    assert "**#1** Will the @everyone deadline" in embed["description"]

    # A moderator resolves: the result is posted once.
    resolved = await h.slash("market resolve", {"market": 1, "outcome": "yes"}, user=MODERATOR_ID)
    assert "Market #1 resolved: Yes." in content(resolved)
    await stub.wait_until(lambda: posts(stub, "🏁 Market #1 resolved: Yes"), timeout=5)
    await stub.wait_until(
        lambda: "Resolved" in field(stub.get_message(int(card["id"])) or card, "Status")
    )
    await wait_for(lambda: outbox_settled(h.engine))  # nothing more is on its way
    assert len(posts(stub, "🏁")) == 1
    assert len(posts(stub, "🔒")) == 1 and len(posts(stub, "⏰")) == 1

    # Everything but the reminder went out with mentions disabled.
    for request in stub.requests:
        body = request.json if isinstance(request.json, dict) else {}
        body = body.get("data", body) if "/callback" in request.path else body
        if ("content" in body or "embeds" in body) and not (body.get("content") or "").startswith(
            "⏰"
        ):
            assert body.get("allowed_mentions") == {"parse": []}, (request.path, body)


async def test_a_reminder_to_150_moderators_pings_100_at_most_and_keeps_the_question(
    stub: DiscordStub, db_url: str
) -> None:
    moderators = tuple(str(10**17 + n) for n in range(150))  # ids as long as real ones
    async with running(stub, db_url, moderators) as live:
        h = live.harness
        closes_at = datetime.now(UTC) + timedelta(days=1)
        await h.slash(
            "market create",
            {"question": QUESTION, "closes": closes_at.isoformat()},
            user=MEMBER_USER_ID,
        )
        closed = await h.slash("market close", {"market": 1}, user=MEMBER_USER_ID)
        assert "closed" in content(closed), content(closed)
        [reminder] = await stub.wait_until(lambda: posts(stub, "⏰"), timeout=5)

    [sent] = [
        r
        for r in stub.requests_to("POST", rf"^/channels/{CHANNEL_ID}/messages$")
        if (r.json.get("content") or "").startswith("⏰")
    ]
    assert sent.status == 200  # Discord took it: no 50035 for too many mentions or characters
    pinged = sent.json["allowed_mentions"]["users"]
    assert 0 < len(pinged) <= 100
    assert pinged[0] == MEMBER_USER_ID  # the creator first, then the moderators in order
    assert pinged[1:] == [int(m) for m in moderators[: len(pinged) - 1]]
    text = reminder["content"]
    assert len(text) <= 2000
    assert [f"<@{user}>" in text for user in pinged] == [True] * len(pinged)
    assert f"and {151 - len(pinged)} more moderators: market #1 closed" in text
    assert "**Will the @everyone deadline close this market on time?**" in text
    assert "`/market resolve market:1 outcome:…`" in text
    [announced] = posts(stub, "🔒 Market #1 closed early.")
    assert len(announced["content"]) <= 2000
    assert "more moderators to resolve it with `/market resolve`." in announced["content"]
