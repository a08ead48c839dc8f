"""Figure 2: Slack slash commands through the real bolt HTTP server, time to ack.

The real `SlackAdapter` (slack-bolt's aiohttp server on 127.0.0.1, port 0) serves a fresh SQLite
file; its Web API is the Slack stand-in (`tests.fakes.slack_stub`). Each request is a
`/predict bet 1 Yes 5` from a different user, form-encoded and signed exactly as Slack signs
(bodies and signatures prepared before the clock starts). All requests of a burst are sent at
once from an aiohttp client in the same process; the time to ack is from sending a request to
its HTTP 200. Between bursts the bets' private replies (response_url posts) are awaited, so a
burst starts on an idle server.
"""

from __future__ import annotations

import asyncio
import time
import uuid

import aiohttp
from pydantic import SecretStr

from bench.common import Bench, Figure, Series, database, pct
from bot.adapters.slack import SlackAdapter
from bot.core.commands import CreateMarket
from bot.core.models import Actor, Context
from bot.core.service import Service
from bot.runtime import SystemClock
from bot.settings import SlackSettings
from storage.engine import create_engine
from storage.store import SqlStore
from tests.fakes.slack_stub import SlackWebStub, signed_headers, slash_command_body

KEY = "slack"
TOKEN = "xoxb-bench-token"
SECRET = "bench-signing-secret"
TEAM = "T0STUB"


async def burst(
    http: aiohttp.ClientSession, url: str, stub: SlackWebStub, users: list[str], tag: str
) -> list[float]:
    """Send one bet per user at once; return each request's seconds to ack."""
    requests = []
    for n, user in enumerate(users):
        body = slash_command_body(
            text="bet 1 Yes 5",
            user_id=user,
            user_name=user.lower(),
            team_id=TEAM,
            channel_id="C0BENCH",
            trigger_id=f"{tag}.{n}.{uuid.uuid4().hex[:8]}",
            response_url=stub.response_url_for(f"{tag}-{n}"),
        )
        requests.append((body, signed_headers(body, SECRET)))
    before = len(stub.responses)

    async def one(body: bytes, headers: dict[str, str]) -> float:
        started = time.perf_counter()
        async with http.post(url, data=body, headers=headers) as resp:
            await resp.read()
            took = time.perf_counter() - started
            if resp.status != 200:
                raise RuntimeError(f"slack answered {resp.status}")
        return took

    latencies = await asyncio.gather(*(one(b, h) for b, h in requests))
    # Let the bets finish, reply and refresh App Homes before the next burst.
    deadline = time.perf_counter() + 60
    calls, quiet = -1, 0
    while len(stub.responses) < before + len(users) or quiet < 10:
        if time.perf_counter() > deadline:
            raise RuntimeError("slack replies missing after 60 s")
        await asyncio.sleep(0.05)
        quiet = quiet + 1 if len(stub.calls) == calls else 0
        calls = len(stub.calls)
    return list(latencies)


async def run_once(bench: Bench) -> tuple[list[float], list[float]]:
    sizes = bench.sizes
    async with database("sqlite", bench.tmp) as db, SlackWebStub(token=TOKEN) as stub:
        users = [f"U{n:07d}" for n in range(sizes.slack_concurrent + sizes.slack_burst)]
        for user in users:
            stub.add_user(user, user.lower())
        engine = create_engine(db)
        service = Service(SqlStore(engine), SystemClock())
        await service.execute(
            CreateMarket(question="Will the launch happen on time?", closes="in 3 days"),
            Context("slack", TEAM, Actor("U0MOD", "mod", is_moderator=True), "c1", "C0BENCH"),
        )
        settings = SlackSettings(
            slack_bot_token=SecretStr(TOKEN),
            slack_signing_secret=SecretStr(SECRET),
            slack_port=0,
            slack_api_url=stub.base_url,
        )
        adapter = SlackAdapter(service, settings, host="127.0.0.1")
        await adapter.start()
        url = f"http://127.0.0.1:{adapter.port}/slack/events"
        try:
            connector = aiohttp.TCPConnector(limit=0)
            async with aiohttp.ClientSession(connector=connector) as http:
                # Warm-up: one request (imports, first connection, statement caches).
                await burst(http, url, stub, users[:1], "warm")
                small = await burst(http, url, stub, users[: sizes.slack_concurrent], "a")
                large = await burst(http, url, stub, users[sizes.slack_concurrent :], "b")
        finally:
            await adapter.stop()
            await engine.dispose()
    return small, large


async def run(bench: Bench) -> Figure:
    sizes = bench.sizes
    n, m = sizes.slack_concurrent, sizes.slack_burst
    figure = Figure(
        number=2,
        key=KEY,
        title="Slack: signed `/predict bet` slash commands to ack",
        target=f"p99 ≤ 50 ms at {n} concurrent; every request acked within 3 s at {m} concurrent",
        method=(
            f"Bursts of {n} and of {m} simultaneous signed `/predict bet 1 Yes 5` requests "
            "(one user each) to the real `SlackAdapter` HTTP server (slack-bolt on aiohttp) on "
            "127.0.0.1, backed by a fresh SQLite file and the Slack Web API stand-in; client in "
            "the same process. Time to ack = request sent → HTTP 200. After each burst the "
            "suite waits for the replies and App Home refreshes to finish."
        ),
    )
    p50 = Series(f"{n} concurrent: p50 ack (ms)", "ms")
    p99 = Series(f"{n} concurrent: p99 ack (ms)", "ms")
    worst = Series(f"{m} concurrent: max ack (ms)", "ms")
    for r in range(bench.runs):
        small, large = await run_once(bench)
        p50.values.append(pct(small, 0.5) * 1000)
        p99.values.append(pct(small, 0.99) * 1000)
        worst.values.append(max(large) * 1000)
        bench.log(
            f"  run {r + 1}: p50 {p50.values[-1]:.1f} ms, p99 {p99.values[-1]:.1f} ms, "
            f"max at {m}: {worst.values[-1]:.0f} ms"
        )
    figure.series += [p50, p99, worst]
    figure.verdicts.append(
        f"{n} concurrent: median p99 {p99.median:.1f} ms (≤ 50 ms) — "
        f"{'met' if p99.median <= 50 else 'MISSED'}"
    )
    figure.verdicts.append(
        f"{m} concurrent: worst max {worst.high:.0f} ms (≤ 3000 ms) — "
        f"{'met' if worst.high <= 3000 else 'MISSED'}"
    )
    return figure
