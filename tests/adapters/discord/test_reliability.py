"""The 3-second rule, duplicated interactions, unexpected errors and failed deliveries."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import datetime

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.core.errors import DeliveryFailed
from bot.core.ports import MarketRef, OutboxMessage, Store, Tx
from bot.core.service import Service
from bot.core.views import MarketShown
from storage.store import SqlStore
from tests.adapters.discord.conftest import (
    Harness,
    answered,
    content,
    deliver_outbox,
    start_adapter,
)
from tests.fakes.discord_stub import (
    CHANNEL_ID,
    DEFERRED_CHANNEL_MESSAGE,
    EPHEMERAL,
    MANAGER_USER_ID,
    MODAL,
    DiscordStub,
)
from tests.helpers import FakeClock, ledger_check, snapshot


class UnreliableStore:
    """A store whose transactions can start late (a database under load) or blow up (a bug)."""

    def __init__(self, inner: Store) -> None:
        self.inner = inner
        self.delay = 0.0
        self.error: Exception | None = None
        self.gate = asyncio.Event()  # transactions start once it is set
        self.gate.set()

    def transaction(
        self, platform: str, community: str, *, write: bool
    ) -> AbstractAsyncContextManager[Tx]:
        """Open a transaction on the real store, after the configured delay or failure."""
        return self._transaction(platform, community, write)

    @asynccontextmanager
    async def _transaction(self, platform: str, community: str, write: bool) -> AsyncIterator[Tx]:
        if self.delay:
            await asyncio.sleep(self.delay)
        await self.gate.wait()
        if self.error is not None:
            raise self.error
        async with self.inner.transaction(platform, community, write=write) as tx:
            yield tx

    async def due_markets(self, now: datetime, limit: int) -> list[MarketRef]:
        """Return the real store's due markets."""
        return await self.inner.due_markets(now, limit)

    async def open_deadlines(self) -> list[MarketRef]:
        """Return the real store's open deadlines."""
        return await self.inner.open_deadlines()


@pytest.fixture
async def unreliable(
    stub: DiscordStub, engine: AsyncEngine, clock: FakeClock
) -> AsyncIterator[tuple[Harness, UnreliableStore]]:
    """Run the adapter on a service whose storage the test can slow down or break."""
    store = UnreliableStore(SqlStore(engine, now=clock.now))
    service = Service(store, clock)
    adapter = await start_adapter(stub, service)
    try:
        yield Harness(stub, service, engine, adapter), store
    finally:
        await adapter.stop()
    assert stub.errors == [] and stub.unhandled == []


@pytest.mark.parametrize("db_kind", ["sqlite"], indirect=True)
async def test_initial_response_within_3s_when_the_database_is_slow(
    unreliable: tuple[Harness, UnreliableStore], engine: AsyncEngine
) -> None:
    harness, store = unreliable
    stub = harness.stub
    card = await harness.create_market()
    store.delay = 3.2  # longer than Discord waits for the first answer
    sent = await asyncio.gather(
        stub.send_interaction(
            stub.slash_command("bet", {"market": 1, "outcome": "yes", "points": 10})
        ),
        stub.send_interaction(stub.slash_command("market show", {"market": 1})),
        stub.send_interaction(stub.slash_command("market show", {"market": 9})),
        stub.send_interaction(stub.button_click(card, "predictbot:bet:1:2")),
    )
    for rec in sent:
        await rec.wait_response(timeout=3)
        assert rec.response_delay is not None and rec.response_delay < 3, rec.response
    bet, show, missing, click = sent
    assert bet.response_type == DEFERRED_CHANNEL_MESSAGE and bet.ephemeral
    assert show.response_type == DEFERRED_CHANNEL_MESSAGE and not show.ephemeral
    assert click.response_type == MODAL  # opened unchecked rather than late

    (bet_edit,) = await bet.wait_edits(1, timeout=5)
    assert "Bought" in bet_edit["content"]
    (show_edit,) = await show.wait_edits(1, timeout=5)
    assert show_edit["embeds"][0]["title"].startswith("#1 · Will it rain")
    # A refusal after a public deferral replaces the "thinking" message with a private one.
    (refusal,) = await missing.wait_followups(1, timeout=5)
    assert refusal["flags"] & EPHEMERAL and "no market #9" in refusal["content"]
    await stub.wait_until(lambda: missing.deleted, timeout=2)
    assert all(rec.late_callbacks == 0 for rec in sent)
    store.delay = 0
    await ledger_check(engine)


async def test_a_duplicated_interaction_changes_nothing_twice(
    harness: Harness, engine: AsyncEngine, caplog: pytest.LogCaptureFixture
) -> None:
    stub = harness.stub
    create = stub.slash_command(
        "market create",
        {"question": "Will it rain in Paris on 1 May?", "closes": "2026-03-10"},
        user_id=MANAGER_USER_ID,
    )
    bet = stub.slash_command("bet", {"market": 1, "outcome": "yes", "points": 100})
    for payload in (create, bet):
        first = await stub.send_interaction(payload)
        second = await stub.send_interaction(payload)  # Discord delivered it twice
        path = rf"/interactions/{payload['id']}/"

        def both_answered(path: str = path) -> bool:
            callbacks = stub.requests_to("POST", path)
            return len(callbacks) == 2 and all(r.status for r in callbacks)

        await stub.wait_until(both_answered)
        acknowledged = [r for r in (first, second) if r.response is not None]
        assert len(acknowledged) == 1 and acknowledged[0].ephemeral
        # The deferred command's result replaces "thinking…" after its write committed.
        await answered(acknowledged[0])
    async with engine.connect() as conn:
        markets = (await conn.execute(text("SELECT COUNT(*) FROM market"))).scalar_one()
        trades = (await conn.execute(text("SELECT COUNT(*) FROM trade"))).scalar_one()
        outbox = (await conn.execute(text("SELECT COUNT(*) FROM outbox"))).scalar_one()
    assert (markets, trades, outbox) == (1, 1, 1)
    balances = await ledger_check(engine)
    assert balances["3002"] == 900_000_000
    callbacks = stub.requests_to("POST", r"^/interactions/")
    assert sorted(r.status for r in callbacks) == [200, 200, 400, 400]
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert all("Something went wrong" not in content(r) for r in stub.interactions)


