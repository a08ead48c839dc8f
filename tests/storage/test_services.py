"""Every command of the service, on real storage (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.core import lmsr
from bot.core.commands import (
    CancelMarket,
    ClaimDaily,
    CloseMarket,
    Configure,
    CreateMarket,
    ExtendMarket,
    ListMarkets,
    ListOverdue,
    ResolveMarket,
    ShowBalance,
    ShowLeaderboard,
    ShowMarket,
    ShowPortfolio,
    UnresolveMarket,
)
from bot.core.errors import NotAllowed
from bot.core.models import Actor, Context
from bot.core.service import Service
from bot.core.views import (
    BalanceShown,
    ConfigShown,
    DailyClaimed,
    LeaderboardShown,
    MarketCancelled,
    MarketClosed,
    MarketCreated,
    MarketExtended,
    MarketList,
    MarketResolved,
    MarketShown,
    MarketUnresolved,
    OverdueShown,
    PortfolioShown,
)
from tests.helpers import FakeClock, ledger_check
from tests.storage.flow import MOD, balance, bet, create, escrow, expect, house, rows, run, sell

M = 1_000_000
Q = "Will it rain in Paris tomorrow?"


# -- create, list, show --------------------------------------------------------------------


async def test_create_with_defaults(service: Service, engine: AsyncEngine) -> None:
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
    assert await escrow(engine, 1) == lmsr.subsidy(100 * M, 2)
    assert await rows(engine, "SELECT kind, channel FROM outbox") == [("created", "chan")]
    await ledger_check(engine)


async def test_create_with_options(service: Service, engine: AsyncEngine) -> None:
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
    assert await escrow(engine, 1) == lmsr.subsidy(250 * M, 3)
    pool_card = expect(
        await run(service, CreateMarket(Q, "in 3 days", mechanism="POOL"), "bo"), MarketCreated
    ).card
    assert pool_card.number == 2
    assert pool_card.mechanism == "pool"
    assert pool_card.closes_at == datetime(2026, 3, 5, 12, 0, tzinfo=UTC)
    assert await escrow(engine, 2) == 0  # a pool has no market maker to subsidise
    await ledger_check(engine)


async def test_default_liquidity_and_min_duration_settings(service: Service) -> None:
    await run(service, Configure((("default_liquidity", "40"), ("min_duration", "2h"))), MOD)
    card = expect(await run(service, CreateMarket(Q, "in 3 hours"), "al"), MarketCreated).card
    assert card.liquidity == 40 * M
    with pytest.raises(Exception, match="at least 2 hours"):
        await run(service, CreateMarket(Q, "in 90 minutes"), "al")


async def test_list_and_show(service: Service) -> None:
    for _ in range(4):
        await create(service)
    await run(service, CloseMarket(2), "al")
    await run(service, ResolveMarket(3, "yes"), MOD)
    await run(service, CancelMarket(4), MOD)

    async def listed(status: str) -> list[tuple[int, str]]:
        found = expect(await run(service, ListMarkets(status), "bo"), MarketList)
        return [(c.number, c.status) for c in found.cards]

    assert await listed("open") == [(1, "open")]
    assert await listed("closed") == [(2, "closed")]
    assert await listed("RESOLVED") == [(3, "resolved")]
    assert await listed("cancelled") == [(4, "cancelled")]
    assert await listed("all") == [(4, "cancelled"), (3, "resolved"), (2, "closed"), (1, "open")]
    shown = expect(await run(service, ShowMarket(3), "bo"), MarketShown).card
    assert shown.status == "resolved"
    assert shown.resolution == "Yes"


# -- trading -------------------------------------------------------------------------------


async def test_bet_records_trade_position_and_market(service: Service, engine: AsyncEngine) -> None:
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
    assert await balance(engine, "bo") == 950 * M
    assert second.balance == 950 * M
    positions = await rows(
        engine,
        "SELECT a.user_id, p.outcome, p.shares, p.net_cost FROM position p "
        "JOIN account a ON a.id = p.account_id ORDER BY p.id",
    )
    assert positions == [
        ("bo", 1, first.shares + second.shares, 50 * M),
        ("cy", 2, third.shares, 10 * M),
    ]
    trades = await rows(engine, "SELECT side, amount, outcome FROM trade ORDER BY id")
    assert trades == [("buy", 30 * M, 1), ("buy", 20 * M, 1), ("buy", 10 * M, 2)]
    await ledger_check(engine)


async def test_sell_partial_then_all(service: Service, engine: AsyncEngine) -> None:
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
    assert await balance(engine, "bo") == rest.balance == 900 * M + part.proceeds + rest.proceeds
    (position,) = await rows(engine, "SELECT shares, net_cost FROM position")
    assert position == (0, 100 * M - part.proceeds - rest.proceeds)
    await ledger_check(engine)


# -- close, extend -------------------------------------------------------------------------


async def test_close_by_creator_and_by_moderator(
    service: Service, engine: AsyncEngine, clock: FakeClock
) -> None:
    first, second = await create(service), await create(service)
    closed = expect(await run(service, CloseMarket(first), "al"), MarketClosed)
    assert closed.card.status == "closed"
    assert closed.card.closed_at == clock.now()
    assert not closed.late
    assert "al" in closed.resolvers
    by_mod = expect(await run(service, CloseMarket(second), MOD), MarketClosed)
    assert by_mod.card.status == "closed"
    with pytest.raises(NotAllowed):
        await run(service, CloseMarket(second), "bo")
    kinds = await rows(engine, "SELECT kind FROM outbox ORDER BY id")
    assert kinds == [("created",), ("created",), ("closed",), ("closed",)]


async def test_extend_later_and_reopen(service: Service, clock: FakeClock) -> None:
    number = await create(service)
    extended = expect(await run(service, ExtendMarket(number, "2026-03-20"), "al"), MarketExtended)
    assert extended.previous_closes_at == datetime(2026, 3, 10, 23, 59, 59, tzinfo=UTC)
    assert extended.card.closes_at == datetime(2026, 3, 20, 23, 59, 59, tzinfo=UTC)
    await run(service, CloseMarket(number), "al")
    # A closed market reopens, even with a deadline earlier than the old one.
    reopened = expect(await run(service, ExtendMarket(number, "2026-03-05"), MOD), MarketExtended)
    assert reopened.card.status == "open"
    assert reopened.card.closed_at is None
    assert reopened.card.closes_at == datetime(2026, 3, 5, 23, 59, 59, tzinfo=UTC)
    await bet(service, "bo", number, "yes", 5)  # trading again


async def test_close_due_closes_late_markets_once(service: Service, clock: FakeClock) -> None:
    number = await create(service, closes="2026-03-02T13:00Z")
    assert await service.close_due("console", "test", number) is None  # not due yet
    clock.advance(hours=3)
    closed = await service.close_due("console", "test", number)
    assert closed is not None
    assert closed.late
    assert closed.card.closed_at == datetime(2026, 3, 2, 13, 0, tzinfo=UTC)
    assert await service.close_due("console", "test", number) is None


# -- resolve, cancel, unresolve ------------------------------------------------------------


async def test_resolve_by_moderator_with_evidence(service: Service, engine: AsyncEngine) -> None:
    number = await create(service)
    placed = await bet(service, "bo", number, "no", 50)
    await bet(service, "cy", number, "yes", 20)
    resolved = expect(
        await run(service, ResolveMarket(number, "No", evidence="https://example.org/rain"), MOD),
        MarketResolved,
    )
    assert resolved.outcome == "No"
    assert resolved.evidence == "https://example.org/rain"
    assert resolved.card.status == "resolved"
    assert resolved.card.resolution == "No"
    assert resolved.card.evidence == "https://example.org/rain"
    assert [(w.user_id, w.amount) for w in resolved.winners] == [("bo", placed.shares)]
    assert resolved.total_paid == placed.shares
    balances = await ledger_check(engine)
    assert balances["bo"] == 950 * M + placed.shares
    assert balances["cy"] == 980 * M
    assert ("resolved",) in await rows(engine, "SELECT kind FROM outbox")


async def test_creator_without_position_resolves_and_cancels(
    service: Service, engine: AsyncEngine
) -> None:
    first, second = await create(service), await create(service)
    await bet(service, "bo", first, "yes", 10)
    resolved = expect(await run(service, ResolveMarket(first, "yes"), "al"), MarketResolved)
    assert resolved.card.status == "resolved"
    cancelled = expect(await run(service, CancelMarket(second), "al"), MarketCancelled)
    assert cancelled.card.status == "cancelled"
    assert cancelled.card.resolution == "N/A"
    with pytest.raises(NotAllowed, match="moderator"):
        await run(service, UnresolveMarket(first), "al")
    undone = expect(await run(service, UnresolveMarket(second), MOD), MarketUnresolved)
    assert undone.previous == "N/A"
    await ledger_check(engine)


async def test_resolve_na_cancels(service: Service, engine: AsyncEngine) -> None:
    number = await create(service)
    await bet(service, "bo", number, "yes", 10)
    cancelled = expect(await run(service, ResolveMarket(number, "N/A"), MOD), MarketCancelled)
    assert cancelled.total_refunded == 10 * M
    assert cancelled.accounts_refunded == 1
    assert (await ledger_check(engine))["bo"] == 1000 * M


async def test_moderators_by_setting_and_role(service: Service) -> None:
    number = await create(service)
    await run(service, Configure((("moderators", "<@cy>, @di"), ("moderator_roles", "refs"))), MOD)
    closed = expect(await run(service, CloseMarket(number), "cy"), MarketClosed)
    assert "cy" in closed.resolvers and "di" in closed.resolvers
    ref = Context("console", "test", Actor("ed", "Ed", roles=("refs",)), "rid-ed")
    assert isinstance(await service.execute(ResolveMarket(number, "yes"), ref), MarketResolved)


# -- people --------------------------------------------------------------------------------


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


async def test_portfolio_and_leaderboard(service: Service, engine: AsyncEngine) -> None:
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
    cy_shares = (await rows(engine, "SELECT shares FROM position WHERE outcome = 1"))[0][0]
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
    engine: AsyncEngine,
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
    assert (await ledger_check(engine))["bo"] == 1100 * M


async def test_config_shows_and_changes_every_key(service: Service, engine: AsyncEngine) -> None:
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
    }
    # The settings are stored, and they take effect.
    assert expect(await run(service, Configure(), "cy"), ConfigShown).settings == changed.settings
    created = expect(await run(service, CreateMarket(Q, "in 2 hours"), "cy"), MarketCreated)
    assert created.card.liquidity == 300 * M
    assert (await ledger_check(engine))["cy"] == 2000 * M
    assert await rows(engine, "SELECT channel FROM outbox") == [("C42",)]
    daily = expect(await run(service, ClaimDaily(), "new"), DailyClaimed)
    assert daily.balance == 2025 * M
    await run(service, Configure((("announce_channel", "none"), ("moderators", "none"))), MOD)
    with pytest.raises(NotAllowed):
        await run(service, Configure(), "cy")


async def test_overdue_lists_closed_markets_oldest_deadline_first(service: Service) -> None:
    late = await create(service, closes="2026-03-20")
    early = await create(service, closes="2026-03-05")
    still_open = await create(service)
    done = await create(service)
    for number in (late, early, done):
        await run(service, CloseMarket(number), "al")
    await run(service, ResolveMarket(done, "no"), MOD)
    overdue = expect(await run(service, ListOverdue(), MOD), OverdueShown)
    assert [c.number for c in overdue.cards] == [early, late]
    assert still_open not in [c.number for c in overdue.cards]


async def test_house_pays_grants_and_allowances(service: Service, engine: AsyncEngine) -> None:
    await run(service, ShowBalance(), "bo")
    await run(service, ClaimDaily(), "bo")
    assert await house(engine) == -1050 * M
    await ledger_check(engine)


async def test_creator_who_sold_everything_may_resolve(service: Service) -> None:
    number = await create(service)
    await bet(service, "al", number, "yes", 10)
    with pytest.raises(NotAllowed, match="no position"):
        await run(service, ResolveMarket(number, "yes"), "al")
    await sell(service, "al", number, "yes", None)  # holds no position any more
    resolved = expect(await run(service, ResolveMarket(number, "no"), "al"), MarketResolved)
    assert resolved.card.status == "resolved"


async def test_known_at_is_recorded_and_cleared_by_unresolve(
    service: Service, engine: AsyncEngine, clock: FakeClock
) -> None:
    number = await create(service)
    clock.advance(hours=2)
    known = clock.now() - timedelta(hours=1)
    await run(service, ResolveMarket(number, "yes", known=known.isoformat()), MOD)
    ((stored,),) = await rows(engine, "SELECT known_at FROM market")
    stored = datetime.fromisoformat(stored) if isinstance(stored, str) else stored  # SQLite
    assert isinstance(stored, datetime)
    assert (stored if stored.tzinfo else stored.replace(tzinfo=UTC)) == known
    await run(service, UnresolveMarket(number), MOD)
    assert await rows(engine, "SELECT known_at FROM market") == [(None,)]
