"""Parimutuel pool: displayed probabilities and exact integer pot splitting."""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import TypeVar

__all__ = ["probabilities", "split_pot"]

K = TypeVar("K", bound=Hashable)


def probabilities(pools: Sequence[int]) -> list[float]:
    """Pool of each outcome divided by the whole pot; equal shares when the pot is empty."""
    if len(pools) < 2:
        raise ValueError("a market needs at least 2 outcomes")
    if any(p < 0 for p in pools):
        raise ValueError("pools cannot be negative")
    pot = sum(pools)
    if pot == 0:
        return [1 / len(pools)] * len(pools)
    return [p / pot for p in pools]


def split_pot(pot: int, stakes: Sequence[tuple[K, int]]) -> dict[K, int]:
    """Split the pot pro rata to stake, largest remainder first, earlier stakes winning ties."""
    if pot < 0:
        raise ValueError("pot cannot be negative")
    if any(stake < 0 for _, stake in stakes):
        raise ValueError("stakes cannot be negative")
    keys = [key for key, _ in stakes]
    if len(set(keys)) != len(keys):
        raise ValueError("each account may appear only once")
    total = sum(stake for _, stake in stakes)
    if total == 0:
        raise ValueError("no winning stakes to split the pot between")
    payouts: list[int] = []
    remainders: list[int] = []
    for _, stake in stakes:
        share, remainder = divmod(pot * stake, total)
        payouts.append(share)
        remainders.append(remainder)
    leftover = pot - sum(payouts)
    order = sorted(range(len(stakes)), key=lambda i: (-remainders[i], i))
    for i in order[:leftover]:
        payouts[i] += 1
    return dict(zip(keys, payouts, strict=True))
