"""Trades: every buy and sell, voided when placed after an outcome became public."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, select, update

from bot.core.models import Trade
from storage import tables as t
from storage.rows import aware
from storage.session import Session

_TRADE_INSERT = t.trade.insert().returning(t.trade.c.id)


class SqlTrades:
    """Implements `bot.core.ports.Trades`."""

    def __init__(self, tx: Session) -> None:
        self.tx = tx

    async def add(self, trade: Trade) -> int:
        """Store a trade and return its id."""
        values = {
            "market_id": trade.market_id,
            "account_id": trade.account_id,
            "outcome": trade.outcome,
            "side": trade.side,
            "amount": trade.amount,
            "shares": trade.shares,
            "prob_before": trade.prob_before,
            "prob_after": trade.prob_after,
            "created_at": trade.created_at,
            "request_id": trade.request_id,
            "voided": False,
            "probs_json": json.dumps(list(trade.probs)),
        }
        return int((await self.tx.exec(_TRADE_INSERT, values)).scalar_one())

    async def after(self, market_id: int, when: datetime) -> list[Trade]:
        """Return the market's unvoided trades placed after a time, newest first."""
        tr = t.trade
        rows = await self.tx.exec(
            select(tr)
            .where(tr.c.market_id == market_id, tr.c.created_at > when, tr.c.voided.is_(False))
            .order_by(tr.c.id.desc())
        )
        return [
            Trade(
                market_id=r.market_id,
                account_id=r.account_id,
                outcome=r.outcome,
                side=r.side,
                amount=r.amount,
                shares=r.shares,
                prob_before=r.prob_before,
                prob_after=r.prob_after,
                created_at=aware(r.created_at),
                request_id=r.request_id,
                id=r.id,
                probs=tuple(json.loads(r.probs_json)),
            )
            for r in rows
        ]

    async def void(self, trade_ids: Sequence[int]) -> None:
        """Mark trades as voided."""
        tr = t.trade
        await self.tx.exec(
            update(tr).where(tr.c.id.in_(list(trade_ids))).values(voided=True), bulk=True
        )

    async def first_standing_buy(self, market_id: int, account_id: int, outcome: int) -> int | None:
        """Return the id of an account's earliest unvoided purchase of an outcome."""
        tr = t.trade
        value = (
            await self.tx.exec(
                select(func.min(tr.c.id)).where(
                    tr.c.market_id == market_id,
                    tr.c.account_id == account_id,
                    tr.c.outcome == outcome,
                    tr.c.side == "buy",
                    tr.c.voided.is_(False),
                )
            )
        ).scalar()
        return None if value is None else int(value)
