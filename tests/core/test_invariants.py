"""DESIGN.md §3 invariants checked through the service, on every store."""

from __future__ import annotations

import math
import random
from datetime import timedelta

import pytest

from bot.core import lmsr, pool
from bot.core.commands import (
    CancelMarket,
    ClaimDaily,
    CloseMarket,
    Configure,
    CreateMarket,
    PlaceBet,
    ResolveMarket,
    SellShares,
    ShowBalance,
    ShowMarket,
    UnresolveMarket,
)
from bot.core.errors import InsufficientFunds
from bot.core.service import Service
from bot.core.text import render
from bot.core.views import (
    BalanceShown,
    MarketCancelled,
    MarketResolved,
    MarketShown,
    MarketUnresolved,
    SharesSold,
)
from tests.flow import MOD, bet, create, expect, pts, run, sell
from tests.helpers import FakeClock
from tests.world import World

M = 1_000_000


async def _meet(service: Service, *users: str) -> None:
    """Give users their accounts (first contact) before a test measures balances."""
    for user in users:
        await run(service, ShowBalance(), user)


async def _balances(world: World) -> dict[str, int]:
    """All balances: users by id, plus the house."""
    found = await world.ledger_check()
    found["<house>"] = await world.house()
    return found


async def _probabilities(service: Service, number: int) -> list[float]:
    card = expect(await run(service, ShowMarket(number), "al"), MarketShown).card
    return [o.probability for o in card.outcomes]


# -- LMSR worked numbers -------------------------------------------------------------------


async def test_worked_numbers(service: Service, world: World) -> None:
    await _meet(service, "al", "bo")
    house_before = await world.house()
    number = await create(service)
    # C(0, 0) = b·ln 2 = 69.314718…: the house's subsidy, rounded up.
    assert house_before - await world.house() == 69_314_719
    assert await world.escrow(number) == 69_314_719

    placed = await bet(service, "bo", number, "yes", 100)
    assert placed.shares == 148_988_012
    assert placed.points == 100 * M
    assert placed.prob_before == pytest.approx(0.5)
    assert placed.prob_after == pytest.approx(0.816060, abs=1e-6)
    assert placed.balance == 900 * M

    # Sell down to 50 YES shares: q = (50, 0) shows 0.622459, as buying 50 from (0, 0) would.
    sold = await sell(service, "bo", number, "yes", 148_988_012 - 50 * M)
    assert sold.prob_after == pytest.approx(0.622459, abs=1e-6)
    # Proceeds are C(q) − C(50, 0), floored: 100 (spent) − 28.092980 (the cost of 50 shares).
    assert abs(sold.proceeds - (100 * M - 28_092_980)) <= 2
    assert sold.proceeds == lmsr.proceeds_of_sale([148_988_012, 0], 100 * M, 0, 98_988_012)
    assert await world.balance("bo") == 900 * M + sold.proceeds
    await world.ledger_check()


async def test_probabilities_in_open_interval_summing_to_one(service: Service) -> None:
    await run(service, Configure((("starting_balance", "1000000"),)), MOD)
    lmsr_market = await create(service, outcomes=("A", "B", "C", "D"), liquidity=10)
    pool_market = await create(service, outcomes=("A", "B", "C"), mechanism="pool")
    for number in (lmsr_market, pool_market):
        probs = await _probabilities(service, number)
        assert all(0 < p < 1 for p in probs)
        assert sum(probs) == pytest.approx(1, abs=1e-9)
    # An extreme position (q/b ≈ 45 000) must neither overflow nor reach 0 or 1.
    for user, outcome, amount in [("bo", "A", 450_000), ("cy", "B", 3), ("di", "D", 1)]:
        await bet(service, user, lmsr_market, outcome, amount)
        probs = await _probabilities(service, lmsr_market)
        assert all(0 < p < 1 for p in probs), probs
        assert sum(probs) == pytest.approx(1, abs=1e-9)
        # A pool shows stake / pot: an outcome nobody backed shows 0, never below.
        await bet(service, user, pool_market, "C" if outcome == "D" else outcome, amount)
        probs = await _probabilities(service, pool_market)
        assert all(0 <= p <= 1 for p in probs), probs
        assert sum(probs) == pytest.approx(1, abs=1e-9)


