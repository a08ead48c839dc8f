"""Input that storage can't hold is refused up front, specifically, and changes nothing.

Each test pins one cause of the tracebacks a fuzz run of console lines found: over-long
settings, market numbers beyond a 32-bit integer, NUL and other control characters, timezones
that are not usable zones, dates at the edge of the calendar, Unicode and huge digit strings.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.core.commands import (
    CancelMarket,
    CloseMarket,
    Command,
    Configure,
    CreateMarket,
    ExtendMarket,
    PlaceBet,
    ResolveMarket,
    SellShares,
    ShowBalance,
    ShowMarket,
    UnresolveMarket,
)
from bot.core.errors import InvalidInput, NotFound, PredictError
from bot.core.grammar import parse
from bot.core.models import Actor, Context
from bot.core.service import Service
from bot.core.views import BalanceShown, ConfigShown, MarketCreated
from tests.flow import MOD, bet, create, expect, run
from tests.helpers import ctx, ledger_check, snapshot

Q = "Will it rain in Paris tomorrow?"
HUGE = "9" * 5000


async def refused(
    service: Service,
    engine: AsyncEngine,
    request: str | Command,
    *words: str,
    user: str = "bo",
    error: type[PredictError] = PredictError,
    context: Context | None = None,
) -> str:
    """Run a console line (or a command) and assert it is refused, naming `words`, and that
    the database is exactly as before; return the refusal's message."""
    before = await snapshot(engine)
    with pytest.raises(error) as caught:
        command = parse(request) if isinstance(request, str) else request
        await service.execute(command, context or ctx(user, moderator=user == MOD))
    message = caught.value.message
    missing = [w for w in words if w.casefold() not in message.casefold()]
    assert not missing, f"{request!r}: {message!r} lacks {missing}"
    assert await snapshot(engine) == before, f"{request!r} changed the database"
    return message


async def test_over_long_settings_are_refused_so_announcing_keeps_working(
    service: Service, engine: AsyncEngine
) -> None:
    await create(service)
    await refused(
        service, engine, "config announce_channel:" + "c" * 65, "announce_channel", "64", user=MOD
    )
    await refused(service, engine, "config announce_channel:<#" + "c" * 65 + ">", "64", user=MOD)
    await refused(service, engine, "config moderators:" + "u" * 65, "moderators", "64", user=MOD)
    await refused(service, engine, "config moderator_roles:" + "r" * 65, "64", user=MOD)
    await refused(service, engine, "config timezone:" + "A" * 300, "timezone", user=MOD)
    await refused(service, engine, "config announce_channel:", "needs a value", user=MOD)
    # The longest channel storage holds is fine, and markets still announce there.
    shown = await run(service, Configure((("announce_channel", "c" * 64),)), MOD)
    assert ("announce_channel", "c" * 64) in expect(shown, ConfigShown).settings
    assert await create(service) == 2
    async with engine.connect() as conn:
        channels = (await conn.execute(text("SELECT channel FROM outbox ORDER BY id"))).all()
    assert channels[-1] == ("c" * 64,)


async def test_ids_storage_cannot_hold_are_refused_and_display_names_cleaned(
    service: Service, engine: AsyncEngine
) -> None:
    await create(service)

    def as_user(user: str, **changes: str) -> Context:
        return replace(ctx("bo"), actor=Actor(user, user), **changes)

    for user in ("x" * 65, "a\x00b", "a\udcffb", "tab\tname", ""):
        await refused(service, engine, "balance", "user name", context=as_user(user))
        await refused(service, engine, "bet 1 yes 10", "user name", context=as_user(user))
    await refused(
        service, engine, "bet 1 yes 10", "request id", context=as_user("bo", request_id="r" * 101)
    )
    await refused(
        service, engine, "bet 1 yes 10", "channel", context=as_user("bo", channel="c" * 65)
    )
    # The longest user id storage holds works.
    await bet(service, "u" * 64, 1, "yes", 10)

    # A display name comes from the platform: control characters are dropped, not refused.
    base = ctx("zed")
    named = Context(base.platform, base.community, Actor("zed", "Ze\x00d\udcff\x07 " + "z" * 200))
    shown = expect(await service.execute(ShowBalance(), named), BalanceShown)
    assert shown.display_name == "Zed " + "z" * 96
    await ledger_check(engine)


