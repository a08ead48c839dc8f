"""Socket Mode: the same listeners over the stand-in's websocket (no public URL needed)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import pytest

from bot.adapters.slack import SlackAdapter
from bot.core.service import Service
from tests.adapters.slack.conftest import slack_settings
from tests.adapters.slack.harness import APP_TOKEN, BOB
from tests.fakes.slack_stub import (
    SlackWebStub,
    app_home_opened_body,
    plain_text_value,
    slash_command_payload,
    view_submission_payload,
)


@pytest.fixture
async def socket_adapter(stub: SlackWebStub, service: Service) -> AsyncIterator[SlackAdapter]:
    adapter = SlackAdapter(service, slack_settings(stub, socket_mode=True), card_interval=0.05)
    await adapter.start()
    await stub.socket.wait_connected()
    yield adapter
    await adapter.stop()


async def test_commands_and_forms_over_the_socket(
    stub: SlackWebStub, socket_adapter: SlackAdapter
) -> None:
    assert socket_adapter.port is None  # nothing listens on HTTP
    assert stub.calls_of("apps.connections.open")[0].token == APP_TOKEN

    ack = await stub.socket.push_envelope(
        "slash_commands",
        slash_command_payload(
            text='create "Will it work over a socket?" closes:2026-03-10',
            response_url=stub.response_url_for("create"),
        ),
    )
    assert set(ack) == {"envelope_id"}
    created = await stub.wait_for_response("create")
    assert created.body["text"].startswith("Market #1 created")

    await stub.socket.push_envelope(
        "slash_commands",
        slash_command_payload(
            text="bet 1 yes 10", user_id=BOB, response_url=stub.response_url_for("bet")
        ),
    )
    assert (await stub.wait_for_response("bet")).body["text"].startswith("Bought ")

    bad = {"outcome": {"outcome": {"type": "static_select", "selected_option": {"value": "1"}}}}
    bad["points"] = {"points": plain_text_value("-3")}
    ack = await stub.socket.push_envelope(
        "interactive",
        view_submission_payload("place_bet", bad, private_metadata='{"m": 1}', user_id=BOB),
    )
    assert ack["payload"] == {
        "response_action": "errors",
        "errors": {"points": "Points must be more than 0."},
    }

    event = json.loads(app_home_opened_body(BOB))
    await stub.socket.push_envelope("events_api", event)
    await stub.wait_until(lambda: BOB in stub.home_views)
