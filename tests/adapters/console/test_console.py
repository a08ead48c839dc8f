"""The console adapter end to end: the real `predictbot console` in a subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.adapters.console import parse_line

S400 = "Will Turkey take delivery of S-400 systems by 2019-12-31?"


def console(
    stdin: str, *args: str, env: dict[str, str] | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """Run `python -m bot console ARGS` with stdin piped; return the finished process."""
    full_env = {**os.environ, **(env or {})}
    full_env.pop("DATABASE_URL", None)
    if env and "DATABASE_URL" in env:
        full_env["DATABASE_URL"] = env["DATABASE_URL"]
    return subprocess.run(
        [sys.executable, "-m", "bot", "console", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=full_env,
        check=False,
    )


def test_parse_line() -> None:
    assert parse_line("") is None
    assert parse_line("   # a comment") is None
    line = parse_line("/predict bet 1 yes 10")
    assert line is not None and line.user is None and line.text == "bet 1 yes 10"
    line = parse_line("@bob /predict balance")
    assert line is not None and line.user == "bob" and line.text == "balance"
    line = parse_line("@carol sell 1 no all")
    assert line is not None and line.user == "carol" and line.text == "sell 1 no all"
    line = parse_line("/predictions")
    assert line is not None and line.text == "/predictions"


def test_whole_lifecycle(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'console.db'}"
    script = f"""
