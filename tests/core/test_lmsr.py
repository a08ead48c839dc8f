"""Tests for the LMSR market maker (bot.core.lmsr)."""

from __future__ import annotations

import math
from decimal import ROUND_CEILING, Decimal, localcontext

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.core.lmsr import (
    cost,
    cost_of_shares,
    probabilities,
    proceeds_of_sale,
    shares_for_amount,
    subsidy,
)
from bot.core.money import MICRO

B = 100 * MICRO  # DESIGN.md worked example: b = 100 points


def ceil_dec(x: Decimal) -> int:
    return int(x.to_integral_value(rounding=ROUND_CEILING))


# --- DESIGN.md worked numbers ---------------------------------------------------------------


def test_initial_cost_is_b_ln_2() -> None:
    c = cost([0, 0], B)
    assert round(c / MICRO, 6) == Decimal("69.314718")
    with localcontext() as ctx:
        ctx.prec = 80
        assert abs(c - Decimal(B) * Decimal(2).ln()) < Decimal("1e-40")
    assert subsidy(B, 2) == 69_314_719  # b·ln 2 = 69_314_718.056 micro, rounded up


def test_buying_50_shares() -> None:
    exact = cost([50 * MICRO, 0], B) - cost([0, 0], B)
    assert round(exact / MICRO, 6) == Decimal("28.092980")
    paid = cost_of_shares([0, 0], B, 0, 50 * MICRO)
    assert paid == ceil_dec(exact) == 28_092_981
    assert round(probabilities([50 * MICRO, 0], B)[0], 6) == 0.622459


def test_spending_100_points() -> None:
    shares = shares_for_amount([0, 0], B, 0, 100 * MICRO)
    assert shares == 148_988_012
    assert round(probabilities([shares, 0], B)[0], 6) == 0.816060
    assert cost_of_shares([0, 0], B, 0, shares) <= 100 * MICRO
    assert cost_of_shares([0, 0], B, 0, shares + 1) > 100 * MICRO


def test_buying_20_then_30_equals_50() -> None:
    # Exactly (as Decimals) the two steps telescope to the single purchase; once each step is
    # rounded up to a micro-point, the split costs the single price or at most 1 micro more.
    q0, q20, q50 = [0, 0], [20 * MICRO, 0], [50 * MICRO, 0]
    assert (cost(q20, B) - cost(q0, B)) + (cost(q50, B) - cost(q20, B)) == cost(q50, B) - cost(
        q0, B
    )
    single = cost_of_shares(q0, B, 0, 50 * MICRO)
    split = cost_of_shares(q0, B, 0, 20 * MICRO) + cost_of_shares(q20, B, 0, 30 * MICRO)
    assert single <= split <= single + 1
    assert round(split / MICRO, 6) == pytest.approx(28.092981, abs=2e-6)


# --- validation -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "call",
    [
        lambda: cost([0], B),
        lambda: cost([0, 0], 0),
        lambda: probabilities([0, 0], -1),
        lambda: shares_for_amount([0, 0], B, 0, 0),
        lambda: shares_for_amount([0, 0], B, 2, 5),
        lambda: shares_for_amount([0, 0], B, -1, 5),
        lambda: cost_of_shares([0, 0], B, 0, -3),
        lambda: cost_of_shares([0, 0, 0], B, 3, 3),
        lambda: proceeds_of_sale([0, 0], B, 0, 0),
        lambda: proceeds_of_sale([0, 0], B, 5, 1),
        lambda: subsidy(B, 1),
        lambda: subsidy(0, 2),
    ],
)
def test_invalid_arguments_raise(call: object) -> None:
    with pytest.raises(ValueError):
        call()  # type: ignore[operator]


# --- properties -----------------------------------------------------------------------------

liquidity = st.integers(min_value=1, max_value=10**9)
quantities = st.lists(st.integers(min_value=-(10**10), max_value=10**10), min_size=2, max_size=10)
amounts = st.integers(min_value=1, max_value=10**10)


@st.composite
def market(draw: st.DrawFn) -> tuple[list[int], int, int]:
    q = draw(quantities)
    return q, draw(liquidity), draw(st.integers(min_value=0, max_value=len(q) - 1))


