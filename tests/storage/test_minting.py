"""Three ways ordinary, permitted commands used to create points — each must now be closed.

The rules they pin (DESIGN.md §3, docs/rules.md): voiding reverses a user's voided trades as one
unit; unresolve reverses payouts exactly, into debt if need be; an LMSR subsidy beyond what the
house covers is funded by the creator.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.core import lmsr
from bot.core.commands import (
    ClaimDaily,
    CreateMarket,
    PlaceBet,
    ResolveMarket,
    SellShares,
    ShowBalance,
    UnresolveMarket,
)
from bot.core.errors import InsufficientFunds
from bot.core.service import Service
from bot.core.text import render
from bot.core.views import BalanceShown, MarketResolved, MarketUnresolved, SharesSold
from tests.helpers import FakeClock, ledger_check
from tests.storage.flow import MOD, balance, bet, escrow, expect, house, run

M = 1_000_000


async def _create(service: Service, user: str, question: str, **options: object) -> int:
    result = await run(service, CreateMarket(question, "2030-01-01", **options), user)  # type: ignore[arg-type]
    return result.card.number  # type: ignore[union-attr]


async def test_known_at_voiding_of_a_spent_sale_mints_nothing(
    service: Service, engine: AsyncEngine, clock: FakeClock
) -> None:
    """eve sells, parks the proceeds elsewhere, then the market is voided from before she bet."""
    first = await _create(service, MOD, "Will the void exploit mint points?")
    second = await _create(service, MOD, "Where does eve park her points?")
    clock.advance(minutes=1)
    await run(service, ShowBalance(), "eve")
    house_before = await house(engine)
    await bet(service, "eve", first, "yes", 500)
    sold = expect(await run(service, SellShares(first, "yes", None), "eve"), SharesSold)
    assert sold.balance // M == 999  # the round trip costs her a rounding micro-point
    await bet(service, "eve", second, "yes", 999)
    assert await balance(engine, "eve") < 1 * M
    resolved = expect(
        await run(service, ResolveMarket(first, "no", known="2000-01-01"), MOD), MarketResolved
    )
    assert resolved.voided_trades == 2
    # Had eve never traded on #1 she would hold 1000 − 999 points: exactly that, not 500.
    assert await balance(engine, "eve") == 1 * M
    # #1 had no standing positions, so its whole subsidy came back to the house.
    subsidy = lmsr.subsidy(100 * M, 2)
    assert await house(engine) == house_before + subsidy
    undone = expect(await run(service, UnresolveMarket(first), MOD), MarketUnresolved)
    assert undone.card.status == "closed"
    assert await escrow(engine, first) == subsidy  # not −429.69
    assert await balance(engine, "eve") == 1 * M
    await ledger_check(engine)


async def test_unresolve_takes_back_a_spent_payout_into_debt(
    service: Service, engine: AsyncEngine
) -> None:
    """bob wins 569, spends it; unresolve takes back all 569, and re-resolving pays once."""
    first = await _create(service, MOD, "Will bob's payout be taken back?")
    second = await _create(service, MOD, "Where does bob spend his winnings?")
    await bet(service, "bob", first, "yes", 500)
    won = expect(await run(service, ResolveMarket(first, "yes"), MOD), MarketResolved)
    assert round(won.total_paid / M) == 569
    await bet(service, "bob", second, "no", 1000)
    assert round(await balance(engine, "bob") / M) == 69
    undone = expect(await run(service, UnresolveMarket(first), MOD), MarketUnresolved)
    assert undone.total_reversed == won.total_paid  # all of it, not the 69 that were left
    assert await balance(engine, "bob") == -500 * M  # 1000 − 500 − 1000
    assert [(d.user_id, d.amount) for d in undone.debts] == [("bob", -500 * M)]
    assert "Bob is now 500 points in debt" in render(undone)
    # In debt, bob cannot bet; his balance says so; the daily allowance pays the debt down.
    refused = None
    try:
        await run(service, PlaceBet(second, "no", 1), "bob")
    except InsufficientFunds as error:
        refused = error.message
    assert refused is not None and "500 points in debt" in refused
    shown = expect(await run(service, ShowBalance(), "bob"), BalanceShown)
    assert shown.balance == -500 * M
    assert "500 points in debt" in render(shown)
    await run(service, ClaimDaily(), "bob")
    assert await balance(engine, "bob") == -450 * M
    again = expect(await run(service, ResolveMarket(first, "yes"), MOD), MarketResolved)
    assert again.total_paid == won.total_paid
    # One payout in total: 1000 − 500 − 1000 + 50 + 569.x.
    assert await balance(engine, "bob") == -450 * M + won.total_paid
    await ledger_check(engine)


async def test_two_users_cannot_farm_the_house_with_a_huge_subsidy(
    service: Service, engine: AsyncEngine
) -> None:
    """A creator without a stake resolves to what a friend bought: the house pays at most
    the subsidy it funded (the default liquidity's), the creator funds the rest."""
    outcomes = tuple(f"Outcome {i}" for i in range(10))
    await run(service, ShowBalance(), MOD)  # the community exists from the first contact on
    house_before = await house(engine)
    try:
        await _create(
            service, "al", "Which outcome will al pick?", outcomes=outcomes, liquidity=100_000
        )
    except InsufficientFunds as error:
        assert "230,029" in error.message  # what al would have to fund himself
    else:
        raise AssertionError("al created a market whose subsidy he cannot fund")
    # A market al can fund: liquidity 300, the house covers b = 100 of it.
    total = lmsr.subsidy(300 * M, 10)
    house_part = lmsr.subsidy(100 * M, 10)
    number = await _create(
        service, "al", "Which outcome will al pick?", outcomes=outcomes, liquidity=300
    )
    assert await balance(engine, "al") == 1000 * M - (total - house_part)
    assert await house(engine) == house_before - house_part - 1000 * M  # al's starting grant
    await bet(service, "bo", number, "Outcome 3", 1000)
    await run(service, ResolveMarket(number, "Outcome 3"), "al")  # al holds no position
    pair = await balance(engine, "al") + await balance(engine, "bo")
    house_loss = house_before - 2000 * M - await house(engine)
    assert house_loss <= house_part
    assert pair - 2000 * M == house_loss  # what the pair gained is exactly what the house lost
    await ledger_check(engine)