async def test_split_buy_costs_the_same_as_one_buy(service: Service, world: World) -> None:
    split, single = await create(service), await create(service)
    first = await bet(service, "bo", split, "yes", 40)
    second = await bet(service, "bo", split, "yes", 60)
    once = await bet(service, "cy", single, "yes", 100)
    total = first.shares + second.shares
    # Flooring twice can lose at most one micro-share against flooring once.
    assert 0 <= once.shares - total <= 1
    assert await world.balance("bo") == await world.balance("cy") == 900 * M
    assert await world.escrow(split) == await world.escrow(single)
    shown = expect(await run(service, ShowMarket(split), "bo"), MarketShown).card
    assert shown.outcomes[0].shares == total


# -- house loss ----------------------------------------------------------------------------


def _script(seed: int, outcomes: int) -> list[tuple[str, int, int | None]]:
    """A reproducible mix of bets (points) and sells (fraction of the holding, in %)."""
    rng = random.Random(seed)
    steps: list[tuple[str, int, int | None]] = []
    for _ in range(14):
        user = rng.choice(["bo", "cy", "di"])
        outcome = rng.randrange(outcomes)
        if rng.random() < 0.7:
            steps.append((user, outcome, rng.choice([1, 5, 40, 120, 300])))
        else:
            steps.append((user, outcome, None))
    return steps


async def _play(service: Service, number: int, steps: list[tuple[str, int, int | None]]) -> None:
    for user, outcome, amount in steps:
        if amount is not None:
            await run(service, PlaceBet(number, str(outcome + 1), amount), user)
            continue
        try:
            await sell(service, user, number, str(outcome + 1), None)
        except Exception as error:  # nothing to sell: a refusal, which changes nothing
            assert "hold no shares" in str(error)


@pytest.mark.parametrize("seed", [1, 2])
async def test_house_loss_is_bounded_for_every_outcome(
    service: Service, world: World, seed: int
) -> None:
    n, b = 3, 20
    await run(service, Configure((("starting_balance", "100000"),)), MOD)
    await _meet(service, "al", "bo", "cy", "di")
    bound = lmsr.subsidy(b * M, n)
    assert bound == math.ceil(b * math.log(n) * M)
    # The same trades on n markets, each resolved to a different outcome (and one cancelled).
    for resolution in [*range(n), None]:
        before = await world.house()
        number = await create(service, outcomes=("A", "B", "C"), liquidity=b)
        await _play(service, number, _script(seed, n))
        # Push hard towards the outcome we then resolve to: the worst case for the house.
        if resolution is not None:
            await run(service, PlaceBet(number, str(resolution + 1), 2000), "di")
        await run(service, CloseMarket(number), "al")
        outcome = "na" if resolution is None else str(resolution + 1)
        await run(service, ResolveMarket(number, outcome), MOD)
        loss = before - await world.house()
        assert loss <= bound, (resolution, loss, bound)
        if resolution is None:
            assert loss == 0  # a cancelled market costs the house nothing
        await world.ledger_check()


async def test_pool_market_costs_the_house_nothing(service: Service, world: World) -> None:
    await _meet(service, "al", "bo", "cy")
    before = await world.house()
    number = await create(service, mechanism="pool")
    await bet(service, "bo", number, "yes", 30)
    await bet(service, "cy", number, "no", 70)
    await run(service, ResolveMarket(number, "yes"), MOD)
    assert await world.house() == before
    assert await world.balance("bo") == 1070 * M
    await world.ledger_check()


# -- pool payouts --------------------------------------------------------------------------


async def test_pool_payouts_sum_to_the_pot_pro_rata(service: Service, world: World) -> None:
    number = await create(service, mechanism="pool", outcomes=("Red", "Blue", "Green"))
    stakes = [("bo", "Red", 7), ("cy", "Red", 5), ("di", "Blue", 11), ("ed", "Red", 3)]
    stakes += [("fi", "Green", 1), ("bo", "Red", 2)]
    for user, outcome, amount in stakes:
        await bet(service, user, number, outcome, amount)
    resolved = expect(await run(service, ResolveMarket(number, "red"), MOD), MarketResolved)
    pot = sum(a for _, _, a in stakes) * M
    paid = [
        (await world.user_of(e["to_account"]), e["amount"]) for e in await world.entries("payout")
    ]
    assert sum(int(str(a)) for _, a in paid) == pot == resolved.total_paid
    expected = pool.split_pot(pot, [("bo", 9 * M), ("cy", 5 * M), ("ed", 3 * M)])
    assert dict((str(u), int(str(a))) for u, a in paid) == expected
    balances = await world.ledger_check()
    for user, staked in {"bo": 9, "cy": 5, "ed": 3, "di": 11, "fi": 1}.items():
        assert balances[user] == 1000 * M - staked * M + expected.get(user, 0)
    assert await world.escrow(number) == 0