async def test_market_numbers_beyond_storage_are_simply_no_market(
    service: Service, engine: AsyncEngine
) -> None:
    await create(service)
    for number in (2**31, 2**31 + 5, 2**63, 2**64, 10**30):
        commands: list[Command] = [
            ShowMarket(number),
            PlaceBet(number, "yes", 10),
            SellShares(number, "yes", None),
            CloseMarket(number),
            ExtendMarket(number, "2026-05-01"),
            ResolveMarket(number, "yes"),
            CancelMarket(number),
            UnresolveMarket(number),
        ]
        for command in commands:
            await refused(
                service, engine, command, f"There is no market #{number}", user=MOD, error=NotFound
            )
        assert await service.card("console", "test", number) is None
    for number in (0, -1, -(2**63)):
        await refused(service, engine, ShowMarket(number), "no market", error=NotFound)
        assert await service.card("console", "test", number) is None
    # The largest number storage holds is an ordinary missing market.
    await refused(service, engine, f"show {2**31 - 1}", f"no market #{2**31 - 1}", error=NotFound)
    # Typed, a number beyond that is no market number at all.
    await refused(service, engine, "show 2147483648", "`2147483648` is not a market number")
    await refused(service, engine, "bet 2147483648 yes 10", "not a market number")
    await refused(service, engine, "show " + HUGE, "not a market number")
    await refused(service, engine, "resolve " + HUGE + " yes", "not a market number", user=MOD)


@pytest.mark.parametrize(
    ("line", "what"),
    [
        ('create "Will it rain\x00 in Paris tomorrow?" closes:2026-03-10', "question"),
        (f'create "{Q}" closes:2026-03-10 criteria:"Rain\x00 gauge"', "criteria"),
        (f'create "{Q}" closes:2026-03-10 outcomes:"Ye\x00s, No"', "outcome"),
        (f'create "{Q}" closes:"2026-03-10\x00"', "deadline"),
        ('create "Will it rain\udcff in Paris tomorrow?" closes:2026-03-10', "question"),
        ("resolve 1 yes evidence:https://example.com/\x00", "evidence"),
        ("resolve 1 ye\x00s", "outcome"),
        ("resolve 1 yes known:2026-03-01\x00", "known"),
        ("bet 1 ye\x00s 10", "outcome"),
        ("sell 1 ye\x1bs all", "outcome"),
        ("extend 1 closes:2026-04-01\x00", "deadline"),
        ("balance @b\x00o", "user"),
        ("config announce_channel:ch\x00an", "announce_channel"),
        ("config moderators:bo,\x00x", "moderators"),
    ],
)
async def test_control_characters_in_typed_text_are_refused(
    service: Service, engine: AsyncEngine, line: str, what: str
) -> None:
    await create(service, user=MOD)
    await bet(service, "bo", 1, "yes", 10)
    message = await refused(service, engine, line, what, user=MOD, error=InvalidInput)
    assert "\x00" not in message and "\udcff" not in message


@pytest.mark.parametrize(
    "zone",
    [
        "America",  # a directory of zones
        "A" * 300,
        "Factory",  # zoneinfo reads it, dateparser does not
        "posixrules",
        "posix/Europe/Berlin",
        "right/UTC",
        "localtime",
        "../../../etc/passwd",
        "Europe/Berlin/",
        "",
    ],
)
async def test_only_usable_timezones_are_accepted(
    service: Service, engine: AsyncEngine, zone: str
) -> None:
    await create(service)
    await refused(
        service,
        engine,
        Configure((("timezone", zone),)),
        "not a timezone",
        "Europe/Berlin",
        user=MOD,
    )


