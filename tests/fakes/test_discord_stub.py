"""The Discord stand-in, exercised through REAL discord.py code (Client + CommandTree)."""

from __future__ import annotations

import asyncio
import io
import json
import zlib
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import discord
import discord.gateway
import discord.http
import pytest
from discord import app_commands

from tests.fakes.discord_stub import (
    APP_ID,
    BOT_ID,
    CHANNEL_ID,
    DEFERRED_CHANNEL_MESSAGE,
    EPHEMERAL,
    GUILD_ID,
    MANAGE_GUILD,
    MANAGER_USER_ID,
    MEMBER_USER_ID,
    MODAL,
    UPDATE_MESSAGE,
    ZLIB_SUFFIX,
    DiscordStub,
)

MARKETS = ["Rain tomorrow?", "Rocket launch on time?", "Rent goes up?", "Snow in May?"]


class ProposeModal(discord.ui.Modal):
    question: discord.ui.TextInput[ProposeModal] = discord.ui.TextInput(
        label="Question", custom_id="question"
    )
    details: discord.ui.TextInput[ProposeModal] = discord.ui.TextInput(
        label="Details", custom_id="details", style=discord.TextStyle.paragraph, required=False
    )

    def __init__(self, log: list[Any]) -> None:
        super().__init__(title="Propose a market", custom_id="propose_modal")
        self.log = log

    async def on_submit(self, interaction: discord.Interaction) -> None:
        self.log.append(("submit", self.question.value, self.details.value, interaction.user.id))
        await interaction.response.send_message(f"Proposed: {self.question.value}")


class BetView(discord.ui.View):
    def __init__(self, log: list[Any]) -> None:
        super().__init__(timeout=None)
        self.log = log

    @discord.ui.button(label="Yes", style=discord.ButtonStyle.green, custom_id="bet:yes")
    async def yes(
        self, interaction: discord.Interaction, button: discord.ui.Button[BetView]
    ) -> None:
        self.log.append(("click", button.custom_id, interaction.user.id, interaction.message.id))  # type: ignore[union-attr]
        await interaction.response.edit_message(content="You bet YES", view=self)


class StubBot(discord.Client):
    def __init__(self) -> None:
        super().__init__(intents=discord.Intents.default(), guild_ready_timeout=0.05)
        self.tree = app_commands.CommandTree(self)
        self.log: list[Any] = []
        self.tree.add_command(self._build_group(), guild=discord.Object(GUILD_ID))

    def _build_group(self) -> app_commands.Group:
        group = app_commands.Group(name="predict", description="Prediction markets")
        log = self.log

        @group.command(name="create", description="Create a market")
        @app_commands.describe(question="What to predict", days="Days open")
        async def create(
            interaction: discord.Interaction,
            question: str,
            days: app_commands.Range[int, 1, 30] = 7,
        ) -> None:
            perms = interaction.permissions
            log.append(("create", question, days, perms.manage_guild))
            await interaction.response.send_message(
                f"Created: {question} ({days}d)", ephemeral=True
            )

        async def market_autocomplete(
            interaction: discord.Interaction, current: str
        ) -> list[app_commands.Choice[str]]:
            return [
                app_commands.Choice(name=m, value=str(i))
                for i, m in enumerate(MARKETS)
                if m.lower().startswith(current.lower())
            ]

        @group.command(name="bet", description="Bet on a market")
        @app_commands.autocomplete(market=market_autocomplete)
        async def bet(interaction: discord.Interaction, market: str, amount: int) -> None:
            log.append(("bet", market, amount))
            await interaction.response.send_message("ok")

        @group.command(name="slow", description="Deferred answer")
        async def slow(interaction: discord.Interaction) -> None:
            await interaction.response.defer(thinking=True)
            await asyncio.sleep(0.05)
            msg = await interaction.followup.send("followup done", wait=True)
            log.append(("followup", msg.id))
            await interaction.edit_original_response(content="original edited")
            original = await interaction.original_response()
            log.append(("original", original.content))

        @group.command(name="propose", description="Open the proposal form")
        async def propose(interaction: discord.Interaction) -> None:
            await interaction.response.send_modal(ProposeModal(log))

        return group


