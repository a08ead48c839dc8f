"""Settle markets: resolve (voiding trades made after the outcome was known), cancel, and
unresolve. These decide who gets what (docs/rules.md); storage executes it set-based."""

from __future__ import annotations

import re
from datetime import datetime

from bot.core import lmsr, pool
from bot.core.commands import CancelMarket, ResolveMarket, UnresolveMarket
from bot.core.errors import InvalidInput, MarketNotOpen, NotAllowed
from bot.core.models import (
    UNSETTLED,
    AnnouncementKind,
    EntryKind,
    Market,
    Mechanism,
    Transfer,
)
from bot.core.timeparse import format_local, parse_when
from bot.core.usecases._shared import Request, outcome_index, outcome_name
from bot.core.usecases.creation import NA_WORDS
from bot.core.views import MarketCancelled, MarketResolved, MarketUnresolved, Payout, Result

TOP_WINNERS = 5
# What a settlement pays users with, all of which an unresolve takes back exactly. Voids are
# not among them: they stand (the trades were made after the outcome was public).
SETTLEMENT_KINDS = (EntryKind.PAYOUT, EntryKind.REFUND, EntryKind.CLAWBACK, EntryKind.RETURN)


async def resolve(cmd: ResolveMarket, r: Request) -> Result:
    """Pay the winners of an outcome (`na` cancels), voiding trades after `known`."""
    market = await _settleable(r, cmd.market, "resolve")
    if cmd.outcome.strip().casefold() in NA_WORDS:
        return await _cancel(r, market)
    i = outcome_index(market, cmd.outcome)
    evidence = cmd.evidence
    if evidence is not None and not re.match(r"https?://\S+$", evidence):
        raise InvalidInput("Evidence must be a link starting with http:// or https://.")
    known = _known_at(cmd.known, market, r)
    market.known_at = known
    batch = market.open_settlement()
    voided = await void_after(r, market, known, batch) if known else 0
    # An unresolve brings the escrow back to this: after the voids, before the payouts.
    market.escrow_before = await r.tx.accounts.balance(market.escrow_account_id)
    ledger = r.tx.ledger
    if market.mechanism == Mechanism.LMSR:
        await ledger.pay_per_share(market, i, batch)
    else:
        stakes = await r.tx.positions.winning_stakes(market.id, i)
        if stakes and sum(s for _, s in stakes) > 0:
            payouts = pool.split_pot(sum(market.q), stakes)
            transfers = [
                Transfer(market.escrow_account_id, a, amount)
                for a, amount in payouts.items()
                if amount > 0
            ]
            await ledger.transfer_many(transfers, EntryKind.PAYOUT, market.id, batch)
        else:  # nobody backed the winner: everyone gets their stake back
            await ledger.pay_net_cost(market, batch)
    await _return_subsidy(r, market, batch)
    await _sweep(r, market, 0, batch)
    summary = await ledger.summary(batch, TOP_WINNERS)
    market.resolve(i, evidence, r.now)
    await r.tx.markets.save(market)
    result = MarketResolved(
        card=r.card(market),
        outcome=market.outcomes[i],
        evidence=evidence,
        total_paid=summary.total,
        winners=tuple(Payout(u, n, a) for u, n, a in summary.top if a > 0),
        voided_trades=voided,
        debts=await _debts(r, batch),
    )
    await r.announce(AnnouncementKind.RESOLVED, market, result, str(market.settlement))
    return result


async def cancel(cmd: CancelMarket, r: Request) -> Result:
    """Cancel a market (N/A) and refund everyone's net spend."""
    return await _cancel(r, await _settleable(r, cmd.market, "cancel"))


async def _cancel(r: Request, market: Market) -> Result:
    batch = market.open_settlement()
    market.escrow_before = await r.tx.accounts.balance(market.escrow_account_id)
    # Net spend back to everyone; sale profit is clawed back in full, into debt if need be.
    await r.tx.ledger.pay_net_cost(market, batch)
    await _return_subsidy(r, market, batch)
    await _sweep(r, market, 0, batch)
    summary = await r.tx.ledger.summary(batch, TOP_WINNERS)
    market.cancel(r.now)
    await r.tx.markets.save(market)
    result = MarketCancelled(
        card=r.card(market),
        total_refunded=summary.total,
        accounts_refunded=summary.accounts,
        debts=await _debts(r, batch),
    )
    await r.announce(AnnouncementKind.CANCELLED, market, result, str(market.settlement))
    return result


async def unresolve(cmd: UnresolveMarket, r: Request) -> Result:
    """Take a settlement back exactly, whether or not its payouts were spent."""
    market = await r.market(cmd.market, lock=True)
    if not r.is_moderator:
        raise NotAllowed("Only a moderator may unresolve a market.")
    if not market.settled:
        raise MarketNotOpen(f"Market #{market.number} is {market.status}, not resolved.")
    previous = outcome_name(market, market.resolution) or "?"
    batch, undo = market.settlement_batch, market.undo_batch
    await r.tx.ledger.reverse(market, batch, SETTLEMENT_KINDS, undo)
    await _sweep(r, market, market.escrow_before, undo)
    summary = await r.tx.ledger.summary(undo, 0)
    market.unresolve()
    await r.tx.markets.save(market)
    result = MarketUnresolved(r.card(market), previous, -summary.total, await _debts(r, undo))
    await r.announce(AnnouncementKind.UNRESOLVED, market, result, str(market.settlement))
    return result


