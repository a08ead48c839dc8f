"""Slash commands end to end: sync, autocomplete, replies, refusals and moderators."""

from __future__ import annotations

from datetime import UTC, datetime

import discord
import discord.gateway
import discord.http
import pytest
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.adapters.discord import DiscordAdapter
from bot.core.errors import StartupError
from bot.core.service import Service
from tests.adapters.discord.conftest import (
    FORECAST_ROLE_ID,
    ROLE_USER_ID,
    Harness,
    content,
    settings_for,
    start_adapter,
)
from tests.fakes.discord_stub import (
    AUTOCOMPLETE_RESULT,
    GUILD_ID,
    MANAGER_USER_ID,
    MEMBER_USER_ID,
    DiscordStub,
)
from tests.helpers import snapshot

EXPECTED = {
    "market": {
        "create": ["question", "closes", "outcomes", "criteria", "mechanism", "liquidity"],
        "list": ["status", "page"],
        "show": ["market"],
        "close": ["market"],
        "extend": ["market", "closes"],
        "resolve": ["market", "outcome", "evidence", "known"],
        "unresolve": ["market"],
        "overdue": ["page"],
        "cancel": ["market"],
    },
    "bet": ["market", "outcome", "points"],
    "sell": ["market", "outcome", "shares"],
    "balance": ["user"],
    "portfolio": ["page"],
    "leaderboard": [],
    "daily": [],
    "predict-config": [
        "starting_balance",
        "daily_allowance",
        "default_liquidity",
        "house_liquidity",
        "moderator_liquidity",
        "timezone",
        "moderator_roles",
        "moderators",
        "announce_channel",
        "create_policy",
        "min_duration",
        "date_order",
    ],
}
STRING, INTEGER, SUB_COMMAND, USER = 3, 4, 1, 6


async def test_commands_sync_to_the_dev_guild_with_exact_names_and_options(
    harness: Harness,
) -> None:
    stub = harness.stub
    assert None not in stub.commands  # dev guilds set: nothing global
    synced = {c["name"]: c for c in stub.commands[GUILD_ID]}
    assert set(synced) == set(EXPECTED)
    for name, command in synced.items():
        assert command["description"] and command["description"] != "…", name
        if name == "market":
            subs = {o["name"]: o for o in command["options"]}
            assert {n: [o["name"] for o in s["options"]] for n, s in subs.items()} == EXPECTED[
                "market"
            ]
            assert all(s["type"] == SUB_COMMAND and s["description"] for s in subs.values())
            continue
        assert [o["name"] for o in command["options"]] == EXPECTED[name], name

    market = {o["name"]: o for o in synced["market"]["options"]}
    create = {o["name"]: o for o in market["create"]["options"]}
    assert create["question"]["required"] and create["closes"]["required"]
    assert not create["outcomes"].get("required")
    assert [c["value"] for c in create["mechanism"]["choices"]] == ["lmsr", "pool"]
    assert create["liquidity"]["type"] == INTEGER
    resolve = {o["name"]: o for o in market["resolve"]["options"]}
    assert resolve["market"]["type"] == INTEGER and resolve["market"]["autocomplete"]
    assert resolve["outcome"]["type"] == STRING and resolve["outcome"]["autocomplete"]
    bet = {o["name"]: o for o in synced["bet"]["options"]}
    assert bet["market"]["type"] == INTEGER and bet["market"]["autocomplete"]
    assert bet["outcome"]["autocomplete"] and bet["points"]["type"] == INTEGER
    sell = {o["name"]: o for o in synced["sell"]["options"]}
    assert sell["shares"]["type"] == STRING
    assert {o["name"]: o for o in synced["balance"]["options"]}["user"]["type"] == USER
    for paged in (market["list"], market["overdue"], synced["portfolio"]):
        page = {o["name"]: o for o in paged["options"]}["page"]
        assert page["type"] == INTEGER and page["min_value"] == 1 and not page.get("required")
    assert synced["bet"]["description"] == "Stake points on an outcome of a market."
    config = {o["name"]: o for o in synced["predict-config"]["options"]}
    assert [c["value"] for c in config["date_order"]["choices"]] == ["dmy", "mdy", "ymd"]
    # The adapter pointed discord.py at the stand-in for its lifetime only.
    assert stub.api_base == discord.http.Route.BASE


async def test_commands_sync_globally_without_dev_guilds(
    stub: DiscordStub, service: Service
) -> None:
    original = discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY
    adapter = await start_adapter(stub, service, guild_ids="")
    try:
        assert {c["name"] for c in stub.commands[None]} == set(EXPECTED)
        assert GUILD_ID not in stub.commands
    finally:
        await adapter.stop()
    assert original == (discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY)


