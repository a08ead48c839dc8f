"""The stand-ins refuse what the real Discord and Slack refuse, naming the field and the rule."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from tests.fakes import specs
from tests.fakes.discord_stub import CHANNEL_ID, DiscordStub
from tests.fakes.slack_stub import SlackWebStub

# Without ../shared/specs nothing can be checked (and CI, which requires them, stops earlier).
needs_specs = pytest.mark.skipif(
    specs.missing_reason() is not None, reason=str(specs.missing_reason())
)

JSON = dict[str, Any]
TOKEN = "xoxb-specs"
SECTION = {"type": "section", "text": {"type": "mrkdwn", "text": "Will it rain?"}}
MODAL: JSON = {
    "type": "modal",
    "callback_id": "place_bet",
    "title": {"type": "plain_text", "text": "Bet on #1"},
    "submit": {"type": "plain_text", "text": "Bet"},
    "blocks": [
        {
            "type": "input",
            "block_id": "points",
            "label": {"type": "plain_text", "text": "Points"},
            "element": {"type": "plain_text_input", "action_id": "points"},
        }
    ],
}


def fields(violations: list[specs.Violation]) -> list[tuple[str, str]]:
    """(field, the rule's keyword) of each violation."""
    return [(v.field, v.rule.split(":")[0].split(" ")[0]) for v in violations]


# ------------------------------------------------------------------------------ Discord


@pytest.fixture
async def discord() -> AsyncIterator[DiscordStub]:
    stub = DiscordStub(token="t")
    stub.add_default_guild()
    async with stub:
        yield stub
    stub.assert_accepted()


async def send(
    stub: DiscordStub, method: str, path: str, body: JSON, *, multipart: bool = False
) -> tuple[int, Any]:
    """Send a body to the stand-in as discord.py would: JSON, or multipart with payload_json."""
    headers = {"Authorization": "Bot t"}
    async with aiohttp.ClientSession() as http:
        if multipart:
            form = aiohttp.FormData()
            form.add_field("payload_json", json.dumps(body), content_type="application/json")
            form.add_field("files[0]", b"chart", filename="chart.png")
            request = http.request(method, stub.api_base + path, data=form, headers=headers)
        else:
            request = http.request(method, stub.api_base + path, json=body, headers=headers)
        async with request as response:
            return response.status, await response.json()


@needs_specs
def test_discord_bodies_are_checked_against_their_routes_schema() -> None:
    good = {"content": "Market #1 closed.", "allowed_mentions": {"parse": [], "users": [3002]}}
    assert specs.check_discord("POST", "/channels/1/messages", good) == []
    button = {"type": 2, "style": 1, "custom_id": "predictbot:bet:1:1", "label": "Yes"}
    row = {"type": 1, "components": [button]}
    points = {"type": 4, "custom_id": "points", "label": "Points", "style": 1}
    accepted = [
        ("POST", "/interactions/1/tok/callback", {"type": 4, "data": {**good, "flags": 64}}),
        ("POST", "/interactions/1/tok/callback", {"type": 5, "data": {"flags": 64}}),
        ("POST", "/interactions/1/tok/callback", {"type": 8, "data": {"choices": []}}),
        (
            "POST",
            "/interactions/1/tok/callback",
            {
                "type": 9,
                "data": {
                    "custom_id": "bet",
                    "title": "#1 · Bet on Yes",
                    "components": [{"type": 1, "components": [points]}],
                },
            },
        ),
        ("PATCH", "/webhooks/1/tok/messages/@original", {"content": "x", "components": [row]}),
        ("POST", "/webhooks/1/tok", {"content": "x", "flags": 64}),
        ("PATCH", "/channels/1/messages/2", {"embeds": [{"title": "#1 · Rain?"}]}),
        ("PUT", "/applications/1/commands", [{"name": "bet", "description": "Bet", "type": 1}]),
        ("POST", "/channels/1/typing", None),
    ]
    assert [specs.check_discord(*request) for request in accepted] == [[]] * len(accepted)
    assert specs.discord_route("PATCH", "/webhooks/1/tok/messages/@original") == (
        "/webhooks/{webhook_id}/{webhook_token}/messages/@original"
    )
    assert specs.discord_route("PATCH", "/webhooks/1/tok/messages/42") == (
        "/webhooks/{webhook_id}/{webhook_token}/messages/{message_id}"
    )

    bad_callback = {"type": 4, "data": {"embeds": [{"title": "t" * 257}], "flags": 64}}
    assert specs.check_discord("POST", "/interactions/1/tok/callback", None)[0].rule == (
        "required: this route needs a JSON body"
    )
    [title] = specs.check_discord("POST", "/interactions/1/tok/callback", bad_callback)
    assert (title.where, title.field) == (
        "POST /interactions/{interaction_id}/{interaction_token}/callback",
        "$.data.embeds[0].title",
    )
    assert title.rule.startswith("maxLength 256: got 257")

    modal = {"type": 9, "data": {"custom_id": "bet", "title": "x" * 46, "components": []}}
    assert fields(specs.check_discord("POST", "/interactions/1/tok/callback", modal)) == [
        ("$.data.components", "minItems"),
        ("$.data.title", "maxLength"),
    ]
    edit = {"components": [{"type": 1, "components": [{**button, "label": "y" * 81}]}]}
    assert fields(specs.check_discord("PATCH", "/webhooks/1/tok/messages/@original", edit)) == [
        ("$.components[0].components[0].label", "maxLength")
    ]
    sync = [{"name": "market", "description": "d" * 101, "type": 1}]
    assert fields(specs.check_discord("PUT", "/applications/1/guilds/2/commands", sync)) == [
        ("$[0].description", "maxLength")
    ]
    assert fields(specs.check_discord("POST", "/webhooks/1/tok", {"content": 7})) == [
        ("$.content", "type")
    ]


@needs_specs
def test_discord_limits_the_schema_does_not_state() -> None:
    embeds = [{"description": "d" * 4000}, {"description": "e" * 2001}]
    message = {
        "content": "c" * 2001,  # the schema allows 4000 here; Discord 2000
        "embeds": embeds,
        "allowed_mentions": {"parse": [], "users": list(range(101))},
    }
    found = {v.field: v.rule for v in specs.check_discord("POST", "/channels/1/messages", message)}
    assert found["$.content"] == "content at most 2000 characters: got 2001"
    assert found["$.embeds"].startswith("embeds at most 6000 characters in all")
    assert found["$.allowed_mentions.users"].startswith("maxItems 100: got 101")
    reminder = {"type": 4, "data": {"allowed_mentions": {"users": list(range(101))}}}
    assert fields(specs.check_discord("POST", "/interactions/1/tok/callback", reminder)) == [
        ("$.data.allowed_mentions.users", "maxItems")
    ]


@needs_specs
async def test_the_discord_stand_in_answers_50035_and_records_the_field(
    discord: DiscordStub,
) -> None:
    path = f"/channels/{CHANNEL_ID}/messages"
    status, answer = await send(discord, "POST", path, {"embeds": [{"title": "t" * 300}]})
    assert status == 400
    assert answer["code"] == 50035 and answer["message"] == "Invalid Form Body"
    [error] = answer["errors"]["embeds"]["0"]["title"]["_errors"]
    assert error["code"] == "BASE_TYPE_MAX_LENGTH"
    assert discord.messages.get(CHANNEL_ID) is None  # nothing was posted
    [violation] = discord.take_violations()
    assert str(violation).startswith(
        "POST /channels/{channel_id}/messages: $.embeds[0].title: maxLength 256: got 300"
    )

    # A multipart upload is judged by its payload_json; a good one goes through.
    status, _ = await send(discord, "POST", path, {"content": "x" * 2001}, multipart=True)
    assert status == 400
    assert fields(discord.take_violations()) == [("$.content", "content")]
    status, posted = await send(
        discord,
        "POST",
        path,
        {"content": "chart", "attachments": [{"id": 0, "filename": "chart.png"}]},
        multipart=True,
    )
    assert status == 200 and posted["attachments"][0]["filename"] == "chart.png"


@needs_specs
async def test_a_refused_body_fails_the_stand_ins_check_with_field_and_rule(
    discord: DiscordStub,
) -> None:
    await send(discord, "POST", f"/channels/{CHANNEL_ID}/messages", {"content": "x" * 2001})
    with pytest.raises(AssertionError) as failed:
        discord.assert_accepted()
    assert str(failed.value).startswith("1 payload(s) the real platform would refuse:\n")
    assert "$.content: content at most 2000 characters: got 2001" in str(failed.value)
    assert discord.violations == [] and specs.take_pending() == []  # reported once


# ------------------------------------------------------------------------------ Slack


@pytest.fixture
async def slack() -> AsyncIterator[SlackWebStub]:
    async with SlackWebStub(token=TOKEN) as stub:
        yield stub
    stub.assert_accepted()


@needs_specs
def test_block_kit_checks_blocks_and_mrkdwn_escaping() -> None:
    good = {"channel": "C1", "text": "R&amp;D &lt;3 <@U0BOB> <#C0CHAN>", "blocks": [SECTION]}
    assert specs.check_slack_message("chat.postMessage", good) == (None, [])
    date = "<!date^1772000000^{date_short_pretty} {time}|2026-02-25 06:13 UTC>"
    fine = f"> quoted <!here> {date} <https://example.com/a?b=1&amp;c=2|the link> &gt;"
    assert specs.mrkdwn_problem(fine) is None

    button = {"type": "button", "action_id": "bet:1", "text": {"type": "plain_text", "text": ""}}
    blocks = [
        {**SECTION, "accessory": button},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": "Tom & Jerry"}]},
        {"type": "section", "text": {"type": "mrkdwn", "text": "x" * 3001}},
        {"type": "sparkles"},
    ]
    error, found = specs.check_slack_message("chat.update", {"text": "a <b", "blocks": blocks})
    assert error == "invalid_blocks"
    assert fields(found) == [
        ("$.blocks[0].accessory.text.text", "minLength"),
        ("$.blocks[2].text.text", "maxLength"),
        ("$.blocks[3]", "oneOf"),  # no block is of that type
        ("$.blocks[1].elements[0].text", "mrkdwn"),
        ("$.text", "mrkdwn"),
    ]
    assert found[3].rule.startswith("mrkdwn: '&' outside a control sequence must be escaped")
    assert specs.slack_messages(found[:1]) == [
        "[ERROR] minLength 1: got 0: '' [json-pointer:/blocks/0/accessory/text/text]"
    ]


@needs_specs
def test_slack_message_limits() -> None:
    fifty_one = [{"type": "divider"}] * 51
    error, found = specs.check_slack_message("chat.postMessage", {"blocks": fifty_one})
    assert (error, fields(found)) == ("invalid_blocks", [("$.blocks", "maxItems")])
    error, found = specs.check_slack_message("chat.postMessage", {"text": "t" * 40_001})
    assert (error, fields(found)) == (
        "msg_too_long",
        [("$.text", "maxLength"), ("$", "total")],
    )
    five = [{"type": "section", "text": {"type": "mrkdwn", "text": "s" * 2500}}] * 5
    error, found = specs.check_slack_message("response_url", {"text": "t", "blocks": five})
    assert error == "msg_too_long"
    assert [v.rule for v in found] == [
        "total text at most 12000 characters (text and every text object in blocks): got 12501"
    ]
    # Text alone that is merely mis-escaped is taken (Slack shows it wrong), but recorded.
    assert specs.check_slack_message("chat.postMessage", {"text": "1 < 2"})[0] is None


@needs_specs
def test_views_are_checked_with_their_own_fields() -> None:
    assert specs.check_slack_view("views.open", MODAL) == []
    assert specs.check_slack_view("views.publish", {"type": "home", "blocks": [SECTION]}) == []
    long_modal = {
        **MODAL,
        "title": {"type": "plain_text", "text": "Bet on #1 · Will it rain?"},
        "private_metadata": "m" * 3001,
        "blocks": MODAL["blocks"] * 101,
    }
    found = specs.check_slack_view("views.update", long_modal)
    assert fields(found) == [
        ("$.view.blocks", "maxItems"),
        ("$.view.private_metadata", "maxLength"),
        ("$.view.title.text", "maxLength"),
    ]
    assert found[2].rule == "maxLength 24: got 25: 'Bet on #1 · Will it rain?'"
    no_submit = {k: v for k, v in MODAL.items() if k != "submit"}
    assert fields(specs.check_slack_view("views.push", no_submit)) == [("$.view", "required")]
    home = {
        "type": "home",
        "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "<"}}],
    }
    assert fields(specs.check_slack_view("views.publish", home)) == [
        ("$.view.blocks[0].text.text", "mrkdwn")
    ]


@needs_specs
async def test_the_slack_stand_in_answers_like_slack(slack: SlackWebStub) -> None:
    client = AsyncWebClient(token=TOKEN, base_url=slack.base_url)
    await client.chat_postMessage(channel="C1", text="fine", blocks=[SECTION])
    with pytest.raises(SlackApiError) as refused:
        await client.chat_postMessage(channel="C1", text="x", blocks=[{"type": "divider"}] * 51)
    assert refused.value.response["error"] == "invalid_blocks"
    assert refused.value.response["response_metadata"]["messages"] == [
        "[ERROR] maxItems 50: a message has at most 50 blocks, got 51 [json-pointer:/blocks]"
    ]
    with pytest.raises(SlackApiError) as refused:
        await client.chat_postEphemeral(channel="C1", user="U1", text="t" * 40_001)
    assert refused.value.response["error"] == "msg_too_long"
    with pytest.raises(SlackApiError) as refused:
        await client.views_open(trigger_id="t", view={**MODAL, "private_metadata": "m" * 3001})
    assert refused.value.response["error"] == "invalid_arguments"
    assert [
        m.rsplit("[", 1)[1] for m in refused.value.response["response_metadata"]["messages"]
    ] == ["json-pointer:/view/private_metadata]"]
    response_url = slack.response_url_for("r1")
    answer = await AsyncWebhookClient(response_url).send(text="ok", blocks=[{"type": "nope"}])
    assert (answer.status_code, answer.body) == (400, "invalid_blocks")
    assert [v.where for v in slack.take_violations()] == [
        "chat.postMessage",
        "chat.postEphemeral",
        "chat.postEphemeral",
        "views.open",
        "response_url",
    ]
    assert [m.text for m in slack.channel_messages("C1")] == ["fine"]


# ------------------------------------------------------------------------------ absent specs


@pytest.fixture
def without_specs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(specs, "SPECS_DIR", tmp_path / "nowhere")
    specs._enabled.cache_clear()
    try:
        yield
    finally:
        monkeypatch.undo()
        specs._enabled.cache_clear()


def test_without_the_specs_nothing_is_validated_and_the_header_says_so(
    without_specs: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(specs, "REQUIRE_SPECS", False)
    assert specs.status_line().startswith("platform schemas: SKIPPED, discord-openapi.json, ")
    assert specs.check_discord("POST", "/channels/1/messages", {"content": 7}) == []
    assert specs.check_slack_view("views.open", {}) == []


def test_required_specs_that_are_missing_are_an_error(
    without_specs: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(specs, "REQUIRE_SPECS", True)
    with pytest.raises(RuntimeError, match="PREDICTBOT_REQUIRE_SPECS=1 but discord-openapi"):
        specs.check_discord("POST", "/channels/1/messages", {"content": "x"})