async def test_timezones_are_iana_names_in_any_case(service: Service, engine: AsyncEngine) -> None:
    shown = await run(service, Configure((("timezone", "europe/berlin"),)), MOD)
    assert ("timezone", "Europe/Berlin") in expect(shown, ConfigShown).settings
    created = await run(service, CreateMarket(Q, "next friday"), MOD)
    # Friday 2026-03-06, end of the day in Berlin (UTC+1).
    card = expect(created, MarketCreated).card
    assert card.closes_at == datetime(2026, 3, 6, 22, 59, 59, tzinfo=UTC)


@pytest.mark.parametrize(
    ("zone", "line"),
    [
        ("America/New_York", f'create "{Q}" closes:9999-12-31'),
        ("UTC", f'create "{Q}" closes:9999-12-31T23:00-05:00'),
        ("UTC", f'create "{Q}" closes:0001-01-01T00:00+05:00'),
        ("Asia/Kolkata", f'create "{Q}" closes:0001-01-01'),
        ("UTC", "extend 1 closes:9999-12-31T23:00-05:00"),
        ("America/New_York", "extend 1 closes:9999-12-31"),
        ("UTC", "resolve 1 yes known:0001-01-01T00:00+05:00"),
        ("America/New_York", "resolve 1 yes known:9999-12-31"),
    ],
)
async def test_dates_at_the_edge_of_the_calendar_are_refused(
    service: Service, engine: AsyncEngine, zone: str, line: str
) -> None:
    await create(service, user=MOD)
    await run(service, Configure((("timezone", zone),)), MOD)
    await refused(service, engine, line, user=MOD, error=InvalidInput)


async def test_deadlines_more_than_a_century_away_are_refused(
    service: Service, engine: AsyncEngine
) -> None:
    await refused(service, engine, f'create "{Q}" closes:9999-12-30', "100 years", user=MOD)
    await create(service, closes="2125-12-31")


@pytest.mark.parametrize(
    ("line", "words"),
    [
        ("bet 1 ² 10", ("no outcome",)),
        ("bet 1 ١ 10", ("no outcome",)),
        ("sell 1 ³ all", ("no outcome",)),
        ("resolve 1 ²", ("no outcome",)),
        ("config starting_balance:¹⁰", ("starting_balance",)),
        ("config daily_allowance:١٠", ("daily_allowance",)),
        ("config min_duration:²h", ("duration",)),
        ("bet 1 yes " + HUGE, ("too large",)),
        ("bet 1 yes 1," + ",".join(["000"] * 2000), ("too large",)),
        ("sell 1 yes " + HUGE, ("too many",)),
        ("sell 1 yes 0." + HUGE, ("decimal places",)),
        ("bet 1 " + HUGE + " 10", ("no outcome",)),
        ("config starting_balance:" + HUGE, ("starting_balance",)),
        ("config default_liquidity:" + HUGE, ("default_liquidity",)),
        ("config min_duration:" + HUGE, ("30 days",)),
        ("config min_duration:" + HUGE + "d", ("30 days",)),
        (f'create "{Q}" closes:"in {HUGE} days"', ("100 years",)),
        (f'create "{Q}" closes:{HUGE}d', ("100 years",)),
        (f'create "{Q}" closes:2026-03-10 liquidity:{HUGE}', ("too large",)),
        (f"extend 1 closes:{HUGE}h", ("100 years",)),
    ],
)
async def test_unicode_digits_and_huge_numbers_are_refused(
    service: Service, engine: AsyncEngine, line: str, words: tuple[str, ...]
) -> None:
    await create(service, user=MOD)
    await bet(service, "bo", 1, "yes", 10)
    await refused(service, engine, line, *words, user=MOD)
