"""Drive the real Slack adapter over HTTP, signed exactly as Slack signs, against the stand-in."""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.adapters.slack import SlackAdapter
from bot.core import serialize
from bot.core.views import MarketCreated
from bot.scheduling.dispatcher import OutboxDispatcher
from storage.claims import SqlClaims
from storage.store import SqlStore
from tests.fakes.slack_stub import (
    ResponsePost,
    SlackWebStub,
    block_actions_body,
    block_actions_payload,
    signed_headers,
    slash_command_body,
    view_submission_body,
    view_submission_payload,
)

TOKEN = "xoxb-test-token"
APP_TOKEN = "xapp-test-token"
SECRET = "test-signing-secret"
TEAM = "T0STUB"
CHANNEL = "C0CHAN"
ALICE, BOB, ADMIN = "U0ALICE", "U0BOB", "U0ADMIN"
NAMES = {ALICE: "alice", BOB: "bob", ADMIN: "boss"}


@dataclass
class SlackDriver:
    """Send Slack's requests to the adapter's HTTP endpoint and deliver its outbox."""

    stub: SlackWebStub
    adapter: SlackAdapter
    engine: AsyncEngine
    http: aiohttp.ClientSession
    _names: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.adapter.port}/slack/events"

    async def post(
        self, body: bytes, headers: dict[str, str] | None = None, *, secret: str = SECRET
    ) -> tuple[int, str]:
        """POST a signed body; return the status and the response text."""
        all_headers = {**signed_headers(body, secret), **(headers or {})}
        async with self.http.post(self.url, data=body, headers=all_headers) as resp:
            return resp.status, await resp.text()

    def response_url(self) -> tuple[str, str]:
        name = f"r{next(self._names)}"
        return name, self.stub.response_url_for(name)

    async def command(
        self,
        text: str,
        user: str = ALICE,
        *,
        trigger_id: str | None = None,
        wait: bool = True,
    ) -> ResponsePost | str:
        """Run `/predict <text>`; return the ephemeral reply (or the response_url name)."""
        name, url = self.response_url()
        body = slash_command_body(
            text=text,
            user_id=user,
            user_name=NAMES.get(user, user),
            channel_id=CHANNEL,
            trigger_id=trigger_id,
            response_url=url,
        )
        status, answer = await self.post(body)
        assert (status, answer) == (200, ""), (status, answer)
        if not wait:
            return name
        return await self.stub.wait_for_response(name)

    async def reply_text(self, text: str, user: str = ALICE) -> str:
        """Run a command and return the text of its private reply."""
        reply = await self.command(text, user)
        assert isinstance(reply, ResponsePost)
        assert reply.body["response_type"] == "ephemeral"
        return str(reply.body["text"])

    async def click(
        self, action_id: str, value: str, user: str = BOB, *, message_ts: str | None = None
    ) -> str:
        """Click a button on a message in the channel; return the response_url name."""
        name, url = self.response_url()
        payload = block_actions_payload(
            action_id,
            value,
            user_id=user,
            user_name=NAMES.get(user, user),
            channel_id=CHANNEL,
            message_ts=message_ts,
            response_url=url,
        )
        status, _ = await self.post(block_actions_body(payload))
        assert status == 200
        return name

    async def submit(
        self,
        view: dict[str, Any],
        values: dict[str, dict[str, dict[str, Any]]],
        user: str = BOB,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, str]:
        """Submit a modal the adapter opened (same view id and private_metadata)."""
        payload = view_submission_payload(
            view["callback_id"],
            values,
            private_metadata=view["private_metadata"],
            view_id=view["id"],
            user_id=user,
            user_name=NAMES.get(user, user),
        )
        return await self.post(view_submission_body(payload), headers)

    async def opened_view(self, count: int) -> dict[str, Any]:
        """Wait for the `count`-th views.open and return the view as Slack stored it."""
        call = await self.stub.wait_for_call("views.open", count)
        view: dict[str, Any] = call.response["view"]
        return view

    async def deliver(self) -> list[str | None]:
        """Deliver pending announcements with the real outbox dispatcher (issue 5); return the
        card references of the markets whose `created` announcement was among them."""
        async with self.engine.connect() as conn:
            rows = (
                await conn.execute(
                    text(
                        "SELECT o.payload_json FROM outbox o WHERE o.delivered_at IS NULL "
                        "AND o.kind = 'created' ORDER BY o.id"
                    )
                )
            ).all()
        created = [serialize.loads(row[0]) for row in rows]
        service = self.adapter.service
        assert isinstance(service.store, SqlStore)
        dispatcher = OutboxDispatcher(
            service, SqlClaims(service.store), [self.adapter], post_interval={"slack": 0.0}
        )
        await dispatcher.drain()
        refs: list[str | None] = []
        for result in created:
            assert isinstance(result, MarketCreated)
            card = await service.card("slack", result.card.community, result.card.number)
            refs.append(card.card_ref if card else None)
        return refs


def button_value(number: int, outcome: int) -> str:
    """The value the card's Bet button carries."""
    return json.dumps({"m": number, "o": outcome})