async def test_stopping_lets_a_command_being_answered_finish(
    unreliable: tuple[Harness, UnreliableStore], engine: AsyncEngine
) -> None:
    harness, store = unreliable
    stub = harness.stub
    await harness.create_market()
    store.gate.clear()  # the bet is acknowledged, then waits for the database
    rec = await stub.send_interaction(
        stub.slash_command("bet", {"market": 1, "outcome": "yes", "points": 10})
    )
    await rec.wait_response()
    assert rec.response_type == DEFERRED_CHANNEL_MESSAGE
    store.gate.set()
    await harness.adapter.stop()  # SIGTERM now: the bet still commits and is answered
    assert "Bought" in content(rec)
    async with engine.connect() as conn:
        trades = (await conn.execute(text("SELECT COUNT(*) FROM trade"))).scalar_one()
    assert trades == 1
    await ledger_check(engine)


async def test_an_unexpected_error_gets_a_generic_private_answer(
    unreliable: tuple[Harness, UnreliableStore], engine: AsyncEngine
) -> None:
    harness, store = unreliable
    await harness.create_market()
    before = await snapshot(engine)
    store.error = RuntimeError("disk on fire")
    rec = await harness.slash("bet", {"market": 1, "outcome": "yes", "points": 10})
    assert rec.ephemeral
    assert content(rec) == "Something went wrong; nothing was changed."
    assert "disk on fire" not in str(rec.response)
    store.error = None
    assert await snapshot(engine) == before


@pytest.mark.parametrize(
    ("status", "permanent"), [(403, True), (404, True), (400, True), (503, False)]
)
async def test_failed_posts_raise_delivery_failed(
    harness: Harness, engine: AsyncEngine, status: int, permanent: bool
) -> None:
    await harness.slash(
        "market create",
        {"question": "Will it rain in Paris on 1 May?", "closes": "2026-03-10"},
        user=MANAGER_USER_ID,
    )
    harness.stub.fail_next("POST", rf"^/channels/{CHANNEL_ID}/messages$", status)
    with pytest.raises(DeliveryFailed) as failed:
        await deliver_outbox(engine, harness.service, harness.adapter)
    assert failed.value.permanent is permanent
    assert str(status) in failed.value.reason
    assert await deliver_outbox(engine, harness.service, harness.adapter) == 1  # retried later


@pytest.mark.parametrize("db_kind", ["sqlite"], indirect=True)
async def test_long_rate_limits_are_retried_later_and_bad_channels_are_permanent(
    harness: Harness,
) -> None:
    card = await harness.create_market()
    shown = await harness.service.card("discord", "2000", 1)
    assert shown is not None
    message = OutboxMessage(1, "discord", "2000", "created", str(CHANNEL_ID), "", "k", 0)
    harness.stub.fail_next("POST", rf"^/channels/{CHANNEL_ID}/messages$", 429, retry_after=60)
    with pytest.raises(DeliveryFailed) as limited:
        await harness.adapter.announce(message, MarketShown(shown))
    assert not limited.value.permanent and (limited.value.retry_after or 0) >= 60
    nowhere = OutboxMessage(1, "discord", "2000", "created", None, "", "k", 0)
    with pytest.raises(DeliveryFailed) as missing:
        await harness.adapter.announce(nowhere, MarketShown(shown))
    assert missing.value.permanent
    harness.stub.fail_next("PATCH", rf"/messages/{card['id']}$", 404)
    with pytest.raises(DeliveryFailed) as gone:
        await harness.adapter.refresh_card(shown)
    assert gone.value.permanent


async def test_everything_the_bot_sends_has_mentions_disabled(harness: Harness) -> None:
    stub = harness.stub
    await harness.create_market("Will @everyone get a <@&2100> ping tonight?")
    await harness.slash("bet", {"market": 1, "outcome": "yes", "points": 5})
    await harness.slash("market list")
    await harness.slash("market show", {"market": 1})
    await harness.slash("market close", {"market": 1}, user=MANAGER_USER_ID)
    await harness.slash("market resolve", {"market": 1, "outcome": "yes"}, user=MANAGER_USER_ID)
    await harness.deliver()
    sends = [
        r
        for r in stub.requests
        if r.method in ("POST", "PATCH")
        and ("/messages" in r.path or "/callback" in r.path or r.path.startswith("/webhooks/"))
    ]
    assert len(sends) >= 8
    for request in sends:
        body = (
            request.json.get("data", request.json) if "/callback" in request.path else request.json
        )
        if "content" in body or "embeds" in body:
            assert body.get("allowed_mentions") == {"parse": []}, (request.path, body)
