"""The Slack stand-in, exercised through REAL slack-bolt / slack-sdk code."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.web.async_client import AsyncWebClient

from tests.fakes.slack_stub import (
    SlackWebStub,
    app_home_opened_body,
    block_actions_body,
    block_actions_payload,
    date_value,
    option_value,
    plain_text_value,
    serve_bolt_app,
    sign,
    signed_headers,
    slash_command_body,
    slash_command_payload,
    time_value,
    url_verification_body,
    view_submission_body,
    view_submission_payload,
)

TOKEN = "xoxb-test-token"
APP_TOKEN = "xapp-test-token"
SECRET = "test-signing-secret"


@pytest.fixture
async def stub() -> AsyncIterator[SlackWebStub]:
    async with SlackWebStub(token=TOKEN, app_token=APP_TOKEN) as s:
        yield s
    s.assert_accepted()


def build_app(stub: SlackWebStub, client: AsyncWebClient | None = None) -> AsyncApp:
    """A bare bolt app wired to the stub, with listeners like predictbot's."""
    client = client or AsyncWebClient(token=TOKEN, base_url=stub.base_url)
    app = AsyncApp(client=client, signing_secret=SECRET, logger=logging.getLogger("bolt-test"))
    app.state = {}  # type: ignore[attr-defined]

    @app.command("/predict")
    async def predict(ack: Any, command: dict[str, Any], respond: Any, client: Any) -> None:
        await ack()
        await respond(text=f"working on: {command['text']}")
        info = await client.users_info(user=command["user_id"])
        await client.chat_postMessage(
            channel=command["channel_id"],
            text=f"market: {command['text']}",
            blocks=[{"type": "section", "text": {"type": "mrkdwn", "text": command["text"]}}],
            metadata={"event_type": "market", "event_payload": {"admin": info["user"]["is_admin"]}},
        )

    @app.action("bet_yes")
    async def bet_yes(ack: Any, body: dict[str, Any], client: Any) -> None:
        await ack()
        await client.chat_update(
            channel=body["channel"]["id"],
            ts=body["message"]["ts"],
            text=f"{body['user']['id']} bet {body['actions'][0]['value']}",
        )

    @app.action("open_modal")
    async def open_modal(ack: Any, body: dict[str, Any], client: Any) -> None:
        await ack()
        await client.views_open(
            trigger_id=body["trigger_id"],
            view={
                "type": "modal",
                "callback_id": "create_market",
                "title": {"type": "plain_text", "text": "New market"},
                "blocks": [{"type": "section", "text": {"type": "plain_text", "text": "Ask"}}],
            },
        )

    @app.view("create_market")
    async def create_market(ack: Any, view: dict[str, Any]) -> None:
        values = view["state"]["values"]
        if not values["q"]["question"]["value"]:
            await ack(response_action="errors", errors={"q": "required"})
            return
        await ack()
        app.state["submitted"] = values  # type: ignore[attr-defined]

    @app.event("app_home_opened")
    async def home(event: dict[str, Any], client: Any) -> None:
        await client.views_publish(
            user_id=event["user"], view={"type": "home", "blocks": [{"type": "divider"}]}
        )

    return app


async def post(
    http: aiohttp.ClientSession, url: str, body: bytes, headers: dict[str, str]
) -> tuple[int, str]:
    async with http.post(url, data=body, headers=headers) as resp:
        return resp.status, await resp.text()


# --------------------------------------------------------------------------------------------
# Over real HTTP: bolt's own aiohttp server
# --------------------------------------------------------------------------------------------


