"""Fixtures shared by every test package: stores (in memory, SQLite, PostgreSQL), databases
and services.

`store_kind` and `world` run a test on every store (the core's behaviour tests in `tests/core/`
use them); `db_kind`, `engine` and `service` are for tests that need real SQL."""

from __future__ import annotations

import asyncio
import os
import sys
import threading
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.core.service import Service
from storage.engine import create_engine
from tests import helpers
from tests.fakes import specs
from tests.helpers import (
    REQUIRE_PG,
    FakeClock,
    fresh_database,
    make_service,
    pg_unavailable_reason,
)
from tests.world import World, open_world


def pytest_configure(config: pytest.Config) -> None:
    """Refuse to run without the platforms' schemas when they are required (CI)."""
    reason = specs.missing_reason()
    if reason and specs.REQUIRE_SPECS:
        raise pytest.UsageError(f"PREDICTBOT_REQUIRE_SPECS=1 but {reason}")
    if reason:  # said once, in the warnings summary (the header line is hidden by -q)
        config.issue_config_time_warning(pytest.PytestWarning(reason), stacklevel=2)


def pytest_report_header(config: pytest.Config) -> str:
    """Say what the stand-ins check payloads against, or that they cannot."""
    return specs.status_line()


@pytest.fixture(autouse=True)
def _payloads_accepted() -> Iterator[None]:
    """Fail a test that sent a stand-in what the real Discord or Slack would refuse, even when
    no fixture of its own checks that stand-in."""
    earlier = specs.take_pending()
    assert not earlier, "before this test started, " + specs.describe(earlier)
    yield
    found = specs.take_pending()
    if found:
        pytest.fail(specs.describe(found), pytrace=False)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Skip PostgreSQL tests with a clear reason when there is no server (fail in CI)."""
    reason = None
    for item in items:
        if "postgres" in item.keywords:
            reason = reason or pg_unavailable_reason() or ""
            if reason and not REQUIRE_PG:
                item.add_marker(pytest.mark.skip(reason=reason))


def _kind(request: pytest.FixtureRequest) -> str:
    if request.param == "postgres" and REQUIRE_PG and pg_unavailable_reason():
        pytest.fail(f"PostgreSQL is required here: {pg_unavailable_reason()}")
    return str(request.param)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_kind(request: pytest.FixtureRequest) -> str:
    """Run the test once on SQLite and once on PostgreSQL."""
    return _kind(request)


@pytest.fixture(params=["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store_kind(request: pytest.FixtureRequest) -> str:
    """Run the test on the in-memory store, on SQLite and on PostgreSQL."""
    return _kind(request)


@pytest.fixture
async def world(store_kind: str, clock: FakeClock, tmp_path: Path) -> AsyncIterator[World]:
    """Yield the service on a fresh store of `store_kind`, with the fake clock."""
    async with open_world(store_kind, clock, str(tmp_path)) as opened:
        yield opened


@pytest.fixture
async def db_url(db_kind: str, tmp_path: Path) -> AsyncIterator[str]:
    """Yield the URL of a fresh, migrated database."""
    async with fresh_database(db_kind, str(tmp_path)) as url:
        yield url


@pytest.fixture
async def engine(db_url: str) -> AsyncIterator[AsyncEngine]:
    """Yield an engine on a fresh database."""
    eng = create_engine(db_url)
    yield eng
    await eng.dispose()


@pytest.fixture
def clock() -> FakeClock:
    """Return a fake clock at 2026-03-02 12:00 UTC."""
    return FakeClock()


@pytest.fixture
def service(engine: AsyncEngine, clock: FakeClock) -> Service:
    """Return the service on a fresh database with a fake clock."""
    return make_service(engine, clock)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Name PostgreSQL connections that tests left open (their schemas were dropped anyway)."""
    if helpers.LEAKS:
        terminalreporter.section("leaked PostgreSQL connections")
        for schema, state, query in helpers.LEAKS:
            terminalreporter.write_line(f"{schema}: {state}: {query[:200]}")


_WATCHDOG_AFTER = float(os.environ.get("PREDICTBOT_TEST_WATCHDOG", "120"))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    """If a test runs suspiciously long, print its asyncio tasks' stacks (a hang's cause)."""
    done = threading.Event()
    watchdog = threading.Thread(target=_dump_tasks, args=(item.nodeid, done), daemon=True)
    watchdog.start()
    try:
        yield
    finally:
        done.set()


def _dump_tasks(nodeid: str, done: threading.Event) -> None:
    if done.wait(_WATCHDOG_AFTER):
        return
    out = [f"\n=== {nodeid} still running after {_WATCHDOG_AFTER:.0f} s; asyncio tasks:"]
    main = sys._current_frames().get(threading.main_thread().ident or 0)
    frame = main
    while frame is not None and frame.f_code.co_name != "_run_once":
        frame = frame.f_back
    loop = frame.f_locals.get("self") if frame is not None else None
    if isinstance(loop, asyncio.AbstractEventLoop):
        for task in list(asyncio.all_tasks(loop)):
            out.append(f"--- {task!r}")
            for f in task.get_stack(limit=12):
                out.append(f"    {f.f_code.co_filename}:{f.f_lineno} {f.f_code.co_name}")
    else:
        out.append("(no running event loop found)")
    sys.stderr.write("\n".join(out) + "\n")
    sys.stderr.flush()
