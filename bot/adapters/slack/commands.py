"""The `/predict` slash command: the core's text grammar, or the create form."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from slack_bolt.async_app import AsyncApp

from bot.adapters.slack import blocks, forms
from bot.adapters.slack._bridge import GENERIC_FAILURE, Bridge
from bot.adapters.slack._replies import ephemeral_via, tomorrow_in
from bot.adapters.slack.escape import unescape_incoming
from bot.core.errors import PredictError
from bot.core.grammar import parse

log = logging.getLogger(__name__)

COMMAND = "/predict"
# Commands run at most this many at a time after their acks. A burst then leaves the event loop
# to ack the requests still arriving instead of interleaving with up to hundreds of commands
# (writers queue on the database anyway). The cost: replies to a burst come at most 8 at a
# time, each waiting on its Web API round trips. Opening the create form does not wait: its
# trigger expires in 3 s.
RUNNING_MAX = 8


def register(app: AsyncApp, bridge: Bridge) -> None:
    """Register the `/predict` listener."""

    running = asyncio.Semaphore(RUNNING_MAX)

    @app.command(COMMAND)
    async def predict(ack: Any, command: dict[str, Any], respond: Any, client: Any) -> None:
        """Run a predictbot command."""
        await ack()
        # Tracked from the ack on, so shutdown also waits for commands still queued here.
        async with bridge.inflight.track():
            if _opens_form(command):
                await handle(bridge, command, respond, client)
                return
            async with running:
                await handle(bridge, command, respond, client)


def _opens_form(command: dict[str, Any]) -> bool:
    return unescape_incoming(command.get("text") or "").strip().lower() == "create"


async def handle(bridge: Bridge, command: dict[str, Any], respond: Any, client: Any) -> None:
    """Parse the text, run it, answer privately (or open the create form)."""
    reply = ephemeral_via(respond)
    text = unescape_incoming(command.get("text") or "").strip()
    user = command["user_id"]
    if text.lower() == "create":
        try:
            person = await bridge.people.person(user, command.get("user_name"))
            origin = forms.ModalOrigin(
                channel=command.get("channel_id"),
                response_url=command.get("response_url"),
                timezone=person.timezone,
            )
            day = tomorrow_in(bridge.service.clock.now(), person.timezone)
            await client.views_open(
                trigger_id=command["trigger_id"], view=forms.create_modal(origin, day)
            )
        except Exception:
            log.exception("opening the create form failed")
            await reply(GENERIC_FAILURE, None)
        return
    try:
        parsed = parse(text)
    except PredictError as refusal:
        await reply(*blocks.text_reply(refusal.message))
        return
    ctx = await bridge.context(
        command["team_id"],
        user,
        command.get("trigger_id"),
        command.get("channel_id"),
        command.get("user_name"),
    )
    await bridge.run(parsed, ctx, reply)