async def test_pool_ties_go_to_the_earlier_stake(service: Service, world: World) -> None:
    number = await create(service, mechanism="pool")
    for user in ["cy", "bo", "di"]:  # equal stakes; cy staked first
        await bet(service, user, number, "yes", 1)
    await bet(service, "ed", number, "no", 1)  # pot 4 points over 3 equal stakes: 1 µ left over
    await run(service, ResolveMarket(number, "yes"), MOD)
    balances = await world.ledger_check()
    assert balances["cy"] == 999 * M + 1_333_334
    assert balances["bo"] == balances["di"] == 999 * M + 1_333_333
    assert balances["ed"] == 999 * M


async def test_pool_without_winning_stakes_refunds_everyone(service: Service, world: World) -> None:
    number = await create(service, mechanism="pool", outcomes=("A", "B", "C"))
    await bet(service, "bo", number, "A", 10)
    await bet(service, "cy", number, "B", 20)
    resolved = expect(await run(service, ResolveMarket(number, "C"), MOD), MarketResolved)
    assert resolved.total_paid == 30 * M
    balances = await world.ledger_check()
    assert balances["bo"] == balances["cy"] == 1000 * M


# -- cancel --------------------------------------------------------------------------------


async def test_cancel_restores_every_pre_market_balance(service: Service, world: World) -> None:
    await _meet(service, "al", "bo", "cy", "di")
    before = await _balances(world)
    number = await create(service, outcomes=("A", "B", "C"))
    await bet(service, "bo", number, "A", 50)
    await bet(service, "cy", number, "A", 300)  # pushes A up: bo's shares gain value
    await bet(service, "di", number, "B", 80)
    await sell(service, "bo", number, "A", None)  # bo sells at a profit
    await sell(service, "di", number, "B", 20 * M)  # di sells some at a loss
    await bet(service, "bo", number, "C", 5)
    cancelled = expect(await run(service, CancelMarket(number), MOD), MarketCancelled)
    assert cancelled.card.status == "cancelled"
    assert await _balances(world) == before
    assert await world.escrow(number) == 0


async def test_cancel_claws_back_sale_profit_in_full_even_into_debt(
    service: Service, world: World
) -> None:
    await _meet(service, "al", "bo", "cy")
    number, other = await create(service), await create(service)
    await bet(service, "bo", number, "yes", 100)
    await bet(service, "cy", number, "yes", 600)
    sold = await sell(service, "bo", number, "yes", None)
    profit = sold.proceeds - 100 * M
    assert profit > 10 * M
    # bo spends all but 3 points elsewhere: the profit is clawed back all the same.
    spend = (await world.balance("bo")) // M - 3
    await bet(service, "bo", other, "no", spend)
    left = await world.balance("bo")
    assert 0 < left < profit
    cancelled = expect(await run(service, CancelMarket(number), MOD), MarketCancelled)
    balances = await world.ledger_check()
    assert balances["bo"] == left - profit < 0
    assert balances["cy"] == 1000 * M
    clawed = await world.select("ledger_entry", "amount", kind="clawback")
    assert clawed == [(profit,)]
    assert [(d.user_id, d.amount) for d in cancelled.debts] == [("bo", left - profit)]


# -- unresolve -----------------------------------------------------------------------------


