"""Fixtures: the Slack stand-in, the adapter serving real HTTP on a random port, a driver."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.adapters.slack import SlackAdapter
from bot.core.service import Service
from bot.settings import SlackSettings
from tests.adapters.slack.harness import (
    ADMIN,
    ALICE,
    APP_TOKEN,
    BOB,
    SECRET,
    TOKEN,
    SlackDriver,
)
from tests.fakes.slack_stub import SlackWebStub


@pytest.fixture
async def stub() -> AsyncIterator[SlackWebStub]:
    """Start the Slack Web API stand-in with three users (Bob and the admin in UTC)."""
    async with SlackWebStub(token=TOKEN, app_token=APP_TOKEN) as s:
        s.add_user(ALICE, "alice", tz="Europe/Berlin")
        s.add_user(BOB, "bob")
        s.add_user(ADMIN, "boss", is_admin=True)
        yield s
    s.assert_accepted()


def slack_settings(stub: SlackWebStub, *, socket_mode: bool = False) -> SlackSettings:
    """Settings pointing the adapter at the stand-in."""
    return SlackSettings(
        slack_bot_token=SecretStr(TOKEN),
        slack_signing_secret=None if socket_mode else SecretStr(SECRET),
        slack_app_token=SecretStr(APP_TOKEN) if socket_mode else None,
        slack_port=0,
        slack_api_url=stub.base_url,
    )


@pytest.fixture
async def adapter(stub: SlackWebStub, service: Service) -> AsyncIterator[SlackAdapter]:
    """Serve the adapter over HTTP on 127.0.0.1 with a short card-edit interval."""
    slack = SlackAdapter(service, slack_settings(stub), card_interval=0.05, host="127.0.0.1")
    await slack.start()
    yield slack
    await slack.stop()


@pytest.fixture
async def slack(
    stub: SlackWebStub, adapter: SlackAdapter, engine: AsyncEngine
) -> AsyncIterator[SlackDriver]:
    """A driver that talks to the adapter like Slack does."""
    async with aiohttp.ClientSession() as http:
        yield SlackDriver(stub, adapter, engine, http)
