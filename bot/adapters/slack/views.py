"""Modal submissions: create a market, place a bet. Request id: the view's id."""

from __future__ import annotations

import re
from typing import Any

from slack_bolt.async_app import AsyncApp

from bot.adapters.slack import forms
from bot.adapters.slack._bridge import Bridge
from bot.adapters.slack._replies import local_deadline, reply_for_modal
from bot.core.commands import CreateMarket, PlaceBet
from bot.core.errors import InvalidInput
from bot.core.grammar import parse_points

_OUTCOME_SEPARATORS = re.compile(r"[,\n]")


def _field(values: dict[str, Any], block: str) -> dict[str, Any]:
    found: dict[str, Any] = (values.get(block) or {}).get(block) or {}
    return found


def _text(values: dict[str, Any], block: str) -> str | None:
    value = _field(values, block).get("value")
    return value if isinstance(value, str) and value.strip() else None


def _selected(values: dict[str, Any], block: str) -> str | None:
    option = _field(values, block).get("selected_option") or {}
    value = option.get("value")
    return value if isinstance(value, str) else None


def register(app: AsyncApp, bridge: Bridge) -> None:
    """Register the modal submission listeners."""

    @app.view(forms.BET_CALLBACK)
    async def bet_submitted(ack: Any, body: dict[str, Any], view: dict[str, Any]) -> None:
        """Place the bet chosen in the bet form."""
        values = view["state"]["values"]
        outcome = _selected(values, "outcome")
        if outcome is None:
            await ack(response_action="errors", errors={"outcome": "Pick an outcome."})
            return
        try:
            amount = parse_points(_text(values, "points") or "")
        except InvalidInput as refusal:
            await ack(response_action="errors", errors={"points": refusal.message})
            return
        await ack()
        origin = forms.ModalOrigin.loads(view.get("private_metadata"))
        assert origin.market is not None
        ctx = await bridge.context(
            body["team"]["id"], body["user"]["id"], view["id"], origin.channel
        )
        await bridge.run(
            PlaceBet(origin.market, outcome, amount),
            ctx,
            reply_for_modal(bridge, origin, ctx),
            refresh_home=origin.channel is not None or origin.response_url is not None,
        )

    @app.view(forms.CREATE_CALLBACK)
    async def create_submitted(ack: Any, body: dict[str, Any], view: dict[str, Any]) -> None:
        """Create the market described in the create form."""
        values = view["state"]["values"]
        origin = forms.ModalOrigin.loads(view.get("private_metadata"))
        day = _field(values, "date").get("selected_date")
        picked = _field(values, "time")
        at = picked.get("selected_time")
        if not day or not at:
            missing = "date" if not day else "time"
            await ack(response_action="errors", errors={missing: "Pick when the market closes."})
            return
        closes = local_deadline(day, at, picked.get("timezone") or origin.timezone)
        outcomes = tuple(
            name.strip()
            for name in _OUTCOME_SEPARATORS.split(_text(values, "outcomes") or "")
            if name.strip()
        )
        await ack()
        ctx = await bridge.context(
            body["team"]["id"], body["user"]["id"], view["id"], origin.channel
        )
        command = CreateMarket(
            question=_text(values, "question") or "",
            closes=closes,
            outcomes=outcomes or None,
            criteria=_text(values, "criteria"),
            mechanism=_selected(values, "mechanism"),
        )
        await bridge.run(command, ctx, reply_for_modal(bridge, origin, ctx))
