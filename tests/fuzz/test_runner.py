"""The standalone fuzzer runs, and counts what it is there to count."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.adapters.console import ConsoleSession
from bot.core.commands import Command
from bot.core.errors import InvalidInput
from bot.core.models import Context
from bot.core.views import Result
from tests.fuzz.__main__ import Fuzzer, fingerprint, main
from tests.fuzz.vocabulary import SEED


def test_a_short_run_on_each_store_sees_no_traceback(
    db_kind: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--lines", "300", "--epoch", "200", "--db", db_kind, "--quiet"]) == 0
    out = capsys.readouterr().out
    assert f"fuzz --db {db_kind} --lines 300" in out
    # Two fresh databases (200 lines each at most), each seeded once.
    assert f"300 random, {2 * len(SEED)} seeding" in out
    assert "tracebacks 0  changed-by-refusal 0" in out


class _Failing:
    """A service that fails in a way users must never see."""

    async def execute(self, command: Command, ctx: Context) -> Result:
        raise RuntimeError("disk on fire")


class _Meddling:
    """A service that refuses, but writes first (what a refusal must never do)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def execute(self, command: Command, ctx: Context) -> Result:
        async with self.engine.begin() as conn:
            await conn.exec_driver_sql(
                "INSERT INTO community (platform, external_id, settings_json, "
                "next_market_number, created_at) VALUES ('x', 'y', '{}', 1, '2026-01-01')"
            )
        raise InvalidInput("no")


async def test_tracebacks_and_changes_by_refusals_are_counted(
    engine: AsyncEngine, tmp_path: object
) -> None:
    fuzzer = Fuzzer("sqlite", 1, 10, str(tmp_path))
    failing = ConsoleSession(_Failing(), "al", set(), fuzzer.replies.append)  # type: ignore[arg-type]
    state = await fingerprint(engine)
    with fuzzer.listening():
        state = await fuzzer.check_line(engine, failing, "balance", state)
    assert fuzzer.report.traceback_count == 1
    (where,) = fuzzer.report.tracebacks
    assert where.startswith("RuntimeError at test_runner.py")
    assert fuzzer.report.examples[where] == ("balance", "disk on fire")

    meddling = ConsoleSession(_Meddling(engine), "al", set(), fuzzer.replies.append)  # type: ignore[arg-type]
    await fuzzer.check_line(engine, meddling, "daily", state)
    assert fuzzer.report.changed == ["daily"]
    assert fuzzer.report.refused == 2