@pytest.fixture
async def stub() -> AsyncIterator[DiscordStub]:
    s = DiscordStub()
    s.add_default_guild()
    await s.start()
    old_base, old_gateway = (
        discord.http.Route.BASE,
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY,
    )
    try:
        with s.patch_discord():
            yield s
    finally:
        await s.stop()
    assert old_base == discord.http.Route.BASE
    assert old_gateway == discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY
    s.assert_accepted()


@pytest.fixture
async def bot(stub: DiscordStub) -> AsyncIterator[StubBot]:
    client = StubBot()
    await client.login("fake-token")
    task = asyncio.create_task(client.connect(reconnect=False))
    try:
        await asyncio.wait_for(client.wait_until_ready(), 5)
        await stub.wait_ready()
        yield client
    finally:
        await client.close()
        await asyncio.wait_for(task, 5)
    await asyncio.sleep(0)
    pending = [t for t in asyncio.all_tasks() if t is not asyncio.current_task() and not t.done()]
    assert pending == [], pending
    assert stub.unhandled == []
    assert stub.errors == []


async def test_login_and_ready_uses_stub(stub: DiscordStub, bot: StubBot) -> None:
    assert bot.user is not None and bot.user.id == BOT_ID
    assert bot.application_id == APP_ID
    guild = bot.get_guild(GUILD_ID)
    assert guild is not None and guild.name == "Test Guild"
    assert guild.get_channel(CHANNEL_ID) is not None
    assert guild.me is not None
    assert stub.identify_count == 1
    assert stub.gateway_queries[0].get("compress") == "zlib-stream"
    paths = [(r.method, r.path) for r in stub.requests]
    assert ("GET", "/users/@me") in paths
    assert ("GET", "/oauth2/applications/@me") in paths


async def test_sync_records_commands(stub: DiscordStub, bot: StubBot) -> None:
    synced = await bot.tree.sync(guild=discord.Object(GUILD_ID))
    assert [c.name for c in synced] == ["predict"]
    assert synced[0].id > 0
    (cmd,) = stub.commands[GUILD_ID]
    subs = {o["name"]: o for o in cmd["options"]}
    assert set(subs) == {"create", "bet", "slow", "propose"}
    create_opts = {o["name"]: o for o in subs["create"]["options"]}
    assert create_opts["question"]["type"] == 3 and create_opts["question"]["required"]
    assert create_opts["days"]["type"] == 4 and create_opts["days"]["min_value"] == 1
    assert {o["name"]: o for o in subs["bet"]["options"]}["market"]["autocomplete"] is True
    assert stub.command_syncs[0][0] == GUILD_ID


async def test_slash_command_ephemeral_response(stub: DiscordStub, bot: StubBot) -> None:
    await bot.tree.sync(guild=discord.Object(GUILD_ID))
    payload = stub.slash_command(
        "predict create", {"question": "Will it rain?", "days": 3}, user_id=MANAGER_USER_ID
    )
    rec = await stub.send_interaction(payload)
    response = await rec.wait_response(timeout=3)
    assert response["type"] == 4
    assert response["data"]["content"] == "Created: Will it rain? (3d)"
    assert response["data"]["flags"] & EPHEMERAL
    assert rec.ephemeral
    assert rec.response_delay is not None and rec.response_delay < 3
    assert bot.log == [("create", "Will it rain?", 3, True)]
    # A plain member has no Manage Server.
    rec2 = await stub.send_interaction(
        stub.slash_command("predict create", {"question": "x"}, user_id=MEMBER_USER_ID)
    )
    await rec2.wait_response()
    assert bot.log[-1] == ("create", "x", 7, False)
    assert rec.original_message_id is not None


async def test_deferred_response_followup_and_edit(stub: DiscordStub, bot: StubBot) -> None:
    await bot.tree.sync(guild=discord.Object(GUILD_ID))
    rec = await stub.send_interaction(stub.slash_command("predict slow"))
    response = await rec.wait_response()
    assert response["type"] == DEFERRED_CHANNEL_MESSAGE
    followups = await rec.wait_followups(1)
    assert followups[0]["content"] == "followup done"
    await rec.wait_edits(1)
    await stub.wait_until(lambda: any(e[0] == "original" for e in bot.log))
    assert rec.edits[0]["content"] == "original edited"
    assert ("followup", int(followups[0]["id"])) in bot.log
    assert ("original", "original edited") in bot.log
    original = stub.get_message(rec.original_message_id or 0)
    assert original is not None and original["content"] == "original edited"
    assert not original["flags"] & 128  # loading flag cleared by the edit
    assert len(stub.message_history[int(original["id"])]) == 1


