"""Buttons: a Bet button on a card or in the App Home opens the bet form (changing nothing)."""

from __future__ import annotations

import json
import logging
from typing import Any

from slack_bolt.async_app import AsyncApp

from bot.adapters.slack import blocks, forms
from bot.adapters.slack._bridge import GENERIC_FAILURE, Bridge, Reply
from bot.adapters.slack._replies import ephemeral_via
from bot.core.commands import ShowMarket
from bot.core.errors import PredictError
from bot.core.views import MarketShown

log = logging.getLogger(__name__)

STALE_PAGE_BUTTON = "That button is out of date; here are the first pages."


def register(app: AsyncApp, bridge: Bridge) -> None:
    """Register the button listeners."""

    @app.action(forms.BET_ACTION)
    async def card_bet(ack: Any, body: dict[str, Any], respond: Any, client: Any) -> None:
        """Open the bet form for the clicked outcome of a card."""
        await ack()
        value = json.loads(body["actions"][0]["value"])
        channel = (body.get("channel") or {}).get("id") or (body.get("container") or {}).get(
            "channel_id"
        )
        origin = forms.ModalOrigin(channel, body.get("response_url"), int(value["m"]))
        await open_bet_form(bridge, body, client, origin, int(value["o"]), ephemeral_via(respond))

    @app.action(forms.HOME_BET_ACTION)
    async def home_bet(ack: Any, body: dict[str, Any], client: Any) -> None:
        """Open the bet form for a market listed in the App Home."""
        await ack()
        origin = forms.ModalOrigin(market=int(body["actions"][0]["value"]))

        async def to_home(text: str, extra: list[blocks.Block] | None) -> None:
            ctx = await bridge.context(body["team"]["id"], body["user"]["id"], None, None)
            await bridge.publish_home(ctx, notice=text)

        await open_bet_form(bridge, body, client, origin, None, to_home)

    @app.action(forms.HOME_PAGE_ACTION)
    async def home_page(ack: Any, body: dict[str, Any]) -> None:
        """Show other pages of the App Home's positions or markets (changing nothing)."""
        await ack()
        ctx = await bridge.context(body["team"]["id"], body["user"]["id"], None, None)
        pages = forms.home_pages(body["actions"][0].get("value"))
        if pages is None:
            await bridge.publish_home(ctx, notice=STALE_PAGE_BUTTON)
            return
        await bridge.publish_home(ctx, pages=pages)


async def open_bet_form(
    bridge: Bridge,
    body: dict[str, Any],
    client: Any,
    origin: forms.ModalOrigin,
    outcome: int | None,
    reply: Reply,
) -> None:
    """Show the market's current odds in a form asking for the points to stake."""
    assert origin.market is not None
    user = body["user"]
    ctx = await bridge.context(body["team"]["id"], user["id"], None, origin.channel)
    try:
        shown = await bridge.service.execute(ShowMarket(origin.market), ctx)
        assert isinstance(shown, MarketShown)
        await client.views_open(
            trigger_id=body["trigger_id"], view=forms.bet_modal(shown.card, outcome, origin)
        )
    except PredictError as refusal:
        await reply(*blocks.text_reply(refusal.message))
    except Exception:
        log.exception("opening the bet form failed")
        await reply(GENERIC_FAILURE, None)
