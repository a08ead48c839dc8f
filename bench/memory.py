"""Figure 6: peak RSS of a real `predictbot run` serving both stand-ins, many open markets.

`python -m bot run` runs as a subprocess with DISCORD_* and SLACK_* settings pointing at the
Discord and Slack stand-ins served from this process, on an SQLite file pre-seeded with open
markets (the scheduler rebuilds one deadline job per open market at start-up). After start-up
(Discord READY and the Slack port answering) it gets traffic: Slack `/predict bet` commands and
Discord `/bet` interactions, half and half. Then VmHWM (peak resident set) is read from
/proc/PID/status, and VmRSS for reference.
"""

from __future__ import annotations

import asyncio
import os
import socket
import sys
import time
from pathlib import Path

import aiohttp

from bench.common import Bench, Figure, Series, database
from bench.scheduler import seed
from tests.fakes.discord_stub import CHANNEL_ID, GUILD_ID, DiscordStub, make_member
from tests.fakes.slack_stub import SlackWebStub, signed_headers, slash_command_body

KEY = "memory"
D_TOKEN = "bench-token"
S_TOKEN = "xoxb-bench-token"
SECRET = "bench-signing-secret"
ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def status_kb(pid: int) -> dict[str, int]:
    out: dict[str, int] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmHWM", "VmRSS"):
            out[key] = int(value.split()[0])
    return out


async def run_once(bench: Bench, log_path: Path) -> tuple[float, float, float]:
    """Return (VmHWM MB after start-up, VmHWM MB after traffic, VmRSS MB after traffic)."""
    sizes = bench.sizes
    async with database("sqlite", bench.tmp) as db:
        # The seeded markets live in the Slack workspace; the Discord guild gets its own.
        await seed(db, sizes.open_markets, "slack", "T0STUB")
        discord = DiscordStub(token=D_TOKEN)
        discord.add_default_guild()
        users = [700_000 + n for n in range(sizes.memory_requests)]
        for user in users:
            discord.add_member(GUILD_ID, make_member(user, f"user{user}"))
        await discord.start()
        async with SlackWebStub(token=S_TOKEN) as slack:
            slack_users = [f"U{n:07d}" for n in range(sizes.memory_requests)]
            for user in slack_users:
                slack.add_user(user, user.lower())
            port = free_port()
            env = {
                **os.environ,
                "DATABASE_URL": db,
                "DISCORD_TOKEN": D_TOKEN,
                "DISCORD_GUILD_IDS": str(GUILD_ID),
                "DISCORD_API_BASE": discord.api_base,
                "DISCORD_GATEWAY_URL": discord.gateway_url,
                "SLACK_BOT_TOKEN": S_TOKEN,
                "SLACK_SIGNING_SECRET": SECRET,
                "SLACK_PORT": str(port),
                "SLACK_API_URL": slack.base_url,
                "LOG_LEVEL": "WARNING",
                "PYTHONPATH": str(ROOT),
            }
            env.pop("SLACK_APP_TOKEN", None)
            with log_path.open("wb") as log:
                proc = await asyncio.create_subprocess_exec(
                    sys.executable,
                    "-m",
                    "bot",
                    "run",
                    cwd=bench.tmp,
                    env=env,
                    stdout=log,
                    stderr=log,
                )
                try:
                    return await drive(proc, discord, slack, port, users, slack_users)
                finally:
                    if proc.returncode is None:
                        proc.terminate()
                        try:
                            await asyncio.wait_for(proc.wait(), 15)
                        except TimeoutError:
                            proc.kill()
                            await proc.wait()
                    await discord.stop()