async def test_channel_send_embed_view_edit_and_button(stub: DiscordStub, bot: StubBot) -> None:
    channel = bot.get_channel(CHANNEL_ID)
    assert isinstance(channel, discord.TextChannel)
    embed = discord.Embed(title="Will it rain?", description="Market #1")
    view = BetView(bot.log)
    message = await channel.send("New market", embed=embed, view=view)
    stored = stub.messages[CHANNEL_ID][-1]
    assert int(stored["id"]) == message.id
    assert stored["embeds"][0]["title"] == "Will it rain?"
    button = stored["components"][0]["components"][0]
    assert button["custom_id"] == "bet:yes"
    assert stored["author"]["id"] == str(BOT_ID)

    await message.edit(content="Market (edited)")
    assert stub.get_message(message.id)["content"] == "Market (edited)"  # type: ignore[index]
    assert stub.edits[-1].payload["content"] == "Market (edited)"
    fetched = await channel.fetch_message(message.id)
    assert fetched.content == "Market (edited)"

    rec = await stub.send_interaction(stub.button_click(message.id, "bet:yes"))
    response = await rec.wait_response()
    assert response["type"] == UPDATE_MESSAGE
    assert bot.log[-1] == ("click", "bet:yes", MEMBER_USER_ID, message.id)
    assert stub.get_message(message.id)["content"] == "You bet YES"  # type: ignore[index]

    with_file = await channel.send(
        "chart", file=discord.File(io.BytesIO(b"png-bytes"), "chart.png")
    )
    (attachment,) = stub.get_message(with_file.id)["attachments"]  # type: ignore[index]
    assert attachment["filename"] == "chart.png" and attachment["size"] == 9
    assert with_file.attachments[0].filename == "chart.png"

    await message.delete()
    assert stub.get_message(message.id) is None
    view.stop()


async def test_modal_open_and_submit(stub: DiscordStub, bot: StubBot) -> None:
    await bot.tree.sync(guild=discord.Object(GUILD_ID))
    rec = await stub.send_interaction(stub.slash_command("predict propose"))
    await rec.wait_response()
    assert rec.response_type == MODAL
    assert rec.modal["custom_id"] == "propose_modal"
    assert rec.modal["title"] == "Propose a market"
    submit = stub.modal_submit(
        "propose_modal", {"question": "Will BTC hit 100k?", "details": "by June"}
    )
    rec2 = await stub.send_interaction(submit)
    response = await rec2.wait_response()
    assert response["data"]["content"] == "Proposed: Will BTC hit 100k?"
    assert ("submit", "Will BTC hit 100k?", "by June", MEMBER_USER_ID) in bot.log


async def test_autocomplete(stub: DiscordStub, bot: StubBot) -> None:
    await bot.tree.sync(guild=discord.Object(GUILD_ID))
    rec = await stub.send_interaction(
        stub.autocomplete("predict bet", {"market": "r", "amount": 5}, focused="market")
    )
    response = await rec.wait_response()
    assert response["type"] == 8
    assert [c["name"] for c in rec.choices] == [
        "Rain tomorrow?",
        "Rocket launch on time?",
        "Rent goes up?",
    ]
    rec2 = await stub.send_interaction(
        stub.slash_command("predict bet", {"market": "0", "amount": 5})
    )
    await rec2.wait_response()
    assert ("bet", "0", 5) in bot.log


async def test_rate_limited_send_is_retried(stub: DiscordStub, bot: StubBot) -> None:
    channel = bot.get_channel(CHANNEL_ID)
    assert isinstance(channel, discord.TextChannel)
    stub.fail_next("POST", rf"^/channels/{CHANNEL_ID}/messages$", 429, retry_after=0.05)
    message = await channel.send("after rate limit")
    posts = stub.requests_to("POST", rf"^/channels/{CHANNEL_ID}/messages$")
    assert [r.status for r in posts] == [429, 200]
    assert posts[0].forced
    assert stub.get_message(message.id)["content"] == "after rate limit"  # type: ignore[index]


