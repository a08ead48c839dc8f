"""The ledger: every movement of points is an entry, applied to the cached balances.

Settlements run set-based: one `INSERT … SELECT` writes a batch's entries, one `UPDATE` applies
the batch to the balances. What to pay is the core's decision (`bot/core/usecases/
settlement.py`); this module only executes it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import bindparam, func, literal, select, union_all, update

from bot.core.models import AccountKind, EntryKind, Market, Transfer
from bot.core.ports import BatchSummary
from storage import tables as t
from storage.session import Session

# What a settlement summary counts as paid to (or taken from) users.
_SUMMED = (EntryKind.PAYOUT, EntryKind.REFUND, EntryKind.CLAWBACK, EntryKind.REVERSE)

_DEBIT = (
    update(t.account)
    .where(t.account.c.id == bindparam("p_id"))
    .values(balance=t.account.c.balance - bindparam("p_amount"))
    .returning(t.account.c.balance)
)
_DEBIT_FUNDED = _DEBIT.where(t.account.c.balance >= bindparam("p_amount"))
_CREDIT = (
    update(t.account)
    .where(t.account.c.id == bindparam("p_id"))
    .values(balance=t.account.c.balance + bindparam("p_amount"))
)
_LEDGER_INSERT = t.ledger.insert()


async def debit(tx: Session, account_id: int, amount: int, *, require_funds: bool) -> int | None:
    """Take points from an account; return its new balance, or None if refused/missing."""
    statement = _DEBIT_FUNDED if require_funds else _DEBIT
    row = (await tx.exec(statement, {"p_id": account_id, "p_amount": amount})).first()
    return None if row is None else int(row.balance)


class SqlLedger:
    """Implements `bot.core.ports.Ledger`."""

    def __init__(self, tx: Session) -> None:
        self.tx = tx

    async def transfer(
        self,
        from_account: int,
        to_account: int,
        amount: int,
        kind: EntryKind,
        *,
        market_id: int | None = None,
        trade_id: int | None = None,
        batch: str | None = None,
        require_funds: bool = False,
    ) -> bool:
        """Move points; with require_funds, refuse (return False) rather than overdraw."""
        if amount <= 0:
            raise ValueError("transfers move a positive amount")
        if await debit(self.tx, from_account, amount, require_funds=require_funds) is None:
            if require_funds:
                return False
            raise LookupError(f"no account {from_account}")
        await self.credit_and_record(
            from_account, to_account, amount, kind, market_id, trade_id, batch
        )
        return True

    async def credit_and_record(
        self,
        from_account: int,
        to_account: int,
        amount: int,
        kind: EntryKind,
        market_id: int | None,
        trade_id: int | None = None,
        batch: str | None = None,
    ) -> None:
        """Credit an amount already debited and write its ledger entry."""
        await self.tx.exec(_CREDIT, {"p_id": to_account, "p_amount": amount})
        await self.tx.exec(
            _LEDGER_INSERT,
            {
                "community_id": self.tx.community.id,
                "from_account": from_account,
                "to_account": to_account,
                "amount": amount,
                "kind": kind,
                "market_id": market_id,
                "trade_id": trade_id,
                "batch": batch,
                "created_at": self.tx.now,
            },
        )

    async def transfer_many(
        self, transfers: Sequence[Transfer], kind: EntryKind, market_id: int, batch: str
    ) -> None:
        """Move points in many pairs at once, set-based."""
        if not transfers:
            return
        now = self.tx.now
        await self.tx.exec(
            _LEDGER_INSERT,
            [
                {
                    "community_id": self.tx.community.id,
                    "from_account": x.from_account,
                    "to_account": x.to_account,
                    "amount": x.amount,
                    "kind": kind,
                    "market_id": market_id,
                    "trade_id": None,
                    "batch": batch,
                    "created_at": now,
                }
                for x in transfers
            ],
            bulk=True,
        )
        await self._apply(batch, (kind,))

    async def pay_per_share(self, market: Market, outcome: int, batch: str) -> None:
        """Pay every holder of an outcome one point per share from escrow, set-based."""
        p = t.position
        query = select(
            literal(market.escrow_account_id).label("f"),
            p.c.account_id.label("to"),
            p.c.shares.label("amount"),
        ).where(p.c.market_id == market.id, p.c.outcome == outcome, p.c.shares > 0)
        await self._insert_from(query, EntryKind.PAYOUT, market, batch)
        await self._apply(batch, (EntryKind.PAYOUT,))

    async def pay_net_cost(self, market: Market, batch: str) -> None:
        """Pay every account its net cost from escrow; take a negative one back in full."""
        p = t.position
        net = (
            select(p.c.account_id, func.sum(p.c.net_cost).label("net"))
            .where(p.c.market_id == market.id)
            .group_by(p.c.account_id)
            .subquery()
        )
        escrow = literal(market.escrow_account_id)
        refunds = select(
            escrow.label("f"), net.c.account_id.label("to"), net.c.net.label("amount")
        ).where(net.c.net > 0)
        await self._insert_from(refunds, EntryKind.REFUND, market, batch)
        clawbacks = select(
            net.c.account_id.label("f"), escrow.label("to"), (-net.c.net).label("amount")
        ).where(net.c.net < 0)
        await self._insert_from(clawbacks, EntryKind.CLAWBACK, market, batch)
        await self._apply(batch, (EntryKind.REFUND, EntryKind.CLAWBACK))

    async def reverse(
        self, market: Market, batch: str, kinds: Sequence[EntryKind], new_batch: str
    ) -> None:
        """Move every user's net amount of some kinds in a batch back, exactly."""
        net = self._user_net(batch, kinds)
        escrow = literal(market.escrow_account_id)
        take = select(net.c.acc.label("f"), escrow.label("to"), net.c.net.label("amount")).where(
            net.c.net > 0
        )
        await self._insert_from(take, EntryKind.REVERSE, market, new_batch)
        give = select(escrow.label("f"), net.c.acc.label("to"), (-net.c.net).label("amount")).where(
            net.c.net < 0
        )
        await self._insert_from(give, EntryKind.REVERSE, market, new_batch)
        await self._apply(new_batch, (EntryKind.REVERSE,))

    async def summary(self, batch: str, top: int) -> BatchSummary:
        """Sum a batch's movements to and from user accounts."""
        net = self._user_net(batch, _SUMMED)
        totals = (
            await self.tx.exec(
                select(func.coalesce(func.sum(net.c.net), 0), func.count()).where(net.c.net != 0),
                bulk=True,
            )
        ).one()
        best: tuple[tuple[str, str, int], ...] = ()
        if top > 0:
            rows = await self.tx.exec(
                select(t.account.c.user_id, t.account.c.display_name, net.c.net)
                .join(t.account, t.account.c.id == net.c.acc)
                .order_by(net.c.net.desc(), t.account.c.id)
                .limit(top),
                bulk=True,
            )
            best = tuple((r.user_id, r.display_name, int(r.net)) for r in rows)
        return BatchSummary(int(totals[0]), int(totals[1]), best)

    async def debtors(self, batch: str) -> list[tuple[str, str, int]]:
        """Return the users a batch moved points of who are now in debt, deepest first."""
        le, a = t.ledger, t.account
        touched = union_all(
            select(le.c.to_account.label("acc")).where(le.c.batch == batch),
            select(le.c.from_account.label("acc")).where(le.c.batch == batch),
        ).subquery()
        rows = await self.tx.exec(
            select(a.c.user_id, a.c.display_name, a.c.balance)
            .where(a.c.id.in_(select(touched.c.acc)), a.c.kind == AccountKind.USER, a.c.balance < 0)
            .order_by(a.c.balance, a.c.id)
        )
        return [(str(r.user_id), r.display_name, int(r.balance)) for r in rows]

    # -- set-based plumbing ----------------------------------------------------------------

    def _sides(self, batch: str, kinds: Sequence[EntryKind]) -> Any:
        """Each entry of some kinds in a batch as (account, +amount) and (account, −amount)."""
        le = t.ledger
        return union_all(
            select(le.c.to_account.label("acc"), le.c.amount.label("delta")).where(
                le.c.batch == batch, le.c.kind.in_(kinds)
            ),
            select(le.c.from_account.label("acc"), (-le.c.amount).label("delta")).where(
                le.c.batch == batch, le.c.kind.in_(kinds)
            ),
        ).subquery()

    def _user_net(self, batch: str, kinds: Sequence[EntryKind]) -> Any:
        """A subquery of (acc, net) for user accounts in a batch."""
        sides, a = self._sides(batch, kinds), t.account
        return (
            select(sides.c.acc, func.sum(sides.c.delta).label("net"))
            .join(a, a.c.id == sides.c.acc)
            .where(a.c.kind == AccountKind.USER)
            .group_by(sides.c.acc)
            .subquery()
        )

    async def _apply(self, batch: str, kinds: Sequence[EntryKind]) -> None:
        """Apply a batch's entries of some kinds to the cached balances, in one UPDATE."""
        sides = self._sides(batch, kinds)
        deltas = (
            select(sides.c.acc, func.sum(sides.c.delta).label("delta"))
            .group_by(sides.c.acc)
            .subquery()
        )
        await self.tx.exec(
            update(t.account)
            .where(t.account.c.id == deltas.c.acc)
            .values(balance=t.account.c.balance + deltas.c.delta),
            bulk=True,
        )

    async def _insert_from(self, query: Any, kind: EntryKind, market: Market, batch: str) -> None:
        """INSERT … SELECT ledger entries of a market's batch: the query yields f, to, amount."""
        sub = query.subquery()
        stamp = literal(self.tx.now, type_=t.ledger.c.created_at.type)
        columns = ["community_id", "from_account", "to_account", "amount", "kind"]
        columns += ["market_id", "batch", "created_at"]
        await self.tx.exec(
            t.ledger.insert().from_select(
                columns,
                select(
                    literal(self.tx.community.id),
                    sub.c.f,
                    sub.c.to,
                    sub.c.amount,
                    literal(str(kind)),
                    literal(market.id),
                    literal(batch),
                    stamp,
                ),
            ),
            bulk=True,
        )