@pytest.mark.parametrize("mechanism", ["lmsr", "pool"])
async def test_unresolve_then_resolve_another_outcome(
    service: Service, world: World, mechanism: str
) -> None:
    await _meet(service, "al", "bo", "cy")
    number = await create(service, mechanism=mechanism)
    await bet(service, "bo", number, "yes", 100)
    await bet(service, "cy", number, "no", 60)
    await run(service, CloseMarket(number), "al")
    traded = await _balances(world)
    first = expect(await run(service, ResolveMarket(number, "yes"), MOD), MarketResolved)
    assert [w.user_id for w in first.winners] == ["bo"]
    assert (await world.ledger_check())["bo"] > traded["bo"]
    undone = expect(await run(service, UnresolveMarket(number), MOD), MarketUnresolved)
    assert undone.previous == "Yes"
    assert undone.total_reversed == first.total_paid
    assert undone.card.status == "closed"
    assert await _balances(world) == traded
    second = expect(await run(service, ResolveMarket(number, "no"), MOD), MarketResolved)
    assert [w.user_id for w in second.winners] == ["cy"]
    balances = await world.ledger_check()
    assert balances["bo"] == traded["bo"]
    if mechanism == "pool":
        assert balances["cy"] == traded["cy"] + 160 * M
    else:
        shares = await world.select("position", "shares", outcome=1, market_id=1)
        assert balances["cy"] == traded["cy"] + int(str(shares[0][0]))
    # And back once more, to N/A: everyone gets their stake back.
    await run(service, UnresolveMarket(number), MOD)
    await run(service, ResolveMarket(number, "na"), MOD)
    balances = await world.ledger_check()
    assert balances["bo"] == balances["cy"] == 1000 * M


