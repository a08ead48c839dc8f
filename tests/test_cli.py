"""`predictbot run`, `console` and `migrate` that cannot start: one line saying what is wrong
and what to do, a non-zero exit, no traceback. The real process, against the stand-ins."""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.fakes.discord_stub import GUILD_ID, DiscordStub
from tests.fakes.slack_stub import SlackWebStub
from tests.helpers import PG_URL
from tests.test_run import free_port

ROOT = Path(__file__).resolve().parent.parent
LOG_LINE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d+ (DEBUG|INFO|WARNING) \S+: ")
COMMANDS = ("run", "console", "migrate")

pytestmark = pytest.mark.slow


def environment(tmp_path: Path, **settings: str) -> dict[str, str]:
    """Only what the test sets (no developer settings), Discord configured so `run` starts."""
    keep = ("PATH", "HOME", "LANG", "LC_ALL", "TZ", "TMPDIR")
    env = {k: v for k, v in os.environ.items() if k in keep}
    env.update(
        PYTHONPATH=str(ROOT),
        PYTHONUNBUFFERED="1",
        LOG_LEVEL="INFO",
        DATABASE_URL=f"sqlite:///{tmp_path / 'predictbot.db'}",
        # Never reached: every problem below is found before Discord is contacted.
        DISCORD_TOKEN="never-used",
        DISCORD_API_BASE=f"http://127.0.0.1:{free_port()}/api/v10",
        DISCORD_GATEWAY_URL=f"ws://127.0.0.1:{free_port()}/",
    )
    env.update(settings)
    return env


def the_one_line(output: str) -> str:
    """The one line of output that is not an INFO-or-quieter log line; fail otherwise."""
    assert "Traceback" not in output, output
    others = [line for line in output.splitlines() if line.strip() and not LOG_LINE.match(line)]
    assert len(others) == 1, output
    assert others[0].startswith("predictbot: "), output
    return others[0]


def predictbot(command: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", command],
        input="balance\n",
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        cwd=cwd,  # no .env of the developer's checkout
        check=False,
    )


PROBLEMS: dict[str, tuple[dict[str, str], tuple[str, ...]]] = {
    "unreachable database": (
        {"DATABASE_URL": f"postgresql://postgres:hunter2@127.0.0.1:{free_port()}/nowhere"},
        ("Cannot connect to the database", "Connect call failed", "DATABASE_URL"),
    ),
    "unsupported URL": (
        {"DATABASE_URL": "mysql://bot:hunter2@localhost/predictbot"},
        ("Unsupported database URL mysql://bot:***@localhost/predictbot", "sqlite:///"),
    ),
    "not a URL": ({"DATABASE_URL": "predictbot.db"}, ("not a URL", "sqlite:///")),
    "invalid setting": (
        {"STARTING_BALANCE": "abc"},
        ("STARTING_BALANCE='abc' is not valid", "integer", ".env"),
    ),
    "invalid log level": ({"LOG_LEVEL": "loud"}, ("LOG_LEVEL='loud' is not valid", "INFO")),
    "invalid server ids": (
        {"DISCORD_GUILD_IDS": "my server"},
        ("DISCORD_GUILD_IDS='my server' is not valid", "ids"),
    ),
}


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("problem", list(PROBLEMS))
def test_a_start_up_problem_is_one_line_and_a_failure(
    command: str, problem: str, tmp_path: Path
) -> None:
    settings, words = PROBLEMS[problem]
    proc = predictbot(command, environment(tmp_path, **settings), tmp_path)
    assert proc.returncode != 0, proc.stdout + proc.stderr
    line = the_one_line(proc.stdout + proc.stderr)
    for word in words:
        assert word in line, line
    assert "hunter2" not in proc.stdout + proc.stderr
    assert "You have" not in proc.stdout  # the console never started


@pytest.mark.postgres
@pytest.mark.parametrize("command", COMMANDS)
def test_a_postgres_schema_that_does_not_exist_is_one_line(command: str, tmp_path: Path) -> None:
    schema = f"missing_{uuid.uuid4().hex[:8]}"
    env = environment(tmp_path, DATABASE_URL=f"{PG_URL}?schema={schema}")
    proc = predictbot(command, env, tmp_path)
    assert proc.returncode != 0, proc.stdout + proc.stderr
    line = the_one_line(proc.stdout + proc.stderr)
    assert f"The PostgreSQL schema {schema} does not exist" in line, line
    assert f"CREATE SCHEMA {schema}" in line, line


# -- chat tokens the platform rejects: reported at start, not at the first request ---------

DISCORD_TOKEN = "cli-test-discord-token"
SLACK_TOKEN = "xoxb-cli-test"
APP_TOKEN = "xapp-cli-test"


@pytest.fixture
async def stubs() -> AsyncIterator[tuple[DiscordStub, SlackWebStub]]:
    discord = DiscordStub(token=DISCORD_TOKEN)
    discord.add_default_guild()
    await discord.start()
    slack = SlackWebStub(token=SLACK_TOKEN, app_token=APP_TOKEN)
    await slack.start()
    try:
        yield discord, slack
    finally:
        await slack.stop()
        await discord.stop()


