"""`python -m bot run` end to end: the real process serves Discord and Slack stand-ins at once,
and a SIGTERM stops it promptly and cleanly, with pending announcements delivered."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.fakes.discord_stub import (
    CHANNEL_ID,
    GUILD_ID,
    MANAGER_USER_ID,
    MEMBER_USER_ID,
    DiscordStub,
)
from tests.fakes.slack_stub import SlackWebStub, signed_headers, slash_command_body

ROOT = Path(__file__).resolve().parent.parent
DISCORD_TOKEN = "run-test-discord-token"
SLACK_TOKEN = "xoxb-run-test"
SLACK_SECRET = "run-test-signing-secret"
SLACK_CHANNEL = "C0RUN"
SLACK_USER = "U0RUNNER"
START_TIMEOUT = 30.0
STOP_TIMEOUT = 15.0

pytestmark = pytest.mark.slow


def free_port() -> int:
    """Return a TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Bot:
    """The `python -m bot run` child process and what it has printed."""

    process: asyncio.subprocess.Process
    port: int
    output: list[str] = field(default_factory=list)
    reader: asyncio.Task[None] | None = None

    @property
    def log(self) -> str:
        return "".join(self.output)

    async def read(self) -> None:
        assert self.process.stdout is not None
        while line := await self.process.stdout.readline():
            self.output.append(line.decode(errors="replace"))

    async def wait_listening(self, within: float) -> None:
        """Wait until the Slack HTTP server accepts connections."""
        deadline = time.monotonic() + within
        while True:
            try:
                _, writer = await asyncio.open_connection("127.0.0.1", self.port)
            except OSError:
                if self.process.returncode is not None:
                    raise AssertionError(f"the bot exited early:\n{self.log}") from None
                if time.monotonic() > deadline:
                    raise AssertionError(f"Slack port never opened:\n{self.log}") from None
                await asyncio.sleep(0.1)
                continue
            writer.close()
            await writer.wait_closed()
            return


def child_environment(
    tmp_path: Path, discord: DiscordStub, slack: SlackWebStub, port: int
) -> dict[str, str]:
    """The environment of the bot process: only what the test sets, no developer settings."""
    keep = ("PATH", "HOME", "LANG", "LC_ALL", "TZ", "SYSTEMROOT", "TMPDIR")
    env = {k: v for k, v in os.environ.items() if k in keep}
    env.update(
        PYTHONPATH=str(ROOT),
        PYTHONUNBUFFERED="1",
        LOG_LEVEL="INFO",
        DATABASE_URL=f"sqlite:///{tmp_path / 'predictbot.db'}",
        DISCORD_TOKEN=DISCORD_TOKEN,
        DISCORD_API_BASE=discord.api_base,
        DISCORD_GATEWAY_URL=discord.gateway_url,
        DISCORD_GUILD_IDS=str(GUILD_ID),
        SLACK_BOT_TOKEN=SLACK_TOKEN,
        SLACK_SIGNING_SECRET=SLACK_SECRET,
        SLACK_API_URL=slack.base_url,
        SLACK_PORT=str(port),
    )
    return env


@pytest.fixture
async def stubs() -> AsyncIterator[tuple[DiscordStub, SlackWebStub]]:
    discord = DiscordStub(token=DISCORD_TOKEN)
    discord.add_default_guild()
    await discord.start()
    slack = SlackWebStub(token=SLACK_TOKEN)
    await slack.start()
    slack.add_user(SLACK_USER, "runner")
    try:
        yield discord, slack
    finally:
        await slack.stop()
        await discord.stop()


@pytest.fixture
async def bot(stubs: tuple[DiscordStub, SlackWebStub], tmp_path: Path) -> AsyncIterator[Bot]:
    discord, slack = stubs
    port = free_port()
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "run",
        cwd=tmp_path,  # no .env of the developer's checkout
        env=child_environment(tmp_path, discord, slack, port),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    running = Bot(process, port)
    running.reader = asyncio.create_task(running.read())
    try:
        yield running
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(running.reader, 5)


async def slack_command(port: int, slack: SlackWebStub, text: str) -> str:
    """Send a signed `/predict` to the bot's HTTP server; return the response_url's name."""
    name = "run-create"
    body = slash_command_body(
        text=text,
        user_id=SLACK_USER,
        user_name="runner",
        team_id=slack.team_id,
        channel_id=SLACK_CHANNEL,
        response_url=slack.response_url_for(name),
    )
    async with (
        aiohttp.ClientSession() as http,
        http.post(
            f"http://127.0.0.1:{port}/slack/events",
            data=body,
            headers=signed_headers(body, SLACK_SECRET),
        ) as response,
    ):
        assert response.status == 200, await response.text()
    return name


