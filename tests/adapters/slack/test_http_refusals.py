"""Malformed HTTP requests get a 4xx answer, never a 500 with a traceback in the log."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.adapters.slack.harness import CHANNEL, SECRET, SlackDriver
from tests.fakes.slack_stub import (
    FORM_CONTENT_TYPE,
    JSON_CONTENT_TYPE,
    sign,
    slash_command_body,
)
from tests.helpers import snapshot

# What reaches the events URL is parsed before any of it is trusted: one test database will do.
pytestmark = pytest.mark.parametrize("db_kind", ["sqlite"], indirect=True)

BET = slash_command_body(text="bet 1 yes 10", channel_id=CHANNEL)


def _tracebacks(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        f"{r.name}: {r.getMessage()}"
        for r in caplog.records
        if r.exc_info or r.levelno >= logging.ERROR
    ]


@pytest.mark.parametrize(
    "timestamp", ["abc", "", "12.5", "-1", " 1", "1_000", "١٢", "9" * 5000, "0x10"]
)
async def test_a_timestamp_that_is_not_a_number_is_unauthorised(
    slack: SlackDriver, caplog: pytest.LogCaptureFixture, timestamp: str
) -> None:
    caplog.set_level(logging.DEBUG)
    headers = {"Content-Type": FORM_CONTENT_TYPE, **sign(BET, SECRET)}
    headers["X-Slack-Request-Timestamp"] = timestamp
    async with slack.http.post(slack.url, data=BET, headers=headers) as resp:
        assert resp.status == 401
    assert _tracebacks(caplog) == []


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (BET, JSON_CONTENT_TYPE),  # a form body labelled JSON
        (b"payload=[1]", FORM_CONTENT_TYPE),
        (b"payload=nonsense", FORM_CONTENT_TYPE),
        (b'payload="text"', FORM_CONTENT_TYPE),
        (b"payload=%7B", FORM_CONTENT_TYPE),
        (b"[1, 2]", JSON_CONTENT_TYPE),
        (b"{", JSON_CONTENT_TYPE),
        (b"{nope", FORM_CONTENT_TYPE),  # bolt reads anything starting with { as JSON
        (b"null", JSON_CONTENT_TYPE),
        (b"\xff\xfe", FORM_CONTENT_TYPE),  # not UTF-8
        (b'{"authorizations": 5}', JSON_CONTENT_TYPE),  # an object bolt can't read
    ],
)
async def test_a_signed_body_that_is_not_a_slack_payload_is_a_bad_request(
    slack: SlackDriver,
    engine: AsyncEngine,
    caplog: pytest.LogCaptureFixture,
    body: bytes,
    content_type: str,
) -> None:
    caplog.set_level(logging.DEBUG)
    before = await snapshot(engine)
    status, _ = await slack.post(body, {"Content-Type": content_type})
    assert status == 400
    assert _tracebacks(caplog) == []
    assert await snapshot(engine) == before


async def test_well_formed_requests_still_work_after_bad_ones(slack: SlackDriver) -> None:
    for body in (b"payload=[1]", b"{"):
        assert (await slack.post(body))[0] == 400
    assert (await slack.post(b"payload=[1]", secret="wrong"))[0] == 401
    assert (await slack.reply_text("balance")).startswith("You have 1,000 points")
