"""People and their points: balance, portfolio, leaderboard, the daily allowance. On every
store."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.core.commands import (
    ClaimDaily,
    Configure,
    ResolveMarket,
    ShowBalance,
    ShowLeaderboard,
    ShowMarket,
    ShowPortfolio,
)
from bot.core.errors import NotAllowed
from bot.core.service import Service
from bot.core.views import BalanceShown, DailyClaimed, LeaderboardShown, MarketShown, PortfolioShown
from tests.flow import MOD, bet, create, expect, run
from tests.helpers import FakeClock
from tests.world import World

M = 1_000_000


async def test_balance_own_and_others(service: Service) -> None:
    number = await create(service)
    placed = await bet(service, "bo", number, "yes", 100)
    own = expect(await run(service, ShowBalance(), "bo"), BalanceShown)
    assert own.own
    assert own.balance == 900 * M
    assert own.invested == int(placed.shares * placed.prob_after)
    named = expect(await run(service, ShowBalance("@bo"), "cy"), BalanceShown)
    mention = expect(await run(service, ShowBalance("<@bo>"), "cy"), BalanceShown)
    assert not named.own
    assert named.user_id == mention.user_id == "bo"
    assert named.display_name == "Bo"
    assert named.balance == 900 * M
    assert expect(await run(service, ShowBalance("<@!cy>"), "cy"), BalanceShown).own


async def test_portfolio_and_leaderboard(service: Service, world: World) -> None:
    lmsr_market = await create(service)
    pool_market = await create(service, mechanism="pool")
    bought = await bet(service, "bo", lmsr_market, "yes", 200)
    await bet(service, "cy", lmsr_market, "no", 50)
    await bet(service, "bo", pool_market, "no", 30)
    await run(service, ShowBalance(), "di")
    shown = expect(await run(service, ShowMarket(lmsr_market), "bo"), MarketShown).card
    p_yes, p_no = (o.probability for o in shown.outcomes)

    portfolio = expect(await run(service, ShowPortfolio(), "bo"), PortfolioShown)
    assert portfolio.balance == 770 * M
    view = [(p.market, p.outcome, p.shares, p.net_cost, p.value) for p in portfolio.positions]
    assert view == [
        (lmsr_market, "Yes", bought.shares, 200 * M, int(bought.shares * p_yes)),
        (pool_market, "No", 30 * M, 30 * M, 30 * M),
    ]
    board = expect(await run(service, ShowLeaderboard(), "di"), LeaderboardShown)
    worth = {r.user_id: (r.balance, r.net_worth) for r in board.rows}
    cy_shares = (await world.select("position", "shares", outcome=1))[0][0]
    assert worth["bo"] == (770 * M, 770 * M + int(bought.shares * p_yes) + 30 * M)
    assert worth["cy"] == (950 * M, 950 * M + int(int(str(cy_shares)) * p_no))
    assert worth["di"] == (1000 * M, 1000 * M)
    nets = [r.net_worth for r in board.rows]
    assert nets == sorted(nets, reverse=True)
    assert [r.rank for r in board.rows] == list(range(1, len(board.rows) + 1))
    # Settled markets no longer count as open positions.
    await run(service, ResolveMarket(lmsr_market, "yes"), MOD)
    after = expect(await run(service, ShowPortfolio(), "bo"), PortfolioShown)
    assert [p.market for p in after.positions] == [pool_market]


@pytest.mark.parametrize(
    ("zone", "noon", "before_midnight", "midnight"),
    [
        # Local noon, 23:59 and the next 00:00, in UTC; the UTC date differs from the local one.
        (
            "America/New_York",
            datetime(2026, 3, 2, 17, 0),
            datetime(2026, 3, 3, 4, 59),
            datetime(2026, 3, 3, 5, 0),
        ),
        (
            "Asia/Tokyo",
            datetime(2026, 3, 2, 3, 0),
            datetime(2026, 3, 2, 14, 59),
            datetime(2026, 3, 2, 15, 0),
        ),
    ],
)
async def test_daily_once_per_local_day(
    service: Service,
    world: World,
    clock: FakeClock,
    zone: str,
    noon: datetime,
    before_midnight: datetime,
    midnight: datetime,
) -> None:
    await run(service, Configure((("timezone", zone),)), MOD)
    clock.current = noon.replace(tzinfo=UTC)
    claimed = expect(await run(service, ClaimDaily(), "bo"), DailyClaimed)
    assert claimed.amount == 50 * M
    assert claimed.balance == 1050 * M  # a first claim also opens the account
    assert claimed.next_at == midnight.replace(tzinfo=UTC)
    clock.current = before_midnight.replace(tzinfo=UTC)
    with pytest.raises(NotAllowed, match="already claimed"):
        await run(service, ClaimDaily(), "bo")
    clock.current = midnight.replace(tzinfo=UTC)
    again = expect(await run(service, ClaimDaily(), "bo"), DailyClaimed)
    assert again.balance == 1100 * M
    assert again.next_at == midnight.replace(tzinfo=UTC) + timedelta(days=1)
    assert (await world.ledger_check())["bo"] == 1100 * M


async def test_house_pays_grants_and_allowances(service: Service, world: World) -> None:
    await run(service, ShowBalance(), "bo")
    await run(service, ClaimDaily(), "bo")
    assert await world.house() == -1050 * M
    await world.ledger_check()