async def test_autocomplete_offers_open_markets_and_their_outcomes(harness: Harness) -> None:
    stub = harness.stub
    await harness.create_market("Will it rain in Paris on 1 May?")
    await harness.create_market("Which team wins the cup final?", outcomes="Reds, Blues, Draw")
    await harness.slash("market close", {"market": 1}, user=MANAGER_USER_ID)

    async def choices(
        path: str, options: dict[str, object], focused: str
    ) -> list[dict[str, object]]:
        rec = await stub.send_interaction(stub.autocomplete(path, options, focused=focused))
        await rec.wait_response()
        assert rec.response_type == AUTOCOMPLETE_RESULT
        return rec.choices

    assert [c["value"] for c in await choices("bet", {"market": ""}, "market")] == [2]
    await harness.create_market("Will the rocket launch on time?")
    by_text = await choices("bet", {"market": "rocket"}, "market")
    assert by_text == [{"name": "#3 · Will the rocket launch on time?", "value": 3}]
    by_number = await choices("market show", {"market": "2"}, "market")
    assert [c["value"] for c in by_number] == [2]
    assert [c["value"] for c in await choices("bet", {"market": "#"}, "market")] == [3, 2]

    outcomes = await choices("bet", {"market": 2, "outcome": ""}, "outcome")
    assert [c["value"] for c in outcomes] == ["Reds", "Blues", "Draw"]
    assert outcomes[0]["name"] == "Reds · 33%"
    assert [
        c["value"] for c in await choices("sell", {"market": 2, "outcome": "bl"}, "outcome")
    ] == ["Blues"]
    resolve = await choices("market resolve", {"market": 2, "outcome": ""}, "outcome")
    assert [c["value"] for c in resolve] == ["Reds", "Blues", "Draw", "na"]
    assert await choices("bet", {"market": 99, "outcome": ""}, "outcome") == []


async def test_bad_input_is_answered_privately_and_changes_nothing(
    harness: Harness, engine: AsyncEngine
) -> None:
    await harness.create_market()
    before = await snapshot(engine)
    cases: list[tuple[str, dict[str, object], str]] = [
        ("bet", {"market": 1, "outcome": "yes", "points": 0}, "points"),
        ("bet", {"market": 1, "outcome": "maybe", "points": 10}, "no outcome `maybe`"),
        ("bet", {"market": 7, "outcome": "yes", "points": 10}, "no market #7"),
        ("bet", {"market": 1, "outcome": "yes", "points": 5000}, "You have 1,000 points"),
        ("sell", {"market": 1, "outcome": "yes", "shares": "lots"}, "not a number of shares"),
        ("sell", {"market": 1, "outcome": "yes", "shares": "all"}, "hold no shares"),
        ("market create", {"question": "Short?", "closes": "2026-03-10"}, "too short"),
        ("market create", {"question": "Will it snow in May?", "closes": "2020-01-01"}, "past"),
        ("market show", {"market": 42}, "no market #42"),
        ("market list", {"status": "nonsense"}, "Unknown status"),
        ("balance", {"user": ROLE_USER_ID}, "no points yet"),
    ]
    for path, options, expected in cases:
        rec = await harness.slash(path, options)
        assert rec.ephemeral, (path, rec.response)
        assert expected in content(rec), (path, content(rec))
    assert await snapshot(engine) == before
    assert "Something went wrong" not in "".join(content(r) for r in harness.stub.interactions)


async def test_personal_answers_are_private_and_listings_public(harness: Harness) -> None:
    await harness.create_market()
    daily = await harness.slash("daily")
    assert daily.ephemeral and "+50 points" in content(daily)
    again = await harness.slash("daily")
    assert again.ephemeral and "already claimed" in content(again)
    balance = await harness.slash("balance")
    assert balance.ephemeral and "You have 1,050 points" in content(balance)
    bet = await harness.slash("bet", {"market": 1, "outcome": "Yes", "points": 100})
    assert bet.ephemeral
    assert "Bought 148.99 shares of Yes in #1 for 100 points" in content(bet)
    assert "50% → 82%" in content(bet)
    other = await harness.slash("balance", {"user": MEMBER_USER_ID}, user=MANAGER_USER_ID)
    assert other.ephemeral and "alice has 950 points" in content(other)
    portfolio = await harness.slash("portfolio")
    assert portfolio.ephemeral and "#1 Yes: 148.99 shares" in content(portfolio)
    sell = await harness.slash("sell", {"market": 1, "outcome": "yes", "shares": "48.99"})
    assert sell.ephemeral and "Sold 48.99 shares of Yes" in content(sell)

    listing = await harness.slash("market list")
    assert not listing.ephemeral
    (embed,) = listing.response_data["embeds"]
    assert embed["title"] == "Open markets" and "**#1** Will it rain" in embed["description"]
    shown = await harness.slash("market show", {"market": 1})
    assert not shown.ephemeral
    assert shown.response_data["embeds"][0]["title"].startswith("#1 · Will it rain")
    buttons = shown.response_data["components"][0]["components"]
    assert [b["custom_id"] for b in buttons] == ["predictbot:bet:1:1", "predictbot:bet:1:2"]
    board = await harness.slash("leaderboard")
    assert not board.ephemeral and "Leaderboard" in content(board)


