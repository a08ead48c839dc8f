"""Markets: numbered per community, each with an escrow account of its own."""

from __future__ import annotations

import json
from collections.abc import Sequence

from sqlalchemy import bindparam, func, select, update

from bot.core.models import AccountKind, Market, MarketStatus
from bot.core.ports import MarketDraft
from storage import tables as t
from storage.rows import market_of
from storage.session import Session

_MARKET_BY_NUMBER = select(t.market).where(
    t.market.c.community_id == bindparam("p_community"),
    t.market.c.number == bindparam("p_number"),
)
_MARKET_BY_NUMBER_LOCKED = _MARKET_BY_NUMBER.with_for_update()
_MARKET_UPDATE = update(t.market).where(t.market.c.id == bindparam("p_id"))


class SqlMarkets:
    """Implements `bot.core.ports.Markets`."""

    def __init__(self, tx: Session) -> None:
        self.tx = tx

    async def get(self, number: int, *, lock: bool = False) -> Market | None:
        """Return a market by its number, locked for update when asked (PostgreSQL; SQLite
        writers hold the database lock already)."""
        query = _MARKET_BY_NUMBER_LOCKED if lock and not self.tx.store.sqlite else _MARKET_BY_NUMBER
        params = {"p_community": self.tx.community.id, "p_number": number}
        row = (await self.tx.exec(query, params)).first()
        return None if row is None else market_of(row)

    async def with_status(
        self, statuses: Sequence[MarketStatus], limit: int, offset: int = 0
    ) -> list[Market]:
        """Return markets with one of the statuses, newest first: `limit` of them, after
        skipping the first `offset`."""
        m = t.market
        rows = await self.tx.exec(
            select(m)
            .where(m.c.community_id == self.tx.community.id, m.c.status.in_(list(statuses)))
            .order_by(m.c.number.desc())
            .limit(limit)
            .offset(offset)
        )
        return [market_of(r) for r in rows]

    async def count(self, statuses: Sequence[MarketStatus]) -> int:
        """Return how many markets have one of the statuses."""
        m = t.market
        query = select(func.count()).where(
            m.c.community_id == self.tx.community.id, m.c.status.in_(list(statuses))
        )
        return int((await self.tx.exec(query)).scalar_one())

    async def overdue(self, limit: int | None = None, offset: int = 0) -> list[Market]:
        """Return closed, unresolved markets, oldest deadline first (then by number): `limit`
        of them (None: all), after skipping the first `offset`."""
        m = t.market
        rows = await self.tx.exec(
            select(m)
            .where(m.c.community_id == self.tx.community.id, m.c.status == MarketStatus.CLOSED)
            .order_by(m.c.closes_at, m.c.number)
            .limit(limit)
            .offset(offset)
        )
        return [market_of(r) for r in rows]

    async def add(self, draft: MarketDraft) -> Market:
        """Store a new market with the next number and its own escrow account."""
        tx = self.tx
        number = (
            await tx.exec(
                update(t.community)
                .where(t.community.c.id == tx.community.id)
                .values(next_market_number=t.community.c.next_market_number + 1)
                .returning(t.community.c.next_market_number)
            )
        ).scalar_one() - 1
        escrow = (
            await tx.exec(
                t.account.insert()
                .values(
                    community_id=tx.community.id,
                    kind=AccountKind.ESCROW,
                    user_id=None,
                    display_name=f"escrow #{number}",
                    balance=0,
                    created_at=tx.now,
                )
                .returning(t.account.c.id)
            )
        ).scalar_one()
        market = Market(
            id=0,
            community_id=tx.community.id,
            number=number,
            question=draft.question,
            criteria=draft.criteria,
            outcomes=draft.outcomes,
            mechanism=draft.mechanism,
            liquidity=draft.liquidity,
            creator_account_id=draft.creator_account_id,
            creator_user=draft.creator_user,
            created_at=draft.created_at,
            closes_at=draft.closes_at,
            status=MarketStatus.OPEN,
            escrow_account_id=escrow,
            q=[0] * len(draft.outcomes),
            channel=draft.channel,
            creator_subsidy=draft.creator_subsidy,
        )
        market.id = (
            await tx.exec(
                t.market.insert()
                .values(
                    community_id=market.community_id,
                    number=number,
                    question=market.question,
                    criteria=market.criteria,
                    outcomes_json=json.dumps(list(market.outcomes)),
                    q_json=json.dumps(market.q),
                    mechanism=market.mechanism,
                    liquidity=market.liquidity,
                    creator_account_id=market.creator_account_id,
                    creator_user=market.creator_user,
                    escrow_account_id=escrow,
                    status=market.status,
                    created_at=market.created_at,
                    closes_at=market.closes_at,
                    channel=market.channel,
                    creator_subsidy=market.creator_subsidy,
                )
                .returning(t.market.c.id)
            )
        ).scalar_one()
        return market

    async def save(self, market: Market) -> None:
        """Write a market's mutable fields back."""
        await self.tx.exec(
            _MARKET_UPDATE,
            {
                "p_id": market.id,
                "status": market.status,
                "q_json": json.dumps(market.q),
                "volume": market.volume,
                "traders": market.traders,
                "closes_at": market.closes_at,
                "closed_at": market.closed_at,
                "resolved_at": market.resolved_at,
                "resolution": market.resolution,
                "evidence": market.evidence,
                "known_at": market.known_at,
                "settlement": market.settlement,
                "escrow_before": market.escrow_before,
                "card_ref": market.card_ref,
            },
        )
