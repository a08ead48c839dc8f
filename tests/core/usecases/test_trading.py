"""Trade: bets record the trade, the position and the market; sales pay back at the market
maker's price. On every store."""

from __future__ import annotations

import json

import pytest

from bot.core.service import Service
from tests.flow import bet, create, sell
from tests.world import World

M = 1_000_000


async def test_bet_records_trade_position_and_market(service: Service, world: World) -> None:
    number = await create(service, outcomes=("A", "B", "C"))
    first = await bet(service, "bo", number, "b", 30)
    assert first.outcome == "B"
    assert first.prob_before == pytest.approx(1 / 3)
    assert first.prob_after > first.prob_before
    second = await bet(service, "bo", number, "2", 20)  # by index
    third = await bet(service, "cy", number, "C", 10)
    assert third.card.traders == 2
    assert third.card.volume == 60 * M
    assert [o.shares for o in third.card.outcomes] == [
        0,
        first.shares + second.shares,
        third.shares,
    ]
    assert await world.balance("bo") == 950 * M
    assert second.balance == 950 * M
    positions = [
        (await world.user_of(p["account_id"]), p["outcome"], p["shares"], p["net_cost"])
        for p in await world.rows("position")
    ]
    assert positions == [
        ("bo", 1, first.shares + second.shares, 50 * M),
        ("cy", 2, third.shares, 10 * M),
    ]
    trades = await world.select("trade", "side", "amount", "outcome")
    assert trades == [("buy", 30 * M, 1), ("buy", 20 * M, 1), ("buy", 10 * M, 2)]
    await world.ledger_check()


async def test_sell_partial_then_all(service: Service, world: World) -> None:
    number = await create(service)
    bought = await bet(service, "bo", number, "yes", 100)
    part = await sell(service, "bo", number, "yes", 40 * M)
    assert part.shares == 40 * M
    assert part.prob_after < part.prob_before
    assert 0 < part.proceeds < 40 * M
    rest = await sell(service, "bo", number, "YES", None)
    assert rest.shares == bought.shares - 40 * M
    assert rest.card.outcomes[0].shares == 0
    assert rest.card.outcomes[0].probability == pytest.approx(0.5)
    # Selling everything back returns at most what was paid (rounding favours the house).
    assert 100 * M - 2 <= part.proceeds + rest.proceeds <= 100 * M
    assert await world.balance("bo") == rest.balance == 900 * M + part.proceeds + rest.proceeds
    (position,) = await world.select("position", "shares", "net_cost")
    assert position == (0, 100 * M - part.proceeds - rest.proceeds)
    await world.ledger_check()


async def test_every_trade_stores_every_outcomes_probability_after_it(
    service: Service, world: World
) -> None:
    number = await create(service, outcomes=("A", "B", "C"))
    placed = await bet(service, "bo", number, "A", 100)
    sold = await sell(service, "bo", number, "A", 10 * M)
    stored = [json.loads(p) for (p,) in await world.select("trade", "probs_json")]
    assert stored[0][0] == round(placed.prob_after * M)
    assert stored[1][0] == round(sold.prob_after * M)
    assert all(abs(sum(probs) - M) <= 2 for probs in stored)  # each rounded to a ppm
    assert stored[0][1] == stored[0][2] < stored[1][1]
