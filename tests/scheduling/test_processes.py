"""Real bot processes: killed with SIGKILL mid-delivery, and two sharing one PostgreSQL."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from aiohttp import web
from sqlalchemy import text, update

from storage import tables
from storage.engine import create_engine
from tests.helpers import fresh_database
from tests.scheduling.support import create_market, real_service, rows, soon, wait_for

ROOT = Path(__file__).resolve().parents[2]


class Recorder:
    """An HTTP endpoint standing in for a chat platform; counts answered posts per key."""

    def __init__(self) -> None:
        self.hang = False
        self.answered: Counter[str] = Counter()
        self.kinds: dict[str, str] = {}
        self.pids: Counter[int] = Counter()
        self.seen = 0
        self._never = asyncio.Event()
        self.url = ""

    async def handle(self, request: web.Request) -> web.Response:
        """Answer a post, or hold it forever while hanging (the poster never hears back)."""
        body = await request.json()
        self.seen += 1
        if self.hang:
            await self._never.wait()
        self.answered[body["key"]] += 1
        self.kinds[body["key"]] = body["kind"]
        self.pids[body["pid"]] += 1
        return web.json_response({"ref": f"r{self.seen}"})

    @asynccontextmanager
    async def serve(self) -> AsyncIterator[Recorder]:
        """Serve on a random local port."""
        app = web.Application()
        app.router.add_post("/post", self.handle)
        runner = web.AppRunner(app, handle_signals=False, shutdown_timeout=0.1)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = runner.addresses[0][1]
        self.url = f"http://127.0.0.1:{port}/post"
        try:
            yield self
        finally:
            await runner.cleanup()


async def start_worker(db_url: str, recorder: Recorder, **env: str) -> asyncio.subprocess.Process:
    """Start a bot process and wait until it is serving."""
    full = {
        **os.environ,
        "DATABASE_URL": db_url,
        "RECORDER_URL": recorder.url,
        "SWEEP_EVERY": "1",
        "OUTBOX_POLL": "0.5",
        "OUTBOX_LEASE": "2",
        "OUTBOX_RETRY_BASE": "0.5",
        **env,
    }
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.scheduling.worker",
        cwd=ROOT,
        env=full,
        stdout=asyncio.subprocess.PIPE,
    )
    assert proc.stdout is not None
    line = await asyncio.wait_for(proc.stdout.readline(), timeout=20)
    assert line.strip() == b"ready", line
    return proc


async def stop_worker(proc: asyncio.subprocess.Process) -> None:
    """Stop a bot process cleanly and check it exited well."""
    proc.send_signal(signal.SIGTERM)
    assert await asyncio.wait_for(proc.wait(), timeout=20) == 0


async def test_sigkill_with_pending_announcements(tmp_path: Path) -> None:
    async with fresh_database("sqlite", str(tmp_path)) as url, Recorder().serve() as recorder:
        engine = create_engine(url)
        everything = ["closed"] * 3 + ["created"] * 3 + ["reminder"] * 3

        async def all_queued() -> bool:
            pending = await rows(engine, "SELECT kind FROM outbox WHERE delivered_at IS NULL")
            return sorted(r[0] for r in pending) == everything

        try:
            service = real_service(engine)
            for channel in ("c1", "c2", "c3"):
                await create_market(service, soon(3600), channel=channel)

            recorder.hang = True  # the platform takes posts but never answers
            first = await start_worker(url, recorder)
            try:
                await wait_for(lambda: recorder.seen >= 3, within=10)
                # The deadlines pass while the cards' posts hang (moved to now rather than
                # set seconds ahead, which a slow start-up could overtake): the markets close,
                # and their closing announcements and reminders queue up behind the cards.
                async with engine.begin() as conn:
                    now = datetime.now(UTC).replace(microsecond=0)
                    await conn.execute(update(tables.market).values(closes_at=now))
                await wait_for(all_queued, within=20)
            finally:
                first.kill()  # SIGKILL: no clean-up, claims left behind
                await first.wait()
            assert first.returncode == -signal.SIGKILL
            closed = await rows(engine, "SELECT number, closed_at FROM market ORDER BY number")
            assert len(closed) == 3 and all(r[1] is not None for r in closed)
            assert not recorder.answered

            recorder.hang = False
            second = await start_worker(url, recorder)
            try:
                await wait_for(lambda: len(recorder.answered) >= 9, within=15)
            finally:
                # Once it has exited, no duplicate can show up any more.
                await stop_worker(second)
            assert len(recorder.answered) == 9
            assert set(recorder.answered.values()) == {1}
            left = await rows(engine, "SELECT count(*) FROM outbox WHERE delivered_at IS NULL")
            assert left[0][0] == 0
        finally:
            await engine.dispose()


@pytest.mark.postgres
async def test_two_processes_close_and_announce_1000_markets_once(tmp_path: Path) -> None:
    markets = 1000
    communities = 20
    async with fresh_database("postgres", str(tmp_path)) as url, Recorder().serve() as recorder:
        engine = create_engine(url)
        try:
            service = real_service(engine)
            gate = asyncio.Semaphore(communities)

            async def create(n: int) -> None:
                async with gate:
                    community = f"g{n % communities}"
                    await create_market(
                        service, "2030-01-01", community=community, channel=f"ch-{community}"
                    )

            await asyncio.gather(*(create(n) for n in range(markets)))
            async with engine.begin() as conn:
                # The cards were posted long ago; what is under test is closing and announcing.
                await conn.execute(text("UPDATE outbox SET delivered_at = now()"))

            workers = await asyncio.gather(
                start_worker(url, recorder, OUTBOX_LEASE="30"),
                start_worker(url, recorder, OUTBOX_LEASE="30"),
            )
            try:
                # Once both are serving, everything falls due at the same moment.
                async with engine.begin() as conn:
                    await conn.execute(text("UPDATE market SET closes_at = now()"))
                # An upper bound, not a pace: with both cores busy 2,000 posts took 41 s.
                await wait_for(lambda: len(recorder.answered) >= 2 * markets, within=180, every=0.2)
            finally:
                # Once they have exited, no duplicate can show up any more.
                for proc in workers:
                    await stop_worker(proc)

            status = await rows(engine, "SELECT status, count(*) FROM market GROUP BY status")
            assert [tuple(r) for r in status] == [("closed", markets)]
            per_market = await rows(
                engine,
                "SELECT kind, count(*), count(DISTINCT market_id), "
                "count(delivered_at) FROM outbox GROUP BY kind ORDER BY kind",
            )
            assert [tuple(r) for r in per_market] == [
                ("closed", markets, markets, markets),
                ("created", markets, markets, markets),
                ("reminder", markets, markets, markets),
            ]
            assert len(recorder.answered) == 2 * markets
            assert set(recorder.answered.values()) == {1}  # nothing posted twice
            assert Counter(recorder.kinds.values()) == {"closed": markets, "reminder": markets}
            assert len(recorder.pids) == 2  # both processes took part
            spread = await rows(engine, "SELECT max(closed_at - closes_at) FROM market")
            print(f"last of {markets} markets closed {spread[0][0]} after the deadline")
            assert spread[0][0] < timedelta(seconds=10)
        finally:
            await engine.dispose()
