"""Database engines: URL handling, SQLite pragmas and transaction modes, migrations."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiosqlite
from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, event, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from bot.core.errors import StartupError

MIGRATIONS = Path(__file__).parent / "migrations"
READ_ONLY = "predictbot_read_only"


_KINDS = "use sqlite:///path/to.db or postgresql://user@host/db (DATABASE_URL, or --db)"


def async_url(url: str) -> str:
    """Turn a plain database URL into one naming the async driver predictbot uses, or raise
    `StartupError` for a URL that is not one or names a database predictbot can't use."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise StartupError(f"The database URL is not a URL: {_KINDS}.") from None
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        return parsed.set(drivername="sqlite+aiosqlite").render_as_string(hide_password=False)
    if backend in ("postgresql", "postgres"):
        return parsed.set(drivername="postgresql+asyncpg").render_as_string(hide_password=False)
    raise StartupError(f"Unsupported database URL {shown_url(parsed)}: {_KINDS}.")


def shown_url(url: str | URL) -> str:
    """Return a database URL fit for a log or an error message: its password hidden."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        return "(not a URL)"
    return parsed.render_as_string(hide_password=True)


def is_sqlite(engine: AsyncEngine) -> bool:
    """Tell whether an engine talks to SQLite."""
    return engine.dialect.name == "sqlite"


def create_engine(url: str, **kwargs: Any) -> AsyncEngine:
    """Create an async engine; on SQLite with WAL, foreign keys, a busy timeout and
    `BEGIN IMMEDIATE` for writing transactions so writers queue instead of failing."""
    full = async_url(url)
    if make_url(full).get_backend_name() == "sqlite":
        database = make_url(full).database
        if database and database != ":memory:":
            _make_directory(Path(database).expanduser().parent)
        if database and database != ":memory:" and not make_url(full).query:
            kwargs.setdefault("async_creator", _inline_creator(database))
        engine = create_async_engine(
            full, connect_args={"timeout": 30}, pool_size=5, max_overflow=0, **kwargs
        )
        _sqlite_events(engine)
        return engine
    parsed = make_url(full)
    schema = parsed.query.get("schema")
    if schema:
        # `?schema=name` puts predictbot's tables in a PostgreSQL schema of their own.
        parsed = parsed.difference_update_query(["schema"])
        settings = kwargs.setdefault("connect_args", {}).setdefault("server_settings", {})
        settings["search_path"] = str(schema)
        settings.setdefault("application_name", f"predictbot:{schema}")
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("max_overflow", 10)
    return create_async_engine(parsed, **kwargs)


def _make_directory(folder: Path) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise StartupError(
            f"Cannot create {folder} for the SQLite database ({error.strerror or error}): "
            "choose another path with DATABASE_URL (or --db), or set PREDICTBOT_DATA_DIR."
        ) from None


def _sqlite_events(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        # Let us issue BEGIN ourselves (pysqlite's implicit transactions can't be IMMEDIATE).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        wal = str(cursor.fetchone()[0]).lower() == "wal"
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()
        driver = getattr(dbapi_connection, "_connection", None)
        if wal and isinstance(driver, InlineConnection):
            driver.inline = True

    @event.listens_for(engine.sync_engine, "begin")
    def _begin(conn: Connection) -> None:
        read_only = conn.get_execution_options().get(READ_ONLY, False)
        conn.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")


class InlineConnection(aiosqlite.Connection):
    """An aiosqlite connection that runs quick calls on the event loop's own thread.

    aiosqlite hands every call (cursor, execute, fetch, close, commit) to a worker thread and
    back: about 100 µs per hop on a small machine, four hops per statement, while SQLite answers
    a small statement in microseconds. Once the connection is in WAL mode (set at connect),
    calls run inline, except those that can wait: `BEGIN` (it waits for the write lock, up to
    busy_timeout) and statements run under `offloaded()` (set-based payouts and sums), which
    still go to the worker thread so the loop never stalls on a lock or a long statement.
    In WAL mode nothing else waits: readers never block, and a writer holds the lock from its
    `BEGIN IMMEDIATE`."""

    inline = False
    offload_depth = 0
    # Calls handed to the worker thread, and calls it finished (each written by one thread):
    # nothing runs inline while the thread may still be using the connection (a cancelled
    # caller does not stop the thread's call).
    submitted = 0
    finished = 0

    async def _execute(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        if (
            self.inline
            and not self.offload_depth
            and self.submitted == self.finished
            and not _may_wait(args)
        ):
            if not self._running or not self._connection:
                raise ValueError("Connection closed")
            return fn(*args, **kwargs)

        def threaded() -> Any:
            try:
                return fn(*args, **kwargs)
            finally:
                self.finished += 1

        self.submitted += 1
        return await super()._execute(threaded)  # type: ignore[no-untyped-call]


def _may_wait(args: tuple[Any, ...]) -> bool:
    return bool(args) and isinstance(args[0], str) and args[0].lstrip()[:5].upper() == "BEGIN"


def _inline_creator(database: str) -> Callable[[], Any]:
    async def create() -> aiosqlite.Connection:
        def connector() -> sqlite3.Connection:
            # Used from the loop's thread and the worker thread, never both at once.
            return sqlite3.connect(database, timeout=30, check_same_thread=False)

        connection = InlineConnection(connector, 64)
        connection._thread.daemon = True
        return await connection

    return create


@asynccontextmanager
async def offloaded(conn: AsyncConnection) -> AsyncIterator[None]:
    """Run the statements of this block on the driver's worker thread (long statements)."""
    raw = await conn.get_raw_connection()
    driver = raw.driver_connection
    if not isinstance(driver, InlineConnection):
        yield
        return
    driver.offload_depth += 1
    try:
        yield
    finally:
        driver.offload_depth -= 1