async def _settleable(r: Request, number: int, verb: str) -> Market:
    """Lock a market the user may resolve or cancel now, or refuse: a moderator may, and so
    may the creator while holding no position in it."""
    market = await r.market(number, lock=True)
    account = await r.tx.accounts.find(r.actor.user_id)
    held = bool(
        account and any(p.shares > 0 for p in await r.tx.positions.of(market.id, account.id))
    )
    creator = market.creator_user == r.actor.user_id and not held
    if not (r.is_moderator or creator):
        raise NotAllowed(
            f"Only a moderator may {verb} this market (its creator may too, "
            "but only while holding no position in it)."
        )
    if market.status not in UNSETTLED:
        raise MarketNotOpen(
            f"Market #{market.number} is already {market.status}. "
            "A moderator can `unresolve` it first."
        )
    return market


def _known_at(text: str | None, market: Market, r: Request) -> datetime | None:
    if text is None:
        return None
    known = parse_when(text, r.now, r.settings.timezone, r.settings.date_order)
    if known > r.now:
        shown = format_local(known, r.settings.timezone)
        raise InvalidInput(f"known: {shown} is in the future; it must be past.")
    return max(known, market.created_at)


async def void_after(r: Request, market: Market, known: datetime, batch: str) -> int:
    """Void every trade placed after the outcome became public; return how many.

    Each user's voided trades are reversed as one unit: the user gets back what those
    purchases cost minus what those sales paid, or pays back the difference (into debt if
    need be), so they end exactly where they would be had they never made them; their
    positions and the market's outstanding shares lose the voided trades' shares."""
    trades = await r.tx.trades.after(market.id, known)
    if not trades:
        return 0
    net: dict[int, int] = {}  # account → points owed back to it (negative: it owes)
    moved: dict[tuple[int, int], tuple[int, int]] = {}  # (account, outcome) → shares, cost
    for trade in trades:
        sign = 1 if trade.side == "buy" else -1
        net[trade.account_id] = net.get(trade.account_id, 0) + sign * trade.amount
        key = (trade.account_id, trade.outcome)
        shares, cost = moved.get(key, (0, 0))
        moved[key] = (shares + sign * trade.shares, cost + sign * trade.amount)
        market.q[trade.outcome] -= sign * trade.shares
        market.volume -= trade.amount
    voided = {trade.id for trade in trades if trade.id is not None}
    await r.tx.trades.void(sorted(voided))
    still_trading: set[int] = set()
    for position in await r.tx.positions.of_accounts(market.id, sorted(net)):
        shares, cost = moved.get((position.account_id, position.outcome), (0, 0))
        if shares or cost or position.first_trade_id in voided:
            position.shares -= shares
            position.net_cost -= cost
            if position.first_trade_id in voided:
                position.first_trade_id = await r.tx.trades.first_standing_buy(
                    market.id, position.account_id, position.outcome
                )
            await r.tx.positions.save(position)
        if position.first_trade_id is not None:
            still_trading.add(position.account_id)
    market.traders -= len(set(net) - still_trading)
    escrow = market.escrow_account_id
    transfers = [
        Transfer(escrow, account, owed) if owed > 0 else Transfer(account, escrow, -owed)
        for account, owed in sorted(net.items())
        if owed != 0
    ]
    await r.tx.ledger.transfer_many(transfers, EntryKind.VOID, market.id, batch)
    return len(trades)


async def _return_subsidy(r: Request, market: Market, batch: str) -> None:
    """Give the creator their share of what the subsidy did not lose (the house's share goes
    back with the sweep): the escrow left after payouts, pro rata to what each funded, the
    creator's share rounded down."""
    if market.creator_subsidy <= 0:
        return
    left = await r.tx.accounts.balance(market.escrow_account_id)
    total = lmsr.subsidy(market.liquidity, len(market.outcomes))
    share = left * market.creator_subsidy // total
    if share > 0:
        await r.tx.ledger.transfer(
            market.escrow_account_id,
            market.creator_account_id,
            share,
            EntryKind.RETURN,
            market_id=market.id,
            batch=batch,
        )


async def _sweep(r: Request, market: Market, target: int, batch: str) -> None:
    """Move points between the escrow and the house so that the escrow holds `target`."""
    excess = await r.tx.accounts.balance(market.escrow_account_id) - target
    house = r.tx.community.house_account_id
    escrow = market.escrow_account_id
    if excess:
        source, sink = (escrow, house) if excess > 0 else (house, escrow)
        await r.tx.ledger.transfer(
            source, sink, abs(excess), EntryKind.SWEEP, market_id=market.id, batch=batch
        )


async def _debts(r: Request, batch: str) -> tuple[Payout, ...]:
    return tuple(Payout(u, n, b) for u, n, b in await r.tx.ledger.debtors(batch))
