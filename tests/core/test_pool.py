"""Tests for the parimutuel pool (bot.core.pool)."""

from __future__ import annotations

import math
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.core.pool import probabilities, split_pot

MICRO = 1_000_000


def test_probabilities_are_pool_over_pot() -> None:
    assert probabilities([30 * MICRO, 10 * MICRO]) == [0.75, 0.25]
    assert probabilities([0, 5, 0]) == [0.0, 1.0, 0.0]


def test_empty_pot_gives_equal_probabilities() -> None:
    assert probabilities([0, 0, 0, 0]) == [0.25] * 4


def test_simple_split() -> None:
    assert split_pot(300 * MICRO, [("a", 100 * MICRO), ("b", 50 * MICRO)]) == {
        "a": 200 * MICRO,
        "b": 100 * MICRO,
    }


def test_ties_go_to_the_earlier_stake() -> None:
    # 10 split three ways: 3 each, one micro-point left over, all remainders equal.
    assert split_pot(10, [("first", 1), ("second", 1), ("third", 1)]) == {
        "first": 4,
        "second": 3,
        "third": 3,
    }
    assert split_pot(11, [("x", 1), ("y", 1), ("z", 1)]) == {"x": 4, "y": 4, "z": 3}


def test_largest_remainder_beats_order() -> None:
    # exact shares 10·1/6 = 1.67 and 10·5/6 = 8.33: the larger remainder (first) gets the micro.
    assert split_pot(10, [("b", 5), ("a", 1)]) == {"b": 8, "a": 2}


def test_zero_stake_gets_nothing() -> None:
    assert split_pot(7, [("a", 0), ("b", 3), ("c", 0)]) == {"a": 0, "b": 7, "c": 0}


@pytest.mark.parametrize(
    ("pot", "stakes"),
    [
        (10, []),
        (10, [("a", 0), ("b", 0)]),
        (-1, [("a", 1)]),
        (10, [("a", -1), ("b", 2)]),
        (10, [("a", 1), ("a", 2)]),
    ],
)
def test_split_pot_rejects(pot: int, stakes: list[tuple[str, int]]) -> None:
    with pytest.raises(ValueError):
        split_pot(pot, stakes)


def test_probabilities_reject() -> None:
    with pytest.raises(ValueError):
        probabilities([1])
    with pytest.raises(ValueError):
        probabilities([1, -1])


stake_lists = st.lists(st.integers(min_value=0, max_value=10**15), min_size=1, max_size=30).filter(
    lambda s: sum(s) > 0
)


@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=0, max_value=10**18), stake_lists)
def test_split_is_exact_and_proportional(pot: int, amounts: list[int]) -> None:
    stakes = list(enumerate(amounts))
    payouts = split_pot(pot, stakes)
    assert list(payouts) == [k for k, _ in stakes]
    assert sum(payouts.values()) == pot
    total = sum(amounts)
    for key, stake in stakes:
        exact = Fraction(pot * stake, total)
        assert abs(payouts[key] - exact) < 1
        assert payouts[key] >= 0


@settings(max_examples=100, deadline=None)
@given(
    st.integers(min_value=0, max_value=10**12),
    st.integers(min_value=1, max_value=10**9),
    st.integers(min_value=2, max_value=30),
)
def test_equal_stakes_favour_earlier_stakers(pot: int, stake: int, n: int) -> None:
    payouts = list(split_pot(pot, [(f"u{i}", stake) for i in range(n)]).values())
    assert payouts == sorted(payouts, reverse=True)
    assert payouts[0] - payouts[-1] <= 1
    assert sum(payouts) == pot


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=10**15), min_size=2, max_size=10))
def test_probabilities_sum_to_one(pools: list[int]) -> None:
    ps = probabilities(pools)
    assert all(0.0 <= p <= 1.0 for p in ps)
    assert math.isclose(sum(ps), 1.0, abs_tol=1e-9)