def discord_posts(discord: DiscordStub, prefix: str) -> list[dict[str, Any]]:
    return [m for m in discord.messages.get(CHANNEL_ID, []) if m["content"].startswith(prefix)]


async def test_run_serves_discord_and_slack_and_stops_gracefully(
    bot: Bot, stubs: tuple[DiscordStub, SlackWebStub]
) -> None:
    discord, slack = stubs
    await discord.wait_ready(timeout=START_TIMEOUT)
    assert discord.identify_count == 1
    await bot.wait_listening(START_TIMEOUT)
    assert {c["name"] for c in discord.commands[GUILD_ID]} >= {"market", "bet", "balance"}

    # Slack: a signed slash command is answered privately, and the dispatcher posts the card.
    name = await slack_command(
        bot.port, slack, 'create "Will the run test pass on Slack?" closes:2030-01-01'
    )
    reply = await slack.wait_for_response(name, within=10)
    assert reply.body["response_type"] == "ephemeral"
    assert reply.body["text"].startswith("Market #1 created: Will the run test pass on Slack?")
    await slack.wait_until(
        lambda: any(
            (m.text or "").startswith("Market #1: Will the run test pass on Slack?")
            for m in slack.channel_messages(SLACK_CHANNEL)
        ),
        within=10,
    )

    # Discord: an INTERACTION_CREATE is answered, and the dispatcher posts the card.
    created = await discord.send_interaction(
        discord.slash_command(
            "market create",
            {"question": "Will the run test pass on Discord?", "closes": "2030-01-01"},
            user_id=MEMBER_USER_ID,
            channel_id=CHANNEL_ID,
        )
    )
    await created.wait_response(timeout=5)
    assert created.ephemeral  # deferred privately, then the "thinking…" is edited once
    (answer,) = await created.wait_edits(1, timeout=5)
    assert "Created market #1" in str(answer.get("content"))
    await discord.wait_for_message(
        CHANNEL_ID,
        lambda m: (
            bool(m["embeds"])
            and m["embeds"][0]["title"] == "#1 · Will the run test pass on Discord?"
        ),
        timeout=10,
    )

    # A moderator closes the Discord market, and SIGTERM follows at once: the closing
    # announcement still goes out before the process exits.
    closing = await discord.send_interaction(
        discord.slash_command(
            "market close", {"market": 1}, user_id=MANAGER_USER_ID, channel_id=CHANNEL_ID
        )
    )
    await closing.wait_response(timeout=5)
    await closing.wait_edits(1, timeout=5)  # the close is done (its answer replaced "thinking…")
    started = time.monotonic()
    bot.process.send_signal(signal.SIGTERM)
    try:
        code = await asyncio.wait_for(bot.process.wait(), STOP_TIMEOUT)
    except TimeoutError:
        raise AssertionError(f"the bot did not stop within {STOP_TIMEOUT}s:\n{bot.log}") from None
    stopped_in = time.monotonic() - started
    assert bot.reader is not None
    await asyncio.wait_for(bot.reader, 5)
    assert code == 0, bot.log
    assert stopped_in < 8, (stopped_in, bot.log)
    assert len(discord_posts(discord, "🔒 Market #1 closed early.")) == 1, bot.log
    assert "Traceback" not in bot.log, bot.log
    assert discord.errors == [] and discord.unhandled == []
    assert slack.unhandled == []
    with pytest.raises(OSError):  # the Slack server is gone
        await asyncio.open_connection("127.0.0.1", bot.port)