async def test_moderators_by_manage_server_or_configured_role(
    harness: Harness, engine: AsyncEngine
) -> None:
    refused = await harness.slash("predict-config", {"timezone": "Europe/Berlin"})
    assert refused.ephemeral and "Only moderators" in content(refused)
    shown = await harness.slash("predict-config", user=MANAGER_USER_ID)
    assert shown.ephemeral and "timezone: UTC" in content(shown)

    await harness.create_market()
    before = await snapshot(engine)
    by_role_holder = await harness.slash(
        "market resolve", {"market": 1, "outcome": "yes"}, user=ROLE_USER_ID
    )
    assert by_role_holder.ephemeral and "Only a moderator" in content(by_role_holder)
    assert await snapshot(engine) == before

    changed = await harness.slash(
        "predict-config", {"moderator_roles": f"<@&{FORECAST_ROLE_ID}>"}, user=MANAGER_USER_ID
    )
    assert f"moderator_roles: {FORECAST_ROLE_ID}" in content(changed)
    resolved = await harness.slash(
        "market resolve", {"market": 1, "outcome": "yes"}, user=ROLE_USER_ID
    )
    assert resolved.ephemeral and "Market #1 resolved: Yes." in content(resolved)


async def test_a_server_the_bot_is_not_in_does_not_stop_the_others(
    stub: DiscordStub, service: Service
) -> None:
    stub.fail_next("PUT", r"/guilds/999/commands$", 403)
    adapter = await start_adapter(stub, service, guild_ids=f"999, {GUILD_ID}")
    try:
        assert {c["name"] for c in stub.commands[GUILD_ID]} == set(EXPECTED)
    finally:
        await adapter.stop()


async def test_a_wrong_token_fails_start_cleanly(stub: DiscordStub, service: Service) -> None:
    original = discord.http.Route.BASE
    adapter = DiscordAdapter(
        service, settings_for(stub).model_copy(update={"discord_token": SecretStr("nope")})
    )
    with pytest.raises(StartupError, match=r"Discord rejected DISCORD_TOKEN \(401") as info:
        await adapter.start()
    assert isinstance(info.value.__cause__, discord.LoginFailure)
    assert adapter.client is None and original == discord.http.Route.BASE


def stamp(*moment: int) -> str:
    return f"<t:{int(datetime(*moment, tzinfo=UTC).timestamp())}:F>"  # type: ignore[misc]


async def test_deadlines_are_read_the_way_the_server_writes_dates(
    harness: Harness, engine: AsyncEngine
) -> None:
    # The server's date order (dmy by default) reads 05/06/2027 as the 5th of June.
    card = await harness.create_market(closes="05/06/2027")
    assert stamp(2027, 6, 5, 23, 59, 59) in str(card["embeds"]), card
    changed = await harness.slash("predict-config", {"date_order": "mdy"}, user=MANAGER_USER_ID)
    assert changed.ephemeral and "date_order: mdy" in content(changed)
    card = await harness.create_market("Will it snow in Oslo on 6 May?", closes="05/06/2027")
    assert stamp(2027, 5, 6, 23, 59, 59) in str(card["embeds"]), card
    # An option is one value: a deadline of several words needs no quotes here.
    card = await harness.create_market("Will it hail in Rome by New Year?", closes="Dec 31")
    assert stamp(2026, 12, 31, 23, 59, 59) in str(card["embeds"]), card

    await harness.slash("predict-config", {"date_order": "ymd"}, user=MANAGER_USER_ID)
    before = await snapshot(engine)
    refused = await harness.slash(
        "market create", {"question": "Will it rain in Lima?", "closes": "05/06/2027"}
    )
    assert refused.ephemeral
    assert content(refused) == (
        "`05/06/2027` could be 5 Jun 2027 or 6 May 2027: write it year first, like 2027-06-05."
    )
    extended = await harness.slash(
        "market extend", {"market": 1, "closes": "31/02/2027"}, user=MANAGER_USER_ID
    )
    assert extended.ephemeral and "`31/02/2027` is not a real date." in content(extended)
    assert await snapshot(engine) == before
