"""Trade: stake points on an outcome, sell shares back to the market maker."""

from __future__ import annotations

from bot.core import lmsr
from bot.core.commands import PlaceBet, SellShares
from bot.core.errors import InsufficientFunds, InvalidInput
from bot.core.models import EntryKind, Mechanism, Position, Trade
from bot.core.money import MICRO, points, ppm, shares_text
from bot.core.usecases._shared import Request, outcome_index, probabilities, require_trading
from bot.core.views import BetPlaced, Result, SharesSold

POINTS_MAX = 10**9


async def bet(cmd: PlaceBet, r: Request) -> Result:
    """Spend points on an outcome: LMSR shares at the market maker's price, or a pool stake."""
    if not 0 < cmd.points <= POINTS_MAX:
        raise InvalidInput(f"Bet a whole number of points between 1 and {POINTS_MAX:,}.")
    market = await r.market(cmd.market, lock=True)
    require_trading(market, r.now)
    i = outcome_index(market, cmd.outcome)
    amount = cmd.points * MICRO
    before = probabilities(market)[i]
    if market.mechanism == Mechanism.LMSR:
        shares = lmsr.shares_for_amount(market.q, market.liquidity, i, amount)
    else:
        shares = amount
    # Finds (or creates) the account and debits it: one statement for a known bettor.
    account, paid = await r.tx.accounts.spend(
        r.actor.user_id,
        r.actor.display_name,
        market.escrow_account_id,
        amount,
        EntryKind.BET,
        market_id=market.id,
    )
    if not paid:
        if account.balance < 0:
            raise InsufficientFunds(
                f"You are {points(-account.balance)} points in debt: you can't bet until your "
                "balance is above zero. `daily` pays the debt down, and so does selling shares."
            )
        raise InsufficientFunds(
            f"You have {account.balance // MICRO:,} points; this bet needs {cmd.points:,}."
        )
    held = await r.tx.positions.of(market.id, account.id)
    market.q[i] += shares
    market.volume += amount
    if not any(p.first_trade_id is not None for p in held):
        market.traders += 1  # positions emptied by voiding don't count
    after = probabilities(market)[i]
    trade_id = await r.tx.trades.add(
        Trade(
            market.id,
            account.id,
            i,
            "buy",
            amount,
            shares,
            ppm(before),
            ppm(after),
            r.now,
            r.ctx.request_id,
            probs=tuple(ppm(p) for p in probabilities(market)),
        )
    )
    position = next((p for p in held if p.outcome == i), None) or Position(market.id, account.id, i)
    position.shares += shares
    position.net_cost += amount
    if position.first_trade_id is None:
        position.first_trade_id = trade_id
    await r.tx.positions.save(position)
    await r.tx.markets.save(market)
    return BetPlaced(
        card=r.card(market),
        user_id=r.actor.user_id,
        outcome=market.outcomes[i],
        points=amount,
        shares=shares,
        prob_before=before,
        prob_after=after,
        balance=account.balance,  # read back by the debit, so never stale
    )


async def sell(cmd: SellShares, r: Request) -> Result:
    """Sell shares back to the LMSR market maker at its price, rounded down."""
    market = await r.market(cmd.market, lock=True)
    if market.mechanism == Mechanism.POOL:
        raise InvalidInput(
            f"Market #{market.number} is a pool market: stakes stay in until it resolves."
        )
    require_trading(market, r.now)
    i = outcome_index(market, cmd.outcome)
    account = await r.tx.accounts.ensure(r.actor.user_id, r.actor.display_name)
    position = next(
        (p for p in await r.tx.positions.of(market.id, account.id) if p.outcome == i), None
    )
    held = position.shares if position else 0
    wanted = held if cmd.micro_shares is None else cmd.micro_shares
    if held <= 0 or position is None:
        raise InsufficientFunds(
            f"You hold no shares of {market.outcomes[i]} in market #{market.number}."
        )
    if wanted <= 0:
        raise InvalidInput("Sell a positive number of shares, or `all`.")
    if wanted > held:
        raise InsufficientFunds(
            f"You hold {shares_text(held)} shares of {market.outcomes[i]} in market "
            f"#{market.number}; you asked to sell {shares_text(wanted)}."
        )
    before = probabilities(market)[i]
    proceeds = lmsr.proceeds_of_sale(market.q, market.liquidity, i, wanted)
    market.q[i] -= wanted
    market.volume += proceeds
    after = probabilities(market)[i]
    trade_id = await r.tx.trades.add(
        Trade(
            market.id,
            account.id,
            i,
            "sell",
            proceeds,
            wanted,
            ppm(before),
            ppm(after),
            r.now,
            r.ctx.request_id,
            probs=tuple(ppm(p) for p in probabilities(market)),
        )
    )
    if proceeds > 0:
        await r.tx.ledger.transfer(
            market.escrow_account_id,
            account.id,
            proceeds,
            EntryKind.SELL,
            market_id=market.id,
            trade_id=trade_id,
        )
    position.shares -= wanted
    position.net_cost -= proceeds
    await r.tx.positions.save(position)
    await r.tx.markets.save(market)
    return SharesSold(
        card=r.card(market),
        user_id=r.actor.user_id,
        outcome=market.outcomes[i],
        shares=wanted,
        proceeds=proceeds,
        prob_before=before,
        prob_after=after,
        balance=account.balance + proceeds,
    )