@settings(max_examples=150, deadline=None)
@given(quantities, liquidity)
def test_probabilities_in_open_interval_and_sum_to_one(q: list[int], b: int) -> None:
    ps = probabilities(q, b)
    assert len(ps) == len(q)
    assert all(0.0 < p < 1.0 for p in ps)
    assert math.isclose(sum(ps), 1.0, abs_tol=1e-9)


@settings(max_examples=60, deadline=None)
@given(market(), amounts)
def test_shares_for_amount_is_the_largest_affordable(
    m: tuple[list[int], int, int], amount: int
) -> None:
    q, b, i = m
    shares = shares_for_amount(q, b, i, amount)
    assert shares >= amount  # every marginal price is below 1
    assert cost_of_shares(q, b, i, shares) <= amount
    assert cost_of_shares(q, b, i, shares + 1) > amount


@settings(max_examples=60, deadline=None)
@given(market(), amounts, amounts)
def test_split_buy_never_beats_single_buy(m: tuple[list[int], int, int], a: int, c: int) -> None:
    q, b, i = m
    first = shares_for_amount(q, b, i, a)
    moved = list(q)
    moved[i] += first
    second = shares_for_amount(moved, b, i, c)
    single = shares_for_amount(q, b, i, a + c)
    assert single - 1 <= first + second <= single


@settings(max_examples=60, deadline=None)
@given(market(), amounts)
def test_selling_what_you_bought_returns_at_most_the_price(
    m: tuple[list[int], int, int], amount: int
) -> None:
    q, b, i = m
    shares = shares_for_amount(q, b, i, amount)
    moved = list(q)
    moved[i] += shares
    back = proceeds_of_sale(moved, b, i, shares)
    assert back <= cost_of_shares(q, b, i, shares) <= amount


trade = st.tuples(
    st.booleans(),  # buy (spend an amount) or sell (a number of shares)
    st.integers(min_value=0, max_value=4),  # trader
    st.integers(min_value=0, max_value=9),  # outcome (mod n)
    st.integers(min_value=1, max_value=500 * MICRO),  # amount or shares
)


@settings(max_examples=60, deadline=None)
@given(
    st.integers(min_value=2, max_value=10),
    st.integers(min_value=MICRO, max_value=1000 * MICRO),
    st.lists(trade, max_size=25),
)
def test_escrow_plus_subsidy_covers_every_outcome(
    n: int, b: int, trades: list[tuple[bool, int, int, int]]
) -> None:
    q = [0] * n
    held: dict[tuple[int, int], int] = {}
    escrow = subsidy(b, n)
    for is_buy, trader, raw_outcome, size in trades:
        outcome = raw_outcome % n
        if is_buy:
            shares = shares_for_amount(q, b, outcome, size)
            escrow += size
            q[outcome] += shares
            held[trader, outcome] = held.get((trader, outcome), 0) + shares
        else:
            shares = min(size, held.get((trader, outcome), 0))
            if shares == 0:
                continue
            escrow -= proceeds_of_sale(q, b, outcome, shares)
            q[outcome] -= shares
            held[trader, outcome] -= shares
        assert escrow >= max(q)  # one point per winning share, whichever outcome wins
    assert escrow >= max(q)


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.integers(min_value=-(10**15), max_value=10**15), min_size=2, max_size=10),
    st.integers(min_value=1, max_value=10**6),
    st.integers(min_value=1, max_value=10**12),
)
def test_huge_quantities_do_not_overflow(q: list[int], b: int, amount: int) -> None:
    c = cost(q, b)
    assert c >= max(q)
    assert c <= max(q) + Decimal(b) * Decimal(len(q)).ln() + 1
    ps = probabilities(q, b)
    assert all(0.0 < p < 1.0 for p in ps)
    i = q.index(min(q))
    shares = shares_for_amount(q, b, i, amount)
    assert cost_of_shares(q, b, i, shares) <= amount
    assert proceeds_of_sale(q, b, i, 10**15) >= 0


def test_extreme_example() -> None:
    q = [10**15, 0, -(10**15)]
    ps = probabilities(q, 10**6)
    assert all(0.0 < p < 1.0 for p in ps)
    assert ps[0] == pytest.approx(1.0)
    # Buying the near-impossible outcome: each share costs (almost) nothing until it catches up.
    assert shares_for_amount(q, 10**6, 1, 10**12) >= 10**15
