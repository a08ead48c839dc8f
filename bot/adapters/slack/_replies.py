"""Private answers to a user, wherever their request came from."""

from __future__ import annotations

import logging
import zoneinfo
from datetime import date, datetime, timedelta
from typing import Any

from slack_sdk.webhook.async_client import AsyncWebhookClient

from bot.adapters.slack import blocks, forms
from bot.adapters.slack._bridge import Bridge, Reply
from bot.core.models import Context
from bot.core.timeparse import timezone_name

log = logging.getLogger(__name__)


def ephemeral_via(respond: Any) -> Reply:
    """Answer through bolt's `respond` (the request's response_url), visible only to the user."""

    async def reply(text: str, extra: list[blocks.Block] | None) -> None:
        await respond(text=text, blocks=extra, response_type="ephemeral", replace_original=False)

    return reply


def reply_for_modal(bridge: Bridge, origin: forms.ModalOrigin, ctx: Context) -> Reply:
    """Answer a modal's submission where the modal was opened: its response_url, the channel
    (ephemeral), or the user's App Home when it was opened there."""

    async def reply(text: str, extra: list[blocks.Block] | None) -> None:
        if origin.response_url:
            try:
                response = await AsyncWebhookClient(origin.response_url).send(
                    text=text, blocks=extra, response_type="ephemeral", replace_original=False
                )
                if response.status_code == 200:
                    return
                log.info("response_url answered %s; posting ephemerally", response.status_code)
            except Exception:  # expired or unreachable response_url: fall back below
                log.info("response_url failed; posting ephemerally", exc_info=True)
        if origin.channel:
            await bridge.client.chat_postEphemeral(
                channel=origin.channel, user=ctx.actor.user_id, text=text, blocks=extra
            )
            return
        await bridge.publish_home(ctx, notice=text)

    return reply


def zone_of(name: str) -> zoneinfo.ZoneInfo:
    """Return a timezone by IANA name, UTC when Slack sent something unknown."""
    return zoneinfo.ZoneInfo(timezone_name(name) or "UTC")


def local_deadline(day: str, at: str, timezone: str) -> str:
    """Turn a picked date (YYYY-MM-DD) and time (HH:mm) in a timezone into ISO with offset."""
    moment = datetime.combine(date.fromisoformat(day), datetime.strptime(at, "%H:%M").time())
    return moment.replace(tzinfo=zone_of(timezone)).isoformat()


def tomorrow_in(now: datetime, timezone: str) -> date:
    """Return tomorrow's date in a timezone (the create form's suggestion)."""
    return (now.astimezone(zone_of(timezone)) + timedelta(days=1)).date()