# an S-400 market from creation to payout
create "{S400}" closes:2099-12-31 criteria:"Official delivery reported by Reuters"
@bob /predict bet 1 yes 100
@carol bet 1 no 50
@bob sell 1 yes 20
@carol resolve 1 yes
@alice close 1
@alice resolve 1 yes evidence:https://example.com/s400
@bob balance
@carol balance
leaderboard
"""
    proc = console(script, "--db", db, "--user", "alice", "--moderator", "alice")
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "Market #1 created." in out
    assert S400 in out
    assert "Bought 148.99 shares of Yes in #1 for 100 points" in out
    assert "Sold 20 shares of Yes in #1" in out
    # carol is not a moderator and not the creator
    assert "Error: Only a moderator may resolve" in out
    assert "Market #1 closed" in out
    assert "Market #1 resolved: Yes." in out
    assert "Evidence: https://example.com/s400" in out
    assert "You have 1,038 points." in out  # bob: 900 + 9 from the sale + 129 payout
    assert "You have 950 points." in out  # carol lost her 50
    assert "Traceback" not in out + proc.stderr


def test_second_run_continues_the_first(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'continue.db'}"
    first = console(
        f'create "{S400}" closes:2099-12-31\n@bob bet 1 no 30\n', "--db", db, "--user", "alice"
    )
    assert first.returncode == 0, first.stderr
    second = console("@bob balance\nshow 1\nlist\n", "--db", db, "--user", "alice")
    assert second.returncode == 0, second.stderr
    assert "You have 970 points (+" in second.stdout
    assert f"#1 {S400}" in second.stdout
    assert "Volume 30 pts · 1 trader" in second.stdout


def test_refusals_are_plain_errors_and_exit_zero(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'refusals.db'}"
    proc = console(
        'bet 1 yes 10\nbet one yes 10\nfrobnicate\ncreate "Too short" closes:2099-01-01\n'
        'create "Will this deadline in the past work?" closes:2001-01-01\n',
        "--db",
        db,
    )
    assert proc.returncode == 0, proc.stderr
    lines = [line for line in proc.stdout.splitlines() if line.startswith("Error:")]
    assert len(lines) == 5, proc.stdout
    assert "There is no market #1" in lines[0]
    assert "not a market number" in lines[1]
    assert "Unknown command `frobnicate`" in lines[2]
    assert "too short" in lines[3]
    assert "in the past" in lines[4]
    assert "Traceback" not in proc.stdout + proc.stderr


def test_default_database_lives_in_the_data_dir(tmp_path: Path) -> None:
    env = {"PREDICTBOT_DATA_DIR": str(tmp_path / "data")}
    proc = console("balance\n", "--user", "dora", env=env)
    assert proc.returncode == 0, proc.stderr
    assert "You have 1,000 points." in proc.stdout
    assert (tmp_path / "data" / "predictbot.db").exists()


def test_help_explains_every_command(tmp_path: Path) -> None:
    proc = console("help\nhelp bet\n", "--db", f"sqlite:///{tmp_path / 'h.db'}")
    assert proc.returncode == 0, proc.stderr
    for word in ("create", "bet", "sell", "resolve", "leaderboard", "daily", "config"):
        assert word in proc.stdout
    assert "bet <id> <outcome> <points>" in proc.stdout


@pytest.mark.postgres
def test_console_on_postgres(tmp_path: Path) -> None:
    import asyncio
    import uuid

    import asyncpg

    from tests.helpers import PG_URL

    schema = f"c_{uuid.uuid4().hex[:10]}"

    async def admin(sql: str) -> None:
        conn = await asyncpg.connect(PG_URL)
        await conn.execute(sql)
        await conn.close()

    asyncio.run(admin(f'CREATE SCHEMA "{schema}"'))
    try:
        url = f"{PG_URL}?schema={schema}"
        proc = console(
            f'create "{S400}" closes:2099-12-31\n@bob bet 1 yes 10\n@bob balance\n',
            "--db",
            url,
        )
        assert proc.returncode == 0, proc.stderr
        assert "You have 990 points (+" in proc.stdout
    finally:
        asyncio.run(admin(f'DROP SCHEMA "{schema}" CASCADE'))


def test_no_subcommand_starts_the_console_without_tokens(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DISCORD_", "SLACK_"))}
    env.pop("DATABASE_URL", None)
    env["PREDICTBOT_DATA_DIR"] = str(tmp_path / "data")
    proc = subprocess.run(
        [sys.executable, "-m", "bot"],
        input="balance\n",
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        check=False,
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    assert "You have 1,000 points." in proc.stdout
    assert (tmp_path / "data" / "predictbot.db").exists()


def test_run_without_tokens_points_to_console() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DISCORD_", "SLACK_"))}
    proc = subprocess.run(
        [sys.executable, "-m", "bot", "run"],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        check=False,
        cwd="/",
    )
    assert proc.returncode != 0
    assert "DISCORD_TOKEN" in proc.stderr
    assert "SLACK_BOT_TOKEN" in proc.stderr
    assert "predictbot console" in proc.stderr


STRICT_UTF8 = {"LC_ALL": "C.UTF-8", "PYTHONUTF8": "0", "PYTHONIOENCODING": "utf-8:strict"}
C_UTF8 = {"LC_ALL": "C.UTF-8", "PYTHONUTF8": "0"}  # stdin decodes with surrogateescape
ASCII_OUT = {"LC_ALL": "C.UTF-8", "PYTHONUTF8": "0", "PYTHONIOENCODING": "ascii:strict"}


@pytest.mark.parametrize("locale", [STRICT_UTF8, C_UTF8, ASCII_OUT], ids=["strict", "c", "ascii"])
def test_lines_that_are_not_utf8_are_refused_and_the_console_goes_on(
    tmp_path: Path, locale: dict[str, str]
) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "LANG", "LC_CTYPE")}
    proc = subprocess.run(
        [sys.executable, "-m", "bot", "console", "--db", f"sqlite:///{tmp_path / 'u.db'}"],
        input=(
            b"balance\n\xff\xfe\n@\xff\xfe balance\n@bob bet 1 \xe9 10\n"
            b"bet one yes 10\n@bob balance\n"
        ),
        capture_output=True,
        timeout=60,
        env={**env, **locale},
        check=False,
    )
    out, err = proc.stdout.decode("utf-8"), proc.stderr.decode("utf-8")
    assert proc.returncode == 0, err
    assert "Traceback" not in out + err
    lines = out.splitlines()
    assert lines[0] == "You have 1,000 points."
    refused = [line for line in lines if "is not valid UTF-8" in line]
    assert len(refused) == 3, out
    assert all(line.startswith("Error: ") for line in refused)
    assert "not a market number" in out  # a refusal with non-ASCII punctuation still prints
    assert lines[-1] == "You have 1,000 points."


def test_deadlines_are_shown_in_the_communitys_timezone(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'tz.db'}"
    proc = console(
        "config timezone:Europe/Berlin\n"
        'create "Will the console show Berlin time?" closes:2099-12-31\n'
        "extend 1 closes:2100-01-31T12:00\n"
        "close 1\n",
        "--db",
        db,
        "--user",
        "alice",
        "--moderator",
        "alice",
    )
    assert proc.returncode == 0, proc.stderr
    assert "  Open · closes Thu 31 Dec 2099 23:59 Europe/Berlin\n" in proc.stdout
    assert (
        "Market #1 now closes Sun 31 Jan 2100 12:00 Europe/Berlin "
        "(was Thu 31 Dec 2099 23:59 Europe/Berlin)."
    ) in proc.stdout
    assert " Europe/Berlin · awaiting resolution\n" in proc.stdout
    assert " UTC" not in proc.stdout.split("Updated timezone.", 1)[1]


def test_quit_and_exit_end_the_console(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'quit.db'}"
    for word in ("quit", "EXIT", "/predict quit"):
        proc = console(f"balance\n{word}\nbalance\n", "--db", db, "--user", "alice")
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout.count("You have 1,000 points.") == 1, (word, proc.stdout)


def test_without_user_the_local_user_moderates_a_new_community_only(tmp_path: Path) -> None:
    env = {"PREDICTBOT_DATA_DIR": str(tmp_path / "data"), "LOGNAME": "dora", "USER": "dora"}
    first = console('config\ncreate "Will dora moderate it?" closes:2099-12-31\n', env=env)
    assert first.returncode == 0, first.stderr
    assert "moderators: dora" in first.stdout
    # Markets exist now: a later user without --user is not made a moderator.
    eve = {**env, "LOGNAME": "eve", "USER": "eve"}
    second = console("config\n", env=eve)
    assert "Error: Only moderators may view or change the settings." in second.stdout
    # --user names who you are: no claim, even on a new community.
    fresh = {**env, "PREDICTBOT_DATA_DIR": str(tmp_path / "other")}
    named = console("config\n", "--user", "dora", env=fresh)
    assert "Error: Only moderators may view or change the settings." in named.stdout
