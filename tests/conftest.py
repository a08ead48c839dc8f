"""Fixtures shared by every test package: databases (SQLite and PostgreSQL) and services."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.core.services import Service
from storage.engine import create_engine
from tests import helpers
from tests.helpers import (
    REQUIRE_PG,
    FakeClock,
    fresh_database,
    make_service,
    pg_unavailable_reason,
)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Skip PostgreSQL tests with a clear reason when there is no server (fail in CI)."""
    reason = None
    for item in items:
        if "postgres" in item.keywords:
            reason = reason or pg_unavailable_reason() or ""
            if reason and not REQUIRE_PG:
                item.add_marker(pytest.mark.skip(reason=reason))


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_kind(request: pytest.FixtureRequest) -> str:
    """Run the test once on SQLite and once on PostgreSQL."""
    if request.param == "postgres" and REQUIRE_PG and pg_unavailable_reason():
        pytest.fail(f"PostgreSQL is required here: {pg_unavailable_reason()}")
    return str(request.param)


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
