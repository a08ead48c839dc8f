"""Who funds an LMSR market's subsidy, and who gets back what it did not lose (DESIGN.md §3)."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

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
from tests.helpers import ledger_check, snapshot
from tests.storage.flow import MOD, balance, bet, escrow, expect, house, rows, run

M = 1_000_000


async def _create(service: Service, user: str, **options: object) -> MarketCreated:
    command = CreateMarket("Will the subsidy come back?", "2026-03-10", **options)  # type: ignore[arg-type]
    return expect(await run(service, command, user), MarketCreated)


async def _meet(service: Service, *users: str) -> None:
    for user in users:
        await run(service, ShowBalance(), user)


async def test_the_house_funds_the_default_liquidity_and_the_creator_the_rest(
    service: Service, engine: AsyncEngine
) -> None:
    await _meet(service, MOD, "al")
    house_before = await house(engine)
    created = await _create(service, "al", liquidity=250, outcomes=("A", "B", "C"))
    house_part = lmsr.subsidy(100 * M, 3)
    funded = lmsr.subsidy(250 * M, 3) - house_part
    assert created.funded == funded
    assert "You funded 165 points of its subsidy" in render(created)
    assert await balance(engine, "al") == 1000 * M - funded
    assert await house(engine) == house_before - house_part
    assert await escrow(engine, created.card.number) == house_part + funded
    stored = await rows(engine, "SELECT creator_subsidy FROM market")
    assert stored == [(funded,)]
    await ledger_check(engine)


async def test_a_cancel_returns_every_funder_its_part(
    service: Service, engine: AsyncEngine
) -> None:
    await _meet(service, MOD, "al", "bo")
    house_before = await house(engine)
    number = (await _create(service, "al", liquidity=500)).card.number
    await bet(service, "bo", number, "yes", 200)
    await run(service, CancelMarket(number), MOD)
    assert await balance(engine, "al") == await balance(engine, "bo") == 1000 * M
    assert await house(engine) == house_before
    await ledger_check(engine)


async def test_an_untraded_market_returns_the_whole_subsidy(
    service: Service, engine: AsyncEngine
) -> None:
    await _meet(service, MOD, "al")
    house_before = await house(engine)
    number = (await _create(service, "al", liquidity=400)).card.number
    await run(service, ResolveMarket(number, "no"), "al")
    assert await balance(engine, "al") == 1000 * M
    assert await house(engine) == house_before
    returned = await rows(engine, "SELECT amount FROM ledger_entry WHERE kind = 'return'")
    assert returned == [(lmsr.subsidy(400 * M, 2) - lmsr.subsidy(100 * M, 2),)]
    await ledger_check(engine)


async def test_what_the_market_maker_lost_is_shared_pro_rata_and_unresolve_undoes_it(
    service: Service, engine: AsyncEngine
) -> None:
    await _meet(service, MOD, "al", "bo")
    house_before = await house(engine)
    number = (await _create(service, "al", liquidity=400)).card.number
    placed = await bet(service, "bo", number, "yes", 300)
    total = lmsr.subsidy(400 * M, 2)
    funded = total - lmsr.subsidy(100 * M, 2)
    left = total + 300 * M - placed.shares  # the escrow after bo's payout
    await run(service, ResolveMarket(number, "yes"), "al")
    share = left * funded // total
    assert await balance(engine, "al") == 1000 * M - funded + share
    assert await balance(engine, "bo") == 700 * M + placed.shares
    assert house_before - await house(engine) <= total - funded  # the house's part, at most
    await ledger_check(engine)
    await run(service, UnresolveMarket(number), MOD)
    assert await balance(engine, "al") == 1000 * M - funded
    assert await balance(engine, "bo") == 700 * M
    assert await escrow(engine, number) == total + 300 * M
    await ledger_check(engine)


async def test_moderators_get_house_funding_up_to_moderator_liquidity(
    service: Service, engine: AsyncEngine
) -> None:
    await _meet(service, MOD)
    assert (await _create(service, MOD, liquidity=1000)).funded == 0
    over = await _create(service, MOD, liquidity=1500)
    assert over.funded == lmsr.subsidy(1500 * M, 2) - lmsr.subsidy(1000 * M, 2)
    await ledger_check(engine)


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
    service: Service, engine: AsyncEngine
) -> None:
    await run(service, Configure((("house_liquidity", "0"), ("moderator_liquidity", "0"))), MOD)
    created = await _create(service, "al")
    assert created.funded == lmsr.subsidy(100 * M, 2)
    assert await balance(engine, "al") == 1000 * M - created.funded
    pool = await _create(service, "al", mechanism="pool")
    assert pool.funded == 0  # a pool has no market maker to fund
    await ledger_check(engine)


async def test_a_subsidy_the_creator_cannot_fund_is_refused_and_changes_nothing(
    service: Service, engine: AsyncEngine
) -> None:
    await _meet(service, MOD, "al")
    before = await snapshot(engine)
    with pytest.raises(InsufficientFunds, match="you would fund the other 1,317"):
        await _create(service, "al", liquidity=2000)
    assert await snapshot(engine) == before