async def run_until_exit(env: dict[str, str], cwd: Path) -> tuple[int, str]:
    """Run `python -m bot run`; return its exit code and output once it exits by itself."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "run",
        cwd=cwd,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        output, _ = await asyncio.wait_for(process.communicate(), 30)
    except TimeoutError:
        process.kill()
        output, _ = await process.communicate()
        raise AssertionError(
            f"predictbot kept running with a rejected token:\n{output.decode()}"
        ) from None
    assert process.returncode is not None
    return process.returncode, output.decode(errors="replace")


def chat_environment(
    tmp_path: Path, discord: DiscordStub | None, slack: SlackWebStub | None, **settings: str
) -> dict[str, str]:
    env = environment(tmp_path)
    for name in ("DISCORD_TOKEN", "DISCORD_API_BASE", "DISCORD_GATEWAY_URL"):
        env.pop(name)
    if discord is not None:
        env.update(
            DISCORD_TOKEN=DISCORD_TOKEN,
            DISCORD_API_BASE=discord.api_base,
            DISCORD_GATEWAY_URL=discord.gateway_url,
            DISCORD_GUILD_IDS=str(GUILD_ID),
        )
    if slack is not None:
        env.update(
            SLACK_BOT_TOKEN=SLACK_TOKEN,
            SLACK_SIGNING_SECRET="cli-test-secret",
            SLACK_API_URL=slack.base_url,
            SLACK_PORT=str(free_port()),
        )
    env.update(settings)
    return env


async def test_a_discord_token_discord_rejects_is_one_line_at_start(
    stubs: tuple[DiscordStub, SlackWebStub], tmp_path: Path
) -> None:
    discord, _ = stubs
    env = chat_environment(tmp_path, discord, None, DISCORD_TOKEN="a-stale-token")
    code, output = await run_until_exit(env, tmp_path)
    assert code != 0, output
    line = the_one_line(output)
    assert "Discord rejected DISCORD_TOKEN (401 Unauthorized)" in line, line
    assert "Reset Token" in line
    assert "a-stale-token" not in output
    assert discord.identify_count == 0


@pytest.mark.parametrize("mode", ["http", "socket"])
async def test_a_slack_bot_token_slack_rejects_is_one_line_at_start(
    stubs: tuple[DiscordStub, SlackWebStub], tmp_path: Path, mode: str
) -> None:
    _, slack = stubs
    extra = {"SLACK_APP_TOKEN": APP_TOKEN} if mode == "socket" else {}
    env = chat_environment(tmp_path, None, slack, SLACK_BOT_TOKEN="xoxb-revoked", **extra)
    code, output = await run_until_exit(env, tmp_path)
    assert code != 0, output
    line = the_one_line(output)
    assert "Slack rejected SLACK_BOT_TOKEN (invalid_auth)" in line, line
    assert "xoxb-revoked" not in output
    assert [call.token for call in slack.calls_of("auth.test")] == ["xoxb-revoked"]


async def test_a_slack_app_token_slack_rejects_is_one_line_at_start(
    stubs: tuple[DiscordStub, SlackWebStub], tmp_path: Path
) -> None:
    _, slack = stubs
    env = chat_environment(tmp_path, None, slack, SLACK_APP_TOKEN="xapp-revoked")
    code, output = await run_until_exit(env, tmp_path)
    assert code != 0, output
    line = the_one_line(output)
    assert "Slack rejected SLACK_APP_TOKEN (invalid_auth)" in line, line
    assert len(slack.calls_of("apps.connections.open")) == 1  # asked once, not retried forever


async def test_a_port_in_use_is_one_line(
    stubs: tuple[DiscordStub, SlackWebStub], tmp_path: Path
) -> None:
    _, slack = stubs
    taken = await asyncio.start_server(lambda r, w: None, "0.0.0.0", 0)
    port = taken.sockets[0].getsockname()[1]
    try:
        env = chat_environment(tmp_path, None, slack, SLACK_PORT=str(port))
        code, output = await run_until_exit(env, tmp_path)
    finally:
        taken.close()
        await taken.wait_closed()
    assert code != 0, output
    line = the_one_line(output)
    assert f"Cannot listen on 0.0.0.0:{port} for Slack" in line, line
    assert "SLACK_PORT" in line


def test_new_communities_take_the_date_order_of_the_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from bot.core.errors import StartupError
    from bot.settings import load_settings

    monkeypatch.chdir(tmp_path)
    assert load_settings().community.community_settings().date_order == "dmy"
    monkeypatch.setenv("DEFAULT_DATE_ORDER", "MDY")
    assert load_settings().community.community_settings().date_order == "mdy"
    monkeypatch.setenv("DEFAULT_DATE_ORDER", "european")
    with pytest.raises(StartupError, match=r"^DEFAULT_DATE_ORDER='european' is not valid: "):
        load_settings()