def alembic_config() -> Config:
    """Return an Alembic configuration pointing at predictbot's migrations."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


async def migrate(engine: AsyncEngine, revision: str = "head") -> None:
    """Bring the schema up to date (run at start-up; safe to repeat).

    A database that can't be reached, or a PostgreSQL schema that does not exist, raises
    `StartupError` saying so before anything is migrated."""

    def _upgrade(connection: Connection) -> None:
        config = alembic_config()
        config.attributes["connection"] = connection
        command.upgrade(config, revision)

    conn = await connect(engine)
    try:
        async with conn.begin():
            if not is_sqlite(engine):
                await _require_schema(conn)
            await conn.run_sync(_upgrade)
    finally:
        await conn.close()


async def connect(engine: AsyncEngine) -> AsyncConnection:
    """Open a connection, or raise `StartupError` saying why the database can't be reached."""
    try:
        return await engine.connect()
    except (OSError, DBAPIError) as error:
        raise StartupError(
            f"Cannot connect to the database {shown_url(engine.url)}: {_reason(error)}. "
            "Check the database URL (DATABASE_URL, or --db) and that the database is running."
        ) from None


def _reason(error: Exception) -> str:
    cause = error.orig if isinstance(error, DBAPIError) and error.orig is not None else error
    text_ = " ".join(str(cause).split()) or type(cause).__name__
    # The asyncpg adaptation prefixes the driver's class: "<class '...'>: database ..."
    return re.sub(r"^<class '[^']*'>:\s*", "", text_)[:300]


async def _require_schema(conn: AsyncConnection) -> None:
    """Refuse a search path (`?schema=name`) that names no existing schema: tables would
    have nowhere to go."""
    if await conn.scalar(text("SELECT current_schema()")) is not None:
        return
    path = await conn.scalar(text("SELECT current_setting('search_path')"))
    raise StartupError(
        f"The PostgreSQL schema {path} does not exist in database "
        f"{shown_url(conn.engine.url)}: create it (CREATE SCHEMA {path};) or change ?schema= "
        "in the database URL."
    )
