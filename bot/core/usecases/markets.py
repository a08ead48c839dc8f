"""Look at markets and move their deadlines: list, show, close, extend, overdue, and the
scheduler's closes at the deadline."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timedelta

from bot.core import serialize
from bot.core.commands import CloseMarket, ExtendMarket, ListMarkets, ListOverdue, ShowMarket
from bot.core.errors import InvalidInput, MarketNotOpen, NotAllowed
from bot.core.models import (
    STATUSES,
    UNSETTLED,
    AnnouncementKind,
    Community,
    Market,
    MarketStatus,
)
from bot.core.ports import Announcement, DueClose
from bot.core.timeparse import format_utc
from bot.core.usecases._paging import FAILED_SHOWN, LIST_PAGE, OVERDUE_PAGE, page_of
from bot.core.usecases._shared import Request, card_of, deadline
from bot.core.views import (
    MarketClosed,
    MarketExtended,
    MarketList,
    MarketShown,
    OverdueShown,
    ResolutionReminder,
    Result,
)

# A market closed more than this after its deadline was closed late (the bot was down).
LATE_AFTER = timedelta(seconds=60)


async def list_markets(cmd: ListMarkets, r: Request) -> Result:
    """List the community's markets with a status, newest first."""
    status = cmd.status.lower()
    if status != "all" and status not in STATUSES:
        raise InvalidInput(f"Unknown status `{cmd.status}`. Use open, closed, resolved or all.")
    statuses = list(STATUSES) if status == "all" else [MarketStatus(status)]
    which = "" if status == "all" else f"{status} "
    total = await r.tx.markets.count(statuses)
    page = page_of(cmd.page, LIST_PAGE, total, f"{which}market", f"{which}markets")
    markets = await r.tx.markets.with_status(statuses, page.size, page.offset)
    return MarketList(status, tuple(r.card(m) for m in markets), page)


async def show(cmd: ShowMarket, r: Request) -> Result:
    """Show one market's card."""
    return MarketShown(r.card(await r.market(cmd.market)))


async def close(cmd: CloseMarket, r: Request) -> Result:
    """Close a market early (its creator or a moderator)."""
    market = await r.market(cmd.market, lock=True)
    if market.creator_user != r.actor.user_id and not r.is_moderator:
        raise NotAllowed("Only the market's creator or a moderator may close it early.")
    if market.status != MarketStatus.OPEN:
        raise MarketNotOpen(f"Market #{market.number} is already {market.status}.")
    return await close_now(r, market)


async def close_now(r: Request, market: Market, *, automatic: bool = False) -> MarketClosed:
    """Close an open market in this transaction and announce it."""
    late = automatic and r.now - market.closes_at > LATE_AFTER
    market.close(r.now, late=late)
    await r.tx.markets.save(market)
    result = closed_result(market, r.tx.community, late=late, automatic=automatic)
    assert market.closed_at is not None
    await r.announce(AnnouncementKind.CLOSED, market, result, market.closed_at.isoformat())
    return result


def closed_result(
    market: Market, community: Community, *, late: bool, automatic: bool
) -> MarketClosed:
    """What a close announces: the card and who may now resolve the market."""
    resolvers = (market.creator_user, *community.settings.moderators)
    return MarketClosed(
        card_of(market, community), late=late, resolvers=resolvers, automatic=automatic
    )


async def close_if_due(r: Request, number: int) -> MarketClosed | None:
    """Close a market whose deadline has passed; None if it is not due or not open."""
    market = await r.tx.markets.get(number, lock=True)
    if market is None or market.status != MarketStatus.OPEN or market.closes_at > r.now:
        return None
    return await close_now(r, market, automatic=True)


def plan_due_closes(
    community: Community, markets: Sequence[Market], now: datetime
) -> list[DueClose]:
    """Decide how to close a batch of locked markets of one community whose deadline passed.

    Pure logic, no I/O: returns, per market still open and due at `now`, the closed market
    and the `closed` announcement exactly as `close_if_due` writes them (late when closed more
    than a minute after the deadline, automatic, the same dedupe key). The caller writes them
    all in one transaction."""
    closes: list[DueClose] = []
    for market in markets:
        if market.status != MarketStatus.OPEN or market.closes_at > now:
            continue
        late = now - market.closes_at > LATE_AFTER
        closed = replace(market, q=list(market.q))
        closed.close(now, late=late)
        assert closed.closed_at is not None
        result = closed_result(closed, community, late=late, automatic=True)
        key = f"m{closed.id}:{AnnouncementKind.CLOSED}:{closed.closed_at.isoformat()}"
        announcement = Announcement(AnnouncementKind.CLOSED, serialize.dumps(result), key)
        closes.append(DueClose(closed, result, (announcement,)))
    return closes


def reminder_payload(market: Market, community: Community, due_since: datetime) -> str:
    """Encode the reminder of a closed market for the people who may resolve it: its creator
    and the configured moderators."""
    resolvers = tuple(dict.fromkeys((market.creator_user, *community.settings.moderators)))
    return serialize.dumps(ResolutionReminder(card_of(market, community), due_since, resolvers))


async def extend(cmd: ExtendMarket, r: Request) -> Result:
    """Move a market's deadline later, reopening it if it had closed."""
    market = await r.market(cmd.market, lock=True)
    if market.creator_user != r.actor.user_id and not r.is_moderator:
        raise NotAllowed("Only the market's creator or a moderator may change its deadline.")
    if market.status not in UNSETTLED:
        raise MarketNotOpen(
            f"Market #{market.number} is {market.status}; its deadline can't change."
        )
    when = deadline(cmd.closes, r.settings, r.now)
    if market.status == MarketStatus.OPEN and when <= market.closes_at:
        raise InvalidInput(
            f"Market #{market.number} already closes at {format_utc(market.closes_at)}; "
            "extend moves the deadline later (use `close` to end it now)."
        )
    previous = market.closes_at
    market.extend(when)
    await r.tx.markets.save(market)
    result = MarketExtended(r.card(market), previous)
    await r.announce(AnnouncementKind.EXTENDED, market, result, when.isoformat())
    return result


async def overdue(cmd: ListOverdue, r: Request) -> Result:
    """List closed markets waiting for a resolution, and undelivered announcements."""
    if not r.is_moderator:
        raise NotAllowed("Only moderators may list overdue markets.")
    total = await r.tx.markets.count([MarketStatus.CLOSED])
    page = page_of(
        cmd.page,
        OVERDUE_PAGE,
        total,
        "market waiting for a resolution",
        "markets waiting for a resolution",
    )
    markets = await r.tx.markets.overdue(page.size, page.offset)
    cards = tuple(r.card(m) for m in markets)
    if page.number > 1:  # the undelivered announcements are listed on the first page
        return OverdueShown(cards, page=page)
    failed = await r.tx.outbox.failed(FAILED_SHOWN)
    return OverdueShown(cards, tuple(failed), page, await r.tx.outbox.count_failed())