async def test_dotenv_configures_run_and_sigterm_during_startup_exits_cleanly(
    stubs: tuple[DiscordStub, SlackWebStub], tmp_path: Path
) -> None:
    discord, _ = stubs
    # A "gateway" that accepts connections and never answers: the Discord connection never
    # becomes ready, so start-up is still going on at SIGTERM.
    silent: list[asyncio.StreamWriter] = []
    connected = asyncio.Event()

    async def hold(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        silent.append(writer)
        connected.set()

    gateway = await asyncio.start_server(hold, "127.0.0.1", 0)
    gateway_port = gateway.sockets[0].getsockname()[1]
    # Settings come from .env in the working directory.
    (tmp_path / ".env").write_text(
        f"DATABASE_URL=sqlite:///{tmp_path / 'dotenv.db'}\n"
        f"DISCORD_TOKEN={DISCORD_TOKEN}\n"
        f"DISCORD_API_BASE={discord.api_base}\n"
        f"DISCORD_GATEWAY_URL=ws://127.0.0.1:{gateway_port}/\n"
        f"DISCORD_GUILD_IDS={GUILD_ID}\n"
        "LOG_LEVEL=INFO\n"
    )
    env = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "TMPDIR")}
    env.update(PYTHONPATH=str(ROOT), PYTHONUNBUFFERED="1")
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "run",
        cwd=tmp_path,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    running = Bot(process, 0)
    running.reader = asyncio.create_task(running.read())
    try:
        # The token and the API base from .env reached the adapter: it logged in and synced.
        await discord.wait_until(lambda: GUILD_ID in discord.commands, timeout=START_TIMEOUT)
        try:
            async with asyncio.timeout(START_TIMEOUT):
                await connected.wait()
        except TimeoutError:
            raise AssertionError(f"no gateway connection:\n{running.log}") from None
        started = time.monotonic()
        process.send_signal(signal.SIGTERM)
        code = await asyncio.wait_for(process.wait(), STOP_TIMEOUT)
        await asyncio.wait_for(running.reader, 5)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
        for writer in silent:
            writer.close()
        gateway.close()
    assert code == 0, running.log
    assert time.monotonic() - started < 8, running.log
    assert "stopping before start-up finished" in running.log, running.log
    assert "predictbot stopped" in running.log, running.log
    assert "Traceback" not in running.log, running.log


def test_settings_read_the_environment_and_dotenv(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bot.settings import Settings

    for name in list(os.environ):
        if name.startswith(("DISCORD_", "SLACK_", "DATABASE_", "MIN_MARKET", "REMIND_")):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text(
        "DISCORD_TOKEN=from-dotenv\nSLACK_BOT_TOKEN=xoxb-dotenv\nSLACK_SIGNING_SECRET=s3cret\n"
        "SLACK_PORT=4000\nMIN_MARKET_DURATION=5m\nREMIND_EVERY=12h\n"
        "DATABASE_URL=sqlite:///dotenv.db\n"
    )
    settings = Settings()
    assert settings.discord.discord_token is not None
    assert settings.discord.discord_token.get_secret_value() == "from-dotenv"
    assert settings.discord.enabled and settings.slack.enabled and not settings.slack.socket_mode
    assert settings.slack.slack_port == 4000
    assert settings.community.min_market_duration == 300
    assert settings.scheduler.remind_every == 12 * 3600
    assert settings.database.database_url == "sqlite:///dotenv.db"
    # The environment wins over .env.
    monkeypatch.setenv("DISCORD_TOKEN", "from-environment")
    monkeypatch.setenv("SLACK_PORT", "4001")
    settings = Settings()
    assert settings.discord.discord_token is not None
    assert settings.discord.discord_token.get_secret_value() == "from-environment"
    assert settings.slack.slack_port == 4001


NOISE = (
    "alembic.runtime.plugins",  # "setup plugin alembic.autogenerate.schemas", at every start
    "Context impl ",
    "Will assume non-transactional DDL",
    "`token` will be unused",  # slack-bolt, when SLACK_BOT_TOKEN is in the environment
    "PyNaCl is not installed",  # discord.py's voice, which predictbot does not use
    "davey is not installed",
)


async def test_start_up_logs_carry_no_noise(bot: Bot) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while "predictbot running" not in bot.log:
        if bot.process.returncode is not None or time.monotonic() > deadline:
            raise AssertionError(f"the bot did not start:\n{bot.log}")
        await asyncio.sleep(0.05)
    bot.process.send_signal(signal.SIGTERM)
    assert await asyncio.wait_for(bot.process.wait(), STOP_TIMEOUT) == 0, bot.log
    assert bot.reader is not None
    await asyncio.wait_for(bot.reader, 5)
    assert "Running upgrade  -> 0001" in bot.log  # what migrating did is still said
    noisy = [line for line in bot.log.splitlines() if any(n in line for n in NOISE)]
    assert noisy == [], bot.log
    assert " WARNING " not in bot.log and " ERROR " not in bot.log, bot.log