async def test_slash_command_acked_and_message_posted(stub: SlackWebStub) -> None:
    stub.add_user("U0ADMIN", "boss", is_admin=True)
    app = build_app(stub)
    async with serve_bolt_app(app) as url, aiohttp.ClientSession() as http:
        body = slash_command_body(
            text="Will it rain?", user_id="U0ADMIN", response_url=stub.response_url_for("cmd")
        )
        status, text = await post(http, url, body, signed_headers(body, SECRET))
        assert status == 200
        assert text == ""

        posted = await stub.wait_for_call("chat.postMessage")
    assert posted.params["channel"] == "C0CHAN"
    assert posted.params["blocks"][0]["text"]["text"] == "Will it rain?"
    assert posted.params["metadata"]["event_payload"] == {"admin": True}
    assert (await stub.wait_for_response("cmd")).body["text"] == "working on: Will it rain?"
    assert [c.method for c in stub.calls] == ["auth.test", "users.info", "chat.postMessage"]
    assert stub.last_message("C0CHAN").text == "market: Will it rain?"
    assert stub.unhandled == []


async def test_bad_signatures_rejected(stub: SlackWebStub) -> None:
    app = build_app(stub)
    async with serve_bolt_app(app) as url, aiohttp.ClientSession() as http:
        body = slash_command_body(text="x")
        forged = signed_headers(body, "wrong-secret")
        assert (await post(http, url, body, forged))[0] == 401
        stale = signed_headers(body, SECRET, timestamp=int(time.time()) - 6 * 60)
        assert (await post(http, url, body, stale))[0] == 401
        tampered = signed_headers(body, SECRET)
        assert (await post(http, url, body + b"&x=1", tampered))[0] == 401
    assert stub.calls == []


async def test_block_actions_update_card(stub: SlackWebStub) -> None:
    app = build_app(stub)
    card = await app.client.chat_postMessage(channel="C0CHAN", text="market card")
    async with serve_bolt_app(app) as url, aiohttp.ClientSession() as http:
        payload = block_actions_payload(
            "bet_yes", "10", channel_id="C0CHAN", message_ts=card["ts"], user_id="U0BOB"
        )
        body = block_actions_body(payload)
        assert (await post(http, url, body, signed_headers(body, SECRET)))[0] == 200
        await stub.wait_for_call("chat.update")
    msg = stub.message("C0CHAN", card["ts"])
    assert msg.text == "U0BOB bet 10"
    assert msg.updated
    assert msg.history == [{"text": "market card", "blocks": None, "metadata": None}]


async def test_view_submission_and_views_open(stub: SlackWebStub) -> None:
    app = build_app(stub)
    async with serve_bolt_app(app) as url, aiohttp.ClientSession() as http:
        click = block_actions_body(block_actions_payload("open_modal"))
        assert (await post(http, url, click, signed_headers(click, SECRET)))[0] == 200
        opened = await stub.wait_for_call("views.open")
        assert opened.response["view"]["callback_id"] == "create_market"
        assert opened.response["view"]["id"] in stub.views

        values = {
            "q": {"question": plain_text_value("Rain?")},
            "d": {"close_date": date_value("2030-01-31")},
            "t": {"close_time": time_value("13:45")},
            "o": {"outcome": option_value("yes", "Yes")},
        }
        body = view_submission_body(view_submission_payload("create_market", values))
        status, text = await post(http, url, body, signed_headers(body, SECRET))
        assert (status, text) == (200, "")
        assert app.state["submitted"]["o"]["outcome"]["selected_option"]["value"] == "yes"  # type: ignore[attr-defined]

        empty = {"q": {"question": plain_text_value(None)}}
        body = view_submission_body(view_submission_payload("create_market", empty))
        status, text = await post(http, url, body, signed_headers(body, SECRET))
        assert status == 200
        assert json.loads(text) == {"response_action": "errors", "errors": {"q": "required"}}


async def test_app_home_opened_and_url_verification(stub: SlackWebStub) -> None:
    app = build_app(stub)
    async with serve_bolt_app(app) as url, aiohttp.ClientSession() as http:
        body = app_home_opened_body("U0CAROL")
        assert (await post(http, url, body, signed_headers(body, SECRET)))[0] == 200
        await stub.wait_for_call("views.publish")

        body = url_verification_body("abc123")
        status, text = await post(http, url, body, signed_headers(body, SECRET))
        assert status == 200
        assert json.loads(text) == {"challenge": "abc123"}
    assert stub.home_views["U0CAROL"]["type"] == "home"
    assert stub.home_views["U0CAROL"]["blocks"] == [{"type": "divider"}]


