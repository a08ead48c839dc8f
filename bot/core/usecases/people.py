"""People and their points: balance, portfolio, leaderboard, the daily allowance."""

from __future__ import annotations

import zoneinfo
from datetime import timedelta

from bot.core import validation
from bot.core.commands import ClaimDaily, ShowBalance, ShowLeaderboard, ShowPortfolio
from bot.core.errors import NotAllowed, NotFound
from bot.core.models import Account, EntryKind
from bot.core.timeparse import format_utc
from bot.core.usecases._paging import PORTFOLIO_PAGE, page_of
from bot.core.usecases._shared import Request, normalise_user_ref, position_value
from bot.core.views import (
    BalanceShown,
    DailyClaimed,
    LeaderboardRow,
    LeaderboardShown,
    PortfolioShown,
    PositionView,
    Result,
)

LEADERBOARD_SIZE = 10


async def balance(cmd: ShowBalance, r: Request) -> Result:
    """Show your balance (opening your account on first contact), or another user's."""
    own = cmd.user is None or normalise_user_ref(cmd.user) == r.actor.user_id
    account: Account | None
    if own:
        account = await r.tx.accounts.ensure(r.actor.user_id, r.actor.display_name)
    else:
        assert cmd.user is not None
        account = await r.tx.accounts.find(normalise_user_ref(cmd.user))
        if account is None:
            raise NotFound(
                f"{validation.shown(cmd.user)} has no points yet: "
                "they haven't used predictbot here."
            )
    holdings = await r.tx.positions.holdings(account.id)
    invested = sum(position_value(h.market, h.position) for h in holdings)
    assert account.user_id is not None
    return BalanceShown(account.user_id, account.display_name, account.balance, invested, own)


async def portfolio(cmd: ShowPortfolio, r: Request) -> Result:
    """Show your positions in markets not yet settled, valued at today's probabilities."""
    account = await r.tx.accounts.ensure(r.actor.user_id, r.actor.display_name)
    total = await r.tx.positions.count_holdings(account.id)
    page = page_of(cmd.page, PORTFOLIO_PAGE, total, "open position", "open positions")
    holdings = await r.tx.positions.holdings(account.id, limit=page.size, offset=page.offset)
    rows = tuple(
        PositionView(
            market=h.market.number,
            question=h.market.question,
            status=h.market.status,
            outcome=h.market.outcomes[h.position.outcome],
            shares=h.position.shares,
            net_cost=h.position.net_cost,
            value=position_value(h.market, h.position),
        )
        for h in holdings
    )
    return PortfolioShown(r.actor.user_id, account.balance, rows, page)


async def leaderboard(cmd: ShowLeaderboard, r: Request) -> Result:
    """Rank users by net worth: balance plus the value of their open positions."""
    worth: dict[int, int] = {}
    for h in await r.tx.positions.holdings(None):
        account = h.position.account_id
        worth[account] = worth.get(account, 0) + position_value(h.market, h.position)
    accounts = await r.tx.accounts.users()
    ranked = sorted(
        accounts, key=lambda a: (-(a.balance + worth.get(a.id, 0)), a.display_name.casefold())
    )
    rows = tuple(
        LeaderboardRow(
            rank=n + 1,
            user_id=a.user_id or "",
            display_name=a.display_name,
            balance=a.balance,
            net_worth=a.balance + worth.get(a.id, 0),
        )
        for n, a in enumerate(ranked[:LEADERBOARD_SIZE])
    )
    return LeaderboardShown(rows)


async def daily(cmd: ClaimDaily, r: Request) -> Result:
    """Pay today's allowance, once per day in the community's timezone."""
    settings = r.settings
    account = await r.tx.accounts.ensure(r.actor.user_id, r.actor.display_name)
    local_now = r.now.astimezone(zoneinfo.ZoneInfo(settings.timezone))
    tomorrow = (local_now + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    next_at = tomorrow.astimezone(r.now.tzinfo)
    if settings.daily_allowance <= 0:
        raise NotAllowed("This community has no daily allowance.")
    if not await r.tx.accounts.claim_daily(account.id, local_now.date().isoformat()):
        raise NotAllowed(
            f"You already claimed today's allowance. The next one is available from "
            f"{format_utc(next_at)}."
        )
    await r.tx.ledger.transfer(
        r.tx.community.house_account_id, account.id, settings.daily_allowance, EntryKind.DAILY
    )
    return DailyClaimed(
        settings.daily_allowance, account.balance + settings.daily_allowance, next_at
    )