async def test_unresolve_after_the_payout_was_spent(service: Service, world: World) -> None:
    number, other = await create(service), await create(service)
    await bet(service, "bo", number, "yes", 900)
    resolved = expect(await run(service, ResolveMarket(number, "yes"), MOD), MarketResolved)
    rich = await world.balance("bo")
    await bet(service, "bo", other, "yes", rich // M - 1)
    left = await world.balance("bo")
    undone = expect(await run(service, UnresolveMarket(number), MOD), MarketUnresolved)
    balances = await world.ledger_check()  # takes back the whole payout, into debt
    assert undone.total_reversed == resolved.total_paid
    assert balances["bo"] == left - resolved.total_paid < 0


# -- known-at ------------------------------------------------------------------------------


@pytest.mark.parametrize("mechanism", ["lmsr", "pool"])
async def test_known_at_voids_later_trades(
    service: Service, world: World, clock: FakeClock, mechanism: str
) -> None:
    await _meet(service, "al", "bo", "cy", "di")
    number = await create(service, mechanism=mechanism)
    early = await bet(service, "bo", number, "yes", 100)
    clock.advance(hours=1)
    known = clock.now() + timedelta(minutes=30)
    clock.advance(hours=1)
    await bet(service, "cy", number, "yes", 200)  # after it was known: voided
    clock.advance(minutes=5)
    await bet(service, "di", number, "no", 50)  # voided too
    if mechanism == "lmsr":
        await sell(service, "bo", number, "yes", 10 * M)  # a late sale is voided as well
    clock.advance(hours=1)
    resolved = expect(
        await run(service, ResolveMarket(number, "yes", known=known.isoformat()), MOD),
        MarketResolved,
    )
    assert resolved.voided_trades == (3 if mechanism == "lmsr" else 2)
    card = resolved.card
    assert [o.shares for o in card.outcomes] == [early.shares, 0]
    balances = await world.ledger_check()
    assert balances["cy"] == balances["di"] == 1000 * M
    payout = early.shares if mechanism == "lmsr" else 100 * M  # alone in the pot
    assert balances["bo"] == 900 * M + payout
    voided = await world.select("trade", "id", voided=True)
    assert len(voided) == resolved.voided_trades


async def test_known_before_creation_voids_everything(
    service: Service, world: World, clock: FakeClock
) -> None:
    await _meet(service, "al", "bo")
    start = clock.now()
    clock.advance(minutes=1)
    number = await create(service)
    clock.advance(minutes=1)
    await bet(service, "bo", number, "yes", 100)
    resolved = expect(
        await run(service, ResolveMarket(number, "yes", known=start.isoformat()), MOD),
        MarketResolved,
    )
    assert resolved.voided_trades == 1
    assert (await world.ledger_check())["bo"] == 1000 * M
    assert pts(0) == await world.escrow(number)


# -- points are never created ------------------------------------------------------------
#
# Three ways ordinary, permitted commands used to create points — each must now be closed.
# The rules they pin (DESIGN.md §3, docs/rules.md): voiding reverses a user's voided trades as
# one unit; unresolve reverses payouts exactly, into debt if need be; an LMSR subsidy beyond
# what the house covers is funded by the creator.


async def _create(service: Service, user: str, question: str, **options: object) -> int:
    result = await run(service, CreateMarket(question, "2030-01-01", **options), user)  # type: ignore[arg-type]
    return result.card.number  # type: ignore[union-attr]


async def test_known_at_voiding_of_a_spent_sale_mints_nothing(
    service: Service, world: World, clock: FakeClock
) -> None:
    """eve sells, parks the proceeds elsewhere, then the market is voided from before she bet."""
    first = await _create(service, MOD, "Will the void exploit mint points?")
    second = await _create(service, MOD, "Where does eve park her points?")
    clock.advance(minutes=1)
    await run(service, ShowBalance(), "eve")
    house_before = await world.house()
    await bet(service, "eve", first, "yes", 500)
    sold = expect(await run(service, SellShares(first, "yes", None), "eve"), SharesSold)
    assert sold.balance // M == 999  # the round trip costs her a rounding micro-point
    await bet(service, "eve", second, "yes", 999)
    assert await world.balance("eve") < 1 * M
    resolved = expect(
        await run(service, ResolveMarket(first, "no", known="2000-01-01"), MOD), MarketResolved
    )
    assert resolved.voided_trades == 2
    # Had eve never traded on #1 she would hold 1000 − 999 points: exactly that, not 500.
    assert await world.balance("eve") == 1 * M
    # #1 had no standing positions, so its whole subsidy came back to the house.
    subsidy = lmsr.subsidy(100 * M, 2)
    assert await world.house() == house_before + subsidy
    undone = expect(await run(service, UnresolveMarket(first), MOD), MarketUnresolved)
    assert undone.card.status == "closed"
    assert await world.escrow(first) == subsidy  # not −429.69
    assert await world.balance("eve") == 1 * M
    await world.ledger_check()


async def test_unresolve_takes_back_a_spent_payout_into_debt(
    service: Service, world: World
) -> None:
    """bob wins 569, spends it; unresolve takes back all 569, and re-resolving pays once."""
    first = await _create(service, MOD, "Will bob's payout be taken back?")
    second = await _create(service, MOD, "Where does bob spend his winnings?")
    await bet(service, "bob", first, "yes", 500)
    won = expect(await run(service, ResolveMarket(first, "yes"), MOD), MarketResolved)
    assert round(won.total_paid / M) == 569
    await bet(service, "bob", second, "no", 1000)
    assert round(await world.balance("bob") / M) == 69
    undone = expect(await run(service, UnresolveMarket(first), MOD), MarketUnresolved)
    assert undone.total_reversed == won.total_paid  # all of it, not the 69 that were left
    assert await world.balance("bob") == -500 * M  # 1000 − 500 − 1000
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
    assert await world.balance("bob") == -450 * M
    again = expect(await run(service, ResolveMarket(first, "yes"), MOD), MarketResolved)
    assert again.total_paid == won.total_paid
    # One payout in total: 1000 − 500 − 1000 + 50 + 569.x.
    assert await world.balance("bob") == -450 * M + won.total_paid
    await world.ledger_check()


async def test_two_users_cannot_farm_the_house_with_a_huge_subsidy(
    service: Service, world: World
) -> None:
    """A creator without a stake resolves to what a friend bought: the house pays at most
    the subsidy it funded (the default liquidity's), the creator funds the rest."""
    outcomes = tuple(f"Outcome {i}" for i in range(10))
    await run(service, ShowBalance(), MOD)  # the community exists from the first contact on
    house_before = await world.house()
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
    assert await world.balance("al") == 1000 * M - (total - house_part)
    assert await world.house() == house_before - house_part - 1000 * M  # al's starting grant
    await bet(service, "bo", number, "Outcome 3", 1000)
    await run(service, ResolveMarket(number, "Outcome 3"), "al")  # al holds no position
    pair = await world.balance("al") + await world.balance("bo")
    house_loss = house_before - 2000 * M - await world.house()
    assert house_loss <= house_part
    assert pair - 2000 * M == house_loss  # what the pair gained is exactly what the house lost
    await world.ledger_check()
