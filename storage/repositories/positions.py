"""Positions: what each account holds in each outcome of each market."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import ColumnElement, bindparam, func, select, update

from bot.core.models import UNSETTLED, Holding, Market, Position
from storage import tables as t
from storage.rows import Fields, market_of, position_of
from storage.session import Session

_POSITIONS_OF = select(t.position).where(
    t.position.c.market_id == bindparam("p_market"),
    t.position.c.account_id == bindparam("p_account"),
)
_POSITION_INSERT = t.position.insert().returning(t.position.c.id)
_POSITION_UPDATE = update(t.position).where(t.position.c.id == bindparam("p_id"))


class SqlPositions:
    """Implements `bot.core.ports.Positions`."""

    def __init__(self, tx: Session) -> None:
        self.tx = tx

    async def of(self, market_id: int, account_id: int) -> list[Position]:
        """Return an account's positions in a market."""
        rows = await self.tx.exec(_POSITIONS_OF, {"p_market": market_id, "p_account": account_id})
        return [position_of(r) for r in rows]

    async def of_accounts(self, market_id: int, account_ids: Sequence[int]) -> list[Position]:
        """Return the positions of some accounts in a market."""
        p = t.position
        rows = await self.tx.exec(
            select(p).where(p.c.market_id == market_id, p.c.account_id.in_(list(account_ids)))
        )
        return [position_of(r) for r in rows]

    async def save(self, position: Position) -> None:
        """Insert or update a position."""
        values = {
            "shares": position.shares,
            "net_cost": position.net_cost,
            "first_trade_id": position.first_trade_id,
        }
        if position.id is None:
            new = {
                "market_id": position.market_id,
                "account_id": position.account_id,
                "outcome": position.outcome,
                **values,
            }
            position.id = (await self.tx.exec(_POSITION_INSERT, new)).scalar_one()
        else:
            await self.tx.exec(_POSITION_UPDATE, {"p_id": position.id, **values})

    async def holdings(
        self, account_id: int | None = None, *, limit: int | None = None, offset: int = 0
    ) -> list[Holding]:
        """Return positions with shares in unsettled markets (of one account, or all users),
        by market number then outcome: `limit` of them (None: all), after skipping `offset`."""
        p, m = t.position, t.market
        query = (
            select(p, *[c.label(f"m_{c.name}") for c in m.c])
            .join(m, m.c.id == p.c.market_id)
            .where(*self._held(account_id))
            .order_by(m.c.number, p.c.outcome, p.c.id)
            .limit(limit)
            .offset(offset)
        )
        markets: dict[int, Market] = {}
        holdings: list[Holding] = []
        for row in await self.tx.exec(query):
            market = markets.get(row.market_id)
            if market is None:
                fields = {k[2:]: v for k, v in row._mapping.items() if str(k).startswith("m_")}
                market = markets[row.market_id] = market_of(Fields(fields))
            holdings.append(Holding(market, position_of(row)))
        return holdings

    async def count_holdings(self, account_id: int) -> int:
        """Return how many positions `holdings(account_id)` returns in all."""
        p, m = t.position, t.market
        query = (select(func.count()).select_from(p).join(m, m.c.id == p.c.market_id)).where(
            *self._held(account_id)
        )
        return int((await self.tx.exec(query)).scalar_one())

    def _held(self, account_id: int | None) -> list[ColumnElement[bool]]:
        """Conditions of a holding: shares in an unsettled market of the community (of one
        account, or of anyone)."""
        p, m = t.position, t.market
        held = [
            m.c.community_id == self.tx.community.id,
            m.c.status.in_(list(UNSETTLED)),
            p.c.shares > 0,
        ]
        if account_id is not None:
            held.append(p.c.account_id == account_id)
        return held

    async def winning_stakes(self, market_id: int, outcome: int) -> list[tuple[int, int]]:
        """Return (account id, stake) of an outcome's stakers, earliest stake first."""
        p = t.position
        rows = await self.tx.exec(
            select(p.c.account_id, p.c.shares)
            .where(p.c.market_id == market_id, p.c.outcome == outcome, p.c.shares > 0)
            .order_by(p.c.first_trade_id)
        )
        return [(r.account_id, r.shares) for r in rows]
