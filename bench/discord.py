"""Figure 3: Discord `/bet` interactions through the gateway stand-in, to the interaction callback.

The real `DiscordAdapter` (discord.py) connects to the Discord stand-in
(`tests.fakes.discord_stub`: REST + gateway websocket on 127.0.0.1) and serves a fresh SQLite
file. A burst of `/bet market:1 outcome:Yes points:5` INTERACTION_CREATE events, one per guild
member, is dispatched back to back over the gateway; each is timed from its dispatch to the
bot's interaction callback (`InteractionRecord.response_delay`). The adapter defers a bet at
once, so the suite also times dispatch → the result (the edit replacing "thinking…"), and waits
for every result before stopping the adapter.
"""

from __future__ import annotations

import asyncio

from pydantic import SecretStr

from bench.common import Bench, Figure, Series, database, pct
from bot.core.commands import CreateMarket
from bot.core.models import Actor, Context
from bot.core.service import Service
from bot.runtime import SystemClock
from bot.settings import DiscordSettings
from storage.engine import create_engine
from storage.store import SqlStore
from tests.fakes.discord_stub import (
    APP_ID,
    CHANNEL_ID,
    DEFERRED_CHANNEL_MESSAGE,
    GUILD_ID,
    DiscordStub,
    make_member,
)

KEY = "discord"
TOKEN = "bench-token"
FIRST_USER = 500_000


async def run_once(bench: Bench) -> tuple[list[float], list[float]]:
    """Return the delays (s) from dispatch to the callback, and to the bet's result."""
    from bot.adapters.discord import DiscordAdapter

    burst = bench.sizes.discord_burst
    async with database("sqlite", bench.tmp) as db:
        stub = DiscordStub(token=TOKEN)
        stub.add_default_guild()
        users = [FIRST_USER + n for n in range(burst + 1)]
        for user in users:
            stub.add_member(GUILD_ID, make_member(user, f"user{user}"))
        await stub.start()
        engine = create_engine(db)
        service = Service(SqlStore(engine), SystemClock())
        await service.execute(
            CreateMarket(question="Will the raid boss fall tonight?", closes="in 3 days"),
            Context("discord", str(GUILD_ID), Actor("1", "mod", True), "c1", str(CHANNEL_ID)),
        )
        settings = DiscordSettings(
            discord_token=SecretStr(TOKEN),
            discord_guild_ids=str(GUILD_ID),
            discord_api_base=stub.api_base,
            discord_gateway_url=stub.gateway_url,
        )
        adapter = DiscordAdapter(service, settings, guild_ready_timeout=0.05)
        await adapter.start()
        try:
            await stub.wait_ready()

            async def bet(user: int) -> object:
                payload = stub.slash_command(
                    "bet",
                    {"market": 1, "outcome": "Yes", "points": 5},
                    user_id=user,
                    channel_id=CHANNEL_ID,
                )
                return await stub.send_interaction(payload)

            warm = await bet(users[0])
            await warm.wait_response(timeout=10)  # type: ignore[attr-defined]
            records = [await bet(user) for user in users[1:]]
            await asyncio.gather(*(r.wait_response(timeout=30) for r in records))
            delays = [r.response_delay for r in records]
            results: list[float] = []
            for rec in records:
                if rec.response_type == DEFERRED_CHANNEL_MESSAGE:
                    await stub.wait_until(lambda rec=rec: rec.edits or rec.followups, timeout=30)
                    results.append(last_write(stub, rec.token) - rec.dispatched_at)
                elif rec.responded_at is not None:
                    results.append(rec.responded_at - rec.dispatched_at)
            if stub.errors:
                raise RuntimeError(f"discord stand-in errors: {stub.errors[:3]}")
            return [d for d in delays if d is not None], results
        finally:
            await adapter.stop()
            await stub.stop()
            await engine.dispose()


def last_write(stub: DiscordStub, token: str) -> float:
    """Return when the bot last sent an interaction's answer through its webhook."""
    return max(r.time for r in stub.requests if r.path.startswith(f"/webhooks/{APP_ID}/{token}"))


async def run(bench: Bench) -> Figure:
    burst = bench.sizes.discord_burst
    figure = Figure(
        number=3,
        key=KEY,
        title=f"Discord: a burst of {burst} `/bet` interactions to callback",
        target="p99 ≤ 50 ms",
        method=(
            f"{burst} `/bet market:1 outcome:Yes points:5` INTERACTION_CREATE events (one "
            "guild member each) dispatched back to back over the stand-in's gateway websocket "
            "to the real `DiscordAdapter` (discord.py) on a fresh SQLite file; each timed from "
            "dispatch to the interaction callback arriving at the stand-in's REST API. Bets "
            "are deferred at once; the result rows time dispatch to the edit that replaces "
            '"thinking…" with the bet\'s result (for information, no target).'
        ),
    )
    p50 = Series("p50 dispatch → callback (ms)", "ms")
    p99 = Series("p99 dispatch → callback (ms)", "ms")
    r50 = Series("p50 dispatch → result (ms)", "ms")
    r99 = Series("p99 dispatch → result (ms)", "ms")
    for r in range(bench.runs):
        delays, results = await run_once(bench)
        p50.values.append(pct(delays, 0.5) * 1000)
        p99.values.append(pct(delays, 0.99) * 1000)
        r50.values.append(pct(results, 0.5) * 1000)
        r99.values.append(pct(results, 0.99) * 1000)
        bench.log(
            f"  run {r + 1}: callback p50 {p50.values[-1]:.1f} ms, p99 {p99.values[-1]:.1f} ms;"
            f" result p50 {r50.values[-1]:.1f} ms, p99 {r99.values[-1]:.1f} ms"
        )
    figure.series += [p50, p99, r50, r99]
    figure.verdicts.append(
        f"median p99 {p99.median:.1f} ms (≤ 50 ms) — {'met' if p99.median <= 50 else 'MISSED'}"
    )
    return figure