# --------------------------------------------------------------------------------------------
# The Web API stub directly through slack_sdk
# --------------------------------------------------------------------------------------------


async def test_users_info_and_auth(stub: SlackWebStub) -> None:
    stub.add_user("U0ADMIN", "boss", is_admin=True, tz="Europe/Paris")
    stub.add_user("U0PLEB", "pleb")
    client = AsyncWebClient(token=TOKEN, base_url=stub.base_url)
    admin = (await client.users_info(user="U0ADMIN"))["user"]
    assert (admin["is_admin"], admin["tz"]) == (True, "Europe/Paris")
    assert admin["tz_offset"] in (3600, 7200)
    assert (await client.users_info(user="U0PLEB"))["user"]["is_admin"] is False
    with pytest.raises(SlackApiError) as err:
        await client.users_info(user="U0NOBODY")
    assert err.value.response["error"] == "user_not_found"

    auth = await client.auth_test()
    assert (auth["user_id"], auth["bot_id"], auth["team_id"]) == ("U0BOT", "B0BOT", "T0STUB")

    with pytest.raises(SlackApiError) as err:
        await AsyncWebClient(token="xoxb-wrong", base_url=stub.base_url).auth_test()
    assert err.value.response["error"] == "invalid_auth"

    with pytest.raises(SlackApiError) as err:
        await client.api_call("pins.add", json={"channel": "C1"})
    assert err.value.response["error"] == "unknown_method"
    assert [c.method for c in stub.unhandled] == ["pins.add"]


async def test_form_and_json_bodies_and_messages(stub: SlackWebStub) -> None:
    client = AsyncWebClient(token=TOKEN, base_url=stub.base_url)
    blocks = [{"type": "divider"}]
    # Form-encoded post with blocks as a JSON string, as older callers / data= do.
    first = await client.api_call(
        "chat.postMessage", data={"channel": "C1", "text": "a", "blocks": json.dumps(blocks)}
    )
    second = await client.chat_postMessage(channel="C1", text="b", blocks=blocks)
    assert float(second["ts"]) > float(first["ts"])
    assert stub.calls_of("chat.postMessage")[0].params["blocks"] == blocks
    method, params, _when = stub.calls_of("chat.postMessage")[1]
    assert (method, params["blocks"]) == ("chat.postMessage", blocks)

    eph = await client.chat_postEphemeral(channel="C1", user="U1", text="psst")
    assert eph["message_ts"]
    assert stub.ephemerals[0]["text"] == "psst"

    with pytest.raises(SlackApiError) as err:
        await client.chat_update(channel="C1", ts="1.000000", text="nope")
    assert err.value.response["error"] == "message_not_found"

    updated = await client.chat_update(channel="C1", ts=first["ts"], text="a2")
    assert (updated["ts"], updated["text"]) == (first["ts"], "a2")
    assert [m.text for m in stub.channel_messages("C1")] == ["a2", "b"]

    title = {"type": "plain_text", "text": "Form"}
    opened = await client.views_open(
        trigger_id="t", view={"type": "modal", "title": title, "blocks": blocks}
    )
    view_id = opened["view"]["id"]
    await client.views_update(
        view_id=view_id, view={"type": "modal", "title": title, "blocks": blocks}
    )
    assert stub.views[view_id]["blocks"] == blocks
    assert len(stub.view_history[view_id]) == 2


