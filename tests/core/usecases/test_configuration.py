"""Show and change a community's settings (moderators), and who counts as one. On every
store."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.core import grammar
from bot.core.commands import (
    ClaimDaily,
    ClaimModerator,
    CloseMarket,
    Configure,
    CreateMarket,
    ResolveMarket,
)
from bot.core.errors import InvalidInput, NotAllowed
from bot.core.models import Actor, Context
from bot.core.service import Service
from bot.core.views import (
    ConfigShown,
    DailyClaimed,
    MarketClosed,
    MarketCreated,
    MarketResolved,
    ModeratorClaimed,
)
from tests.flow import MOD, create, expect, run
from tests.helpers import ctx
from tests.world import World

M = 1_000_000
Q = "Will it rain in Paris tomorrow?"


async def test_config_shows_and_changes_every_key(service: Service, world: World) -> None:
    shown = expect(await run(service, Configure(), MOD), ConfigShown)
    assert dict(shown.settings) == {
        "starting_balance": "1,000",
        "daily_allowance": "50",
        "default_liquidity": "100",
        "house_liquidity": "100 (follows default_liquidity)",
        "moderator_liquidity": "1,000",
        "timezone": "UTC",
        "moderator_roles": "(none)",
        "moderators": "(none)",
        "announce_channel": "(where each market was created)",
        "create_policy": "anyone",
        "min_duration": "1 minute",
        "date_order": "dmy",
    }
    assert shown.changed == ()
    changes = (
        ("starting_balance", "2,000"),
        ("daily_allowance", "25"),
        ("default_liquidity", "300"),
        ("moderator_liquidity", "500"),
        ("timezone", "Europe/Berlin"),
        ("moderator_roles", "<@&123>, admins"),
        ("moderators", "@cy dy"),
        ("announce_channel", "<#C42>"),
        ("create_policy", "Moderators"),
        ("min_duration", "1h"),
        ("date_order", "MDY"),
    )
    changed = expect(await run(service, Configure(changes), MOD), ConfigShown)
    assert changed.changed == tuple(k for k, _ in changes)
    assert dict(changed.settings) == {
        "starting_balance": "2,000",
        "daily_allowance": "25",
        "default_liquidity": "300",
        "house_liquidity": "300 (follows default_liquidity)",
        "moderator_liquidity": "500",
        "timezone": "Europe/Berlin",
        "moderator_roles": "123, admins",
        "moderators": "cy, dy",
        "announce_channel": "C42",
        "create_policy": "moderators",
        "min_duration": "1 hour",
        "date_order": "mdy",
    }
    # The settings are stored, and they take effect.
    assert expect(await run(service, Configure(), "cy"), ConfigShown).settings == changed.settings
    created = expect(await run(service, CreateMarket(Q, "in 2 hours"), "cy"), MarketCreated)
    assert created.card.liquidity == 300 * M
    assert (await world.ledger_check())["cy"] == 2000 * M
    assert await world.select("outbox", "channel") == [("C42",)]
    daily = expect(await run(service, ClaimDaily(), "new"), DailyClaimed)
    assert daily.balance == 2025 * M
    await run(service, Configure((("announce_channel", "none"), ("moderators", "none"))), MOD)
    with pytest.raises(NotAllowed):
        await run(service, Configure(), "cy")


async def test_moderators_by_setting_and_role(service: Service) -> None:
    number = await create(service)
    await run(service, Configure((("moderators", "<@cy>, @di"), ("moderator_roles", "refs"))), MOD)
    closed = expect(await run(service, CloseMarket(number), "cy"), MarketClosed)
    assert "cy" in closed.resolvers and "di" in closed.resolvers
    ref = Context("console", "test", Actor("ed", "Ed", roles=("refs",)), "rid-ed")
    assert isinstance(await service.execute(ResolveMarket(number, "yes"), ref), MarketResolved)


# -- min_duration --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("0", "0 seconds"),
        ("90", "90 seconds"),
        ("90s", "90 seconds"),
        ("2m", "2 minutes"),
        ("3h", "3 hours"),
        ("1d", "1 day"),
    ],
)
async def test_min_duration_values(service: Service, value: str, shown: str) -> None:
    result = await service.execute(
        grammar.parse(f"config min_duration:{value}"), ctx("mo", moderator=True)
    )
    assert isinstance(result, ConfigShown)
    assert ("min_duration", shown) in result.settings


async def test_min_duration_refuses_nonsense(service: Service) -> None:
    with pytest.raises(InvalidInput, match="not a duration"):
        await service.execute(grammar.parse("config min_duration:soon"), ctx("mo", moderator=True))


async def test_numeric_dates_are_read_in_the_communitys_date_order(service: Service) -> None:
    def closes(result: object) -> datetime:
        return expect(result, MarketCreated).card.closes_at

    # dmy by default: 05/06/2027 is the 5th of June, through the end of that day.
    assert closes(await run(service, CreateMarket(Q, "05/06/2027"), MOD)) == datetime(
        2027, 6, 5, 23, 59, 59, tzinfo=UTC
    )
    await run(service, Configure((("date_order", "mdy"), ("timezone", "Europe/Berlin"))), MOD)
    assert closes(await run(service, CreateMarket(Q, "05/06/2027 17:00"), MOD)) == datetime(
        2027, 5, 6, 15, 0, tzinfo=UTC
    )
    # A date that is only real one way round has only that reading, whatever the order.
    assert closes(await run(service, CreateMarket(Q, "13/06/2027"), MOD)) == datetime(
        2027, 6, 13, 21, 59, 59, tzinfo=UTC
    )
    await run(service, Configure((("date_order", "ymd"),)), MOD)
    with pytest.raises(InvalidInput) as ambiguous:
        await run(service, CreateMarket(Q, "05/06/2027"), MOD)
    assert ambiguous.value.message == (
        "`05/06/2027` could be 5 Jun 2027 or 6 May 2027: write it year first, like 2027-06-05."
    )
    assert closes(await run(service, CreateMarket(Q, "2027/05/06"), MOD)) == datetime(
        2027, 5, 6, 21, 59, 59, tzinfo=UTC
    )
    with pytest.raises(InvalidInput) as bad:
        await run(service, Configure((("date_order", "european"),)), MOD)
    assert bad.value.message.startswith("date_order must be `dmy` (05/06/2027 is 5 June)")


async def test_a_refused_deadline_is_shown_in_the_communitys_time(service: Service) -> None:
    await run(service, Configure((("timezone", "Asia/Tokyo"),)), MOD)
    with pytest.raises(InvalidInput) as past:
        await run(service, CreateMarket(Q, "01/03/2026"), MOD)
    assert past.value.message == (
        "The deadline Sun 1 Mar 2026 23:59 Asia/Tokyo is in the past. Pick a time in the future."
    )


async def test_the_first_moderator_is_claimed_only_on_a_fresh_community(
    service: Service, world: World
) -> None:
    first = expect(await run(service, ClaimModerator(), "dora"), ModeratorClaimed)
    assert (first.granted, first.moderator) == (True, True)
    assert expect(await run(service, Configure(), "dora"), ConfigShown)  # she moderates now
    again = expect(await run(service, ClaimModerator(), "dora"), ModeratorClaimed)
    assert (again.granted, again.moderator) == (False, True)
    other = expect(await run(service, ClaimModerator(), "eve"), ModeratorClaimed)
    assert (other.granted, other.moderator) == (False, False)
    # A community with markets is not fresh, even with no moderators configured.
    markets = ctx("eve", community="busy")
    await service.execute(CreateMarket(Q, "in 2 days"), markets)
    busy = await service.execute(ClaimModerator(), ctx("eve", community="busy"))
    assert busy == ModeratorClaimed("eve", granted=False, moderator=False)
    with pytest.raises(NotAllowed):
        await service.execute(Configure(), ctx("eve", community="busy"))
