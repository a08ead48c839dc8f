"""Create a market: its question, outcomes, deadline and options, and who funds its subsidy
(DESIGN.md §3). On every store."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.core import lmsr
from bot.core.commands import (
    CancelMarket,
    Configure,
    CreateMarket,
    ResolveMarket,
    ShowBalance,
    UnresolveMarket,
)
from bot.core.errors import InsufficientFunds
from bot.core.service import Service
from bot.core.text import render
from bot.core.views import ConfigShown, MarketCreated
from tests.flow import MOD, bet, expect, run
from tests.world import World

M = 1_000_000
Q = "Will it rain in Paris tomorrow?"


async def test_create_with_defaults(service: Service, world: World) -> None:
    created = expect(await run(service, CreateMarket(Q, "2026-03-10"), "al"), MarketCreated)
    card = created.card
    assert card.number == 1
    assert card.question == Q
    assert [o.name for o in card.outcomes] == ["Yes", "No"]
    assert [o.probability for o in card.outcomes] == [0.5, 0.5]
    assert card.mechanism == "lmsr"
    assert card.liquidity == 100 * M
    assert card.closes_at == datetime(2026, 3, 10, 23, 59, 59, tzinfo=UTC)
    assert card.status == "open"
    assert card.creator_user == "al"
    assert card.channel == "chan"
    assert card.criteria is None
    assert card.volume == card.traders == 0
    assert await world.escrow(1) == lmsr.subsidy(100 * M, 2)
    assert await world.select("outbox", "kind", "channel") == [("created", "chan")]
    await world.ledger_check()


async def test_create_with_options(service: Service, world: World) -> None:
    await run(service, Configure((("timezone", "Europe/Berlin"),)), MOD)
    created = expect(
        await run(
            service,
            CreateMarket(
                "  Who   wins the   cup?  ",
                "2026-03-10",
                outcomes=("Red", " Blue  team ", "Green"),
                criteria="  As reported by the league.  ",
                liquidity=250,
            ),
            "al",
        ),
        MarketCreated,
    )
    card = created.card
    assert card.question == "Who wins the cup?"
    assert [o.name for o in card.outcomes] == ["Red", "Blue team", "Green"]
    assert card.criteria == "As reported by the league."
    assert card.liquidity == 250 * M
    # An ISO date is the end of that day in the community's timezone (UTC+1 in March).
    assert card.closes_at == datetime(2026, 3, 10, 22, 59, 59, tzinfo=UTC)
    assert await world.escrow(1) == lmsr.subsidy(250 * M, 3)
    pool_card = expect(
        await run(service, CreateMarket(Q, "in 3 days", mechanism="POOL"), "bo"), MarketCreated
    ).card
    assert pool_card.number == 2
    assert pool_card.mechanism == "pool"
    assert pool_card.closes_at == datetime(2026, 3, 5, 12, 0, tzinfo=UTC)
    assert await world.escrow(2) == 0  # a pool has no market maker to subsidise
    await world.ledger_check()


async def test_default_liquidity_and_min_duration_settings(service: Service) -> None:
    await run(service, Configure((("default_liquidity", "40"), ("min_duration", "2h"))), MOD)
    card = expect(await run(service, CreateMarket(Q, "in 3 hours"), "al"), MarketCreated).card
    assert card.liquidity == 40 * M
    with pytest.raises(Exception, match="at least 2 hours"):
        await run(service, CreateMarket(Q, "in 90 minutes"), "al")


# -- who funds the subsidy, and who gets back what it did not lose -------------------------


async def _create(service: Service, user: str, **options: object) -> MarketCreated:
    command = CreateMarket("Will the subsidy come back?", "2026-03-10", **options)  # type: ignore[arg-type]
    return expect(await run(service, command, user), MarketCreated)


async def _meet(service: Service, *users: str) -> None:
    for user in users:
        await run(service, ShowBalance(), user)


async def test_the_house_funds_the_default_liquidity_and_the_creator_the_rest(
    service: Service, world: World
) -> None:
    await _meet(service, MOD, "al")
    house_before = await world.house()
    created = await _create(service, "al", liquidity=250, outcomes=("A", "B", "C"))
    house_part = lmsr.subsidy(100 * M, 3)
    funded = lmsr.subsidy(250 * M, 3) - house_part
    assert created.funded == funded
    assert "You funded 165 points of its subsidy" in render(created)
    assert await world.balance("al") == 1000 * M - funded
    assert await world.house() == house_before - house_part
    assert await world.escrow(created.card.number) == house_part + funded
    stored = await world.select("market", "creator_subsidy")
    assert stored == [(funded,)]
    await world.ledger_check()


async def test_a_cancel_returns_every_funder_its_part(service: Service, world: World) -> None:
    await _meet(service, MOD, "al", "bo")
    house_before = await world.house()
    number = (await _create(service, "al", liquidity=500)).card.number
    await bet(service, "bo", number, "yes", 200)
    await run(service, CancelMarket(number), MOD)
    assert await world.balance("al") == await world.balance("bo") == 1000 * M
    assert await world.house() == house_before
    await world.ledger_check()


async def test_an_untraded_market_returns_the_whole_subsidy(service: Service, world: World) -> None:
    await _meet(service, MOD, "al")
    house_before = await world.house()
    number = (await _create(service, "al", liquidity=400)).card.number
    await run(service, ResolveMarket(number, "no"), "al")
    assert await world.balance("al") == 1000 * M
    assert await world.house() == house_before
    returned = await world.select("ledger_entry", "amount", kind="return")
    assert returned == [(lmsr.subsidy(400 * M, 2) - lmsr.subsidy(100 * M, 2),)]
    await world.ledger_check()


async def test_what_the_market_maker_lost_is_shared_pro_rata_and_unresolve_undoes_it(
    service: Service, world: World
) -> None:
    await _meet(service, MOD, "al", "bo")
    house_before = await world.house()
    number = (await _create(service, "al", liquidity=400)).card.number
    placed = await bet(service, "bo", number, "yes", 300)
    total = lmsr.subsidy(400 * M, 2)
    funded = total - lmsr.subsidy(100 * M, 2)
    left = total + 300 * M - placed.shares  # the escrow after bo's payout
    await run(service, ResolveMarket(number, "yes"), "al")
    share = left * funded // total
    assert await world.balance("al") == 1000 * M - funded + share
    assert await world.balance("bo") == 700 * M + placed.shares
    assert house_before - await world.house() <= total - funded  # the house's part, at most
    await world.ledger_check()
    await run(service, UnresolveMarket(number), MOD)
    assert await world.balance("al") == 1000 * M - funded
    assert await world.balance("bo") == 700 * M
    assert await world.escrow(number) == total + 300 * M
    await world.ledger_check()


async def test_moderators_get_house_funding_up_to_moderator_liquidity(
    service: Service, world: World
) -> None:
    await _meet(service, MOD)
    assert (await _create(service, MOD, liquidity=1000)).funded == 0
    over = await _create(service, MOD, liquidity=1500)
    assert over.funded == lmsr.subsidy(1500 * M, 2) - lmsr.subsidy(1000 * M, 2)
    await world.ledger_check()


@pytest.mark.parametrize(
    ("changes", "shown"),
    [
        ((("house_liquidity", "0"),), ("house_liquidity", "0")),
        ((("house_liquidity", "default"),), ("house_liquidity", "100 (follows default_liquidity)")),
        ((("moderator_liquidity", "5,000"),), ("moderator_liquidity", "5,000")),
    ],
)
async def test_configuring_who_funds_what(
    service: Service, changes: tuple[tuple[str, str], ...], shown: tuple[str, str]
) -> None:
    result = expect(await run(service, Configure(changes), MOD), ConfigShown)
    assert shown in result.settings


async def test_with_no_house_funding_the_creator_pays_it_all(
    service: Service, world: World
) -> None:
    await run(service, Configure((("house_liquidity", "0"), ("moderator_liquidity", "0"))), MOD)
    created = await _create(service, "al")
    assert created.funded == lmsr.subsidy(100 * M, 2)
    assert await world.balance("al") == 1000 * M - created.funded
    pool = await _create(service, "al", mechanism="pool")
    assert pool.funded == 0  # a pool has no market maker to fund
    await world.ledger_check()


async def test_a_subsidy_the_creator_cannot_fund_is_refused_and_changes_nothing(
    service: Service, world: World
) -> None:
    await _meet(service, MOD, "al")
    before = await world.snapshot()
    with pytest.raises(InsufficientFunds, match="you would fund the other 1,317"):
        await _create(service, "al", liquidity=2000)
    assert await world.snapshot() == before