async def test_rate_limit_retried_by_sdk_retry_handler(stub: SlackWebStub) -> None:
    plain = AsyncWebClient(token=TOKEN, base_url=stub.base_url)
    stub.fail_next("chat.postMessage", status=429, retry_after=0)
    with pytest.raises(SlackApiError) as err:
        await plain.chat_postMessage(channel="C1", text="x")
    assert err.value.response.status_code == 429
    assert err.value.response["error"] == "ratelimited"
    assert err.value.response.headers["Retry-After"] == "0"

    stub.fail_next("chat.postMessage", status=500)
    with pytest.raises(SlackApiError) as err:
        await plain.chat_postMessage(channel="C1", text="x")
    assert err.value.response.status_code == 500
    stub.reset()

    # Through a bolt listener whose app client carries the rate-limit retry handler.
    retrying = AsyncWebClient(
        token=TOKEN,
        base_url=stub.base_url,
        retry_handlers=[AsyncRateLimitErrorRetryHandler(max_retry_count=2)],
    )
    app = build_app(stub, client=retrying)
    stub.add_user("U0USER", "alice")
    stub.fail_next("chat.postMessage", status=429, retry_after=0)
    async with serve_bolt_app(app) as url, aiohttp.ClientSession() as http:
        body = slash_command_body(text="retry me", response_url=stub.response_url_for("r"))
        assert (await post(http, url, body, signed_headers(body, SECRET)))[0] == 200
        await stub.wait_for_call("chat.postMessage")
    attempts = stub.calls_of("chat.postMessage")
    assert [c.status for c in attempts] == [429, 200]
    assert stub.last_message("C0CHAN").text == "market: retry me"


async def test_response_url_replace_original(stub: SlackWebStub) -> None:
    client = AsyncWebClient(token=TOKEN, base_url=stub.base_url)
    card = await client.chat_postMessage(channel="C1", text="old")
    url = stub.response_url_for("btn", channel="C1", ts=card["ts"])
    async with (
        aiohttp.ClientSession() as http,
        http.post(url, json={"replace_original": True, "text": "new"}) as resp,
    ):
        assert resp.status == 200
    msg = stub.message("C1", card["ts"])
    assert (msg.text, msg.history[0]["text"]) == ("new", "old")
    assert stub.responses_for("btn")[0].body["text"] == "new"


def test_sign_matches_slack_reference() -> None:
    # Example from Slack's "Verifying requests from Slack" documentation.
    secret = "8f742231b10e8888abcd99yyyzzz85a5"
    body = (
        b"token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&"
        b"channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&"
        b"command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2F"
        b"commands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&"
        b"trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"
    )
    headers = sign(body, secret, timestamp=1531420618)
    assert headers == {
        "X-Slack-Request-Timestamp": "1531420618",
        "X-Slack-Signature": (
            "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"
        ),
    }


# --------------------------------------------------------------------------------------------
# Socket Mode
# --------------------------------------------------------------------------------------------


async def test_socket_mode_slash_command(stub: SlackWebStub) -> None:
    stub.add_user("U0USER", "alice")
    app = build_app(stub)
    handler = AsyncSocketModeHandler(app, app_token=APP_TOKEN)
    try:
        await handler.connect_async()
        await stub.socket.wait_connected()
        opened = stub.calls_of("apps.connections.open")
        assert len(opened) == 1
        assert opened[0].token == APP_TOKEN

        ack = await stub.socket.push_envelope(
            "slash_commands",
            slash_command_payload(text="over the socket", response_url=stub.response_url_for("s")),
        )
        assert set(ack) == {"envelope_id"}
        await stub.wait_for_call("chat.postMessage")
        assert stub.last_message("C0CHAN").text == "market: over the socket"
        assert (await stub.wait_for_response("s")).body["text"] == "working on: over the socket"

        # Interactivity over the socket: a view_submission ack carries the response payload.
        empty = {"q": {"question": plain_text_value("")}}
        ack = await stub.socket.push_envelope(
            "interactive", view_submission_payload("create_market", empty)
        )
        assert ack["payload"] == {"response_action": "errors", "errors": {"q": "required"}}
    finally:
        await handler.close_async()
    await stub.wait_until(lambda: not stub.socket.connected)