async def test_server_error_surfaces_without_retry_for_4xx(stub: DiscordStub, bot: StubBot) -> None:
    channel = bot.get_channel(CHANNEL_ID)
    assert isinstance(channel, discord.TextChannel)
    stub.fail_next("POST", r"/messages$", 403, body={"message": "Missing Access", "code": 50001})
    with pytest.raises(discord.Forbidden):
        await channel.send("nope")


async def test_late_interaction_response_is_rejected(stub: DiscordStub, bot: StubBot) -> None:
    await bot.tree.sync(guild=discord.Object(GUILD_ID))
    errors: list[BaseException] = []

    async def on_error(interaction: discord.Interaction, error: Exception) -> None:
        errors.append(error)

    bot.tree.on_error = on_error  # type: ignore[method-assign]
    stub.interaction_timeout = 0.0  # every answer is "too late", like after Discord's 3 s
    rec = await stub.send_interaction(stub.slash_command("predict create", {"question": "q"}))
    await stub.wait_until(lambda: rec.late_callbacks == 1)
    await stub.wait_until(lambda: errors)
    assert rec.response is None
    assert isinstance(errors[0].__cause__ or errors[0], discord.NotFound)


async def test_reconnect_resumes_session(stub: DiscordStub, bot: StubBot) -> None:
    await bot.tree.sync(guild=discord.Object(GUILD_ID))
    resumed = asyncio.ensure_future(bot.wait_for("resumed", timeout=5))
    await stub.send_reconnect()
    await resumed
    assert stub.resume_count == 1
    assert stub.identify_count == 1
    rec = await stub.send_interaction(stub.slash_command("predict create", {"question": "again"}))
    await rec.wait_response()


async def test_raw_protocol_details(stub: DiscordStub) -> None:
    async with aiohttp.ClientSession() as session:
        async with session.get(
            f"{stub.api_base}/users/@me", headers={"Authorization": "Bot t"}
        ) as r:
            assert r.status == 200
            assert r.headers["Content-Type"] == "application/json"
        async with session.get(f"{stub.api_base}/nope", headers={"Authorization": "Bot t"}) as r:
            assert r.status == 404
            assert await r.json() == {"message": "404: Not Found", "code": 0}
        async with session.get(f"{stub.api_base}/users/@me") as r:
            assert r.status == 401
        async with session.ws_connect(
            f"{stub.gateway_url}?v=10&encoding=json&compress=zlib-stream"
        ) as ws:
            inflater = zlib.decompressobj()
            hello = await ws.receive_bytes()
            assert hello.endswith(ZLIB_SUFFIX)
            assert json.loads(inflater.decompress(hello))["op"] == 10
            await ws.send_json({"op": 1, "d": None})
            ack = json.loads(inflater.decompress(await ws.receive_bytes()))
            assert ack == {"op": 11, "d": None}
            await ws.send_json({"op": 6, "d": {"token": "t", "session_id": "nope", "seq": 3}})
            invalid = json.loads(inflater.decompress(await ws.receive_bytes()))
            assert invalid == {"op": 9, "d": False}
            await ws.send_json({"op": 2, "d": {"token": "t", "properties": {}, "intents": 1}})
            ready = json.loads(inflater.decompress(await ws.receive_bytes()))
            assert ready["t"] == "READY" and ready["s"] == 1
            guild_create = json.loads(inflater.decompress(await ws.receive_bytes()))
            assert guild_create["t"] == "GUILD_CREATE" and guild_create["s"] == 2
            roles = {r["name"]: int(r["permissions"]) for r in guild_create["d"]["roles"]}
            assert roles["Market Manager"] & MANAGE_GUILD
            assert all("flags" in m for m in guild_create["d"]["members"])
        async with session.ws_connect(f"{stub.gateway_url}?v=10&encoding=json") as ws:
            hello_text = await ws.receive_str()
            assert json.loads(hello_text)["op"] == 10
    assert [u[1] for u in stub.unhandled] == ["/nope"]