async def drive(
    proc: asyncio.subprocess.Process,
    discord: DiscordStub,
    slack: SlackWebStub,
    port: int,
    users: list[int],
    slack_users: list[str],
) -> tuple[float, float, float]:
    url = f"http://127.0.0.1:{port}/slack/events"
    deadline = time.monotonic() + 60
    async with aiohttp.ClientSession() as http:
        await discord.wait_ready(timeout=60)
        while True:  # the Slack server starts after the Discord adapter
            if proc.returncode is not None:
                raise RuntimeError(f"predictbot run exited with {proc.returncode}")
            try:
                async with http.get(f"http://127.0.0.1:{port}/") as resp:
                    await resp.read()
                break
            except aiohttp.ClientError:
                if time.monotonic() > deadline:
                    raise RuntimeError("predictbot run did not serve Slack within 60 s") from None
                await asyncio.sleep(0.1)
        await asyncio.sleep(1.0)  # let start-up work (job rebuild, first sweep) settle
        started = status_kb(proc.pid or 0)["VmHWM"] / 1024
        # Traffic: a market in the Discord guild, then bets on it and on a Slack market.
        create = discord.slash_command(
            "market create",
            {"question": "Will the bench finish on time?", "closes": "in 3 days"},
            user_id=users[0],
            channel_id=CHANNEL_ID,
        )
        rec = await discord.send_interaction(create)
        await rec.wait_response(timeout=30)
        records = []
        for user in users:
            payload = discord.slash_command(
                "bet",
                {"market": 1, "outcome": "Yes", "points": 5},
                user_id=user,
                channel_id=CHANNEL_ID,
            )
            records.append(await discord.send_interaction(payload))

        async def slack_bet(n: int, user: str) -> None:
            body = slash_command_body(
                text=f"bet {1 + n % 50} Yes 5",
                user_id=user,
                user_name=user.lower(),
                trigger_id=f"m.{n}",
                response_url=slack.response_url_for(f"m{n}"),
            )
            async with http.post(url, data=body, headers=signed_headers(body, SECRET)) as resp:
                await resp.read()

        await asyncio.gather(*(slack_bet(n, u) for n, u in enumerate(slack_users)))
        await asyncio.gather(*(r.wait_response(timeout=60) for r in records))
        end = time.monotonic() + 60
        while len(slack.responses) < len(slack_users) and time.monotonic() < end:  # noqa: ASYNC110
            await asyncio.sleep(0.05)
        await asyncio.sleep(1.0)
        status = status_kb(proc.pid or 0)
    return started, status["VmHWM"] / 1024, status["VmRSS"] / 1024


async def run(bench: Bench) -> Figure:
    sizes = bench.sizes
    figure = Figure(
        number=6,
        key=KEY,
        title="Memory: peak RSS of `predictbot run`",
        target="peak RSS (VmHWM) ≤ 150 MB",
        method=(
            f"`python -m bot run` as a subprocess serving the Discord and Slack stand-ins "
            f"(DISCORD_* / SLACK_* settings), SQLite file pre-seeded with "
            f"{sizes.open_markets:,} open markets; after start-up, {sizes.memory_requests} "
            f"Discord `/bet` interactions and {sizes.memory_requests} Slack `/predict bet` "
            "commands. VmHWM / VmRSS read from /proc/PID/status."
        ),
    )
    up = Series("peak RSS after start-up (MB)", "MB")
    peak = Series("peak RSS after traffic (MB)", "MB")
    rss = Series("RSS after traffic (MB)", "MB")
    for r in range(bench.runs):
        log = bench.tmp / f"memory-run-{r}.log"
        try:
            a, b, c = await run_once(bench, log)
        except Exception:
            sys.stderr.write(log.read_text(errors="replace")[-4000:] if log.exists() else "")
            raise
        up.values.append(a)
        peak.values.append(b)
        rss.values.append(c)
        bench.log(f"  run {r + 1}: start-up {a:.0f} MB, peak {b:.0f} MB, rss {c:.0f} MB")
    figure.series += [up, peak, rss]
    figure.verdicts.append(
        f"median peak {peak.median:.0f} MB (≤ 150 MB) — {'met' if peak.median <= 150 else 'MISSED'}"
    )
    return figure
