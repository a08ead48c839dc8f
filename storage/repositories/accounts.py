"""Users' accounts: found, opened with the starting balance, debited for a bet."""

from __future__ import annotations

from typing import Any

from sqlalchemy import bindparam, or_, select, update

from bot.core.models import Account, AccountKind, EntryKind
from bot.core.ports import WriteRequired
from storage import tables as t
from storage.repositories.ledger import SqlLedger, debit
from storage.rows import account_of
from storage.session import Session

NAME_MAX = 100

_ACCOUNT_OF_USER = select(t.account).where(
    t.account.c.community_id == bindparam("p_community"),
    t.account.c.user_id == bindparam("p_user"),
)
_BALANCE = select(t.account.c.balance).where(t.account.c.id == bindparam("p_id"))


def _spend_statement(rename: bool) -> Any:
    """Debit a user's account found by user id if it holds enough (renaming it if asked)."""
    values: dict[str, Any] = {"balance": t.account.c.balance - bindparam("p_amount")}
    if rename:
        values["display_name"] = bindparam("p_name")
    return (
        update(t.account)
        .where(
            t.account.c.community_id == bindparam("p_community"),
            t.account.c.user_id == bindparam("p_user"),
            t.account.c.balance >= bindparam("p_amount"),
        )
        .values(**values)
        .returning(*t.account.c)
    )


# Hot-path statements, built once: SQLAlchemy caches their compiled form.
_SPEND = _spend_statement(rename=False)
_SPEND_RENAMED = _spend_statement(rename=True)


class SqlAccounts:
    """Implements `bot.core.ports.Accounts`."""

    def __init__(self, tx: Session, ledger: SqlLedger) -> None:
        self.tx = tx
        self.ledger = ledger

    async def find(self, user_id: str) -> Account | None:
        """Return the user's account if it exists."""
        params = {"p_community": self.tx.community.id, "p_user": user_id}
        row = (await self.tx.exec(_ACCOUNT_OF_USER, params)).first()
        return None if row is None else account_of(row)

    async def ensure(self, user_id: str, display_name: str) -> Account:
        """Return the user's account, creating it with the starting balance on first contact."""
        existing = await self.find(user_id)
        name = (display_name or user_id)[:NAME_MAX]
        if existing is not None:
            if display_name and existing.display_name != name and self.tx.write:
                existing.display_name = name
                await self.tx.exec(
                    update(t.account).where(t.account.c.id == existing.id).values(display_name=name)
                )
            return existing
        if not self.tx.write:
            raise WriteRequired(f"first contact of {user_id}")
        inserted = (
            await self.tx.exec(
                self.tx.insert(t.account)
                .values(
                    community_id=self.tx.community.id,
                    kind=AccountKind.USER,
                    user_id=user_id,
                    display_name=name,
                    balance=0,
                    created_at=self.tx.now,
                )
                .on_conflict_do_nothing()
                .returning(t.account.c.id)
            )
        ).first()
        if inserted is None:
            found = await self.find(user_id)
            assert found is not None
            return found
        grant = self.tx.community.settings.starting_balance
        if grant > 0:
            await self.ledger.transfer(
                self.tx.community.house_account_id, inserted.id, grant, EntryKind.GRANT
            )
        return Account(
            id=inserted.id,
            community_id=self.tx.community.id,
            kind=AccountKind.USER,
            user_id=user_id,
            display_name=name,
            balance=grant,
        )

    async def spend(
        self,
        user_id: str,
        display_name: str,
        to_account: int,
        amount: int,
        kind: EntryKind,
        *,
        market_id: int | None = None,
    ) -> tuple[Account, bool]:
        """Move points from a user's account unless it holds too few; see `Accounts.spend`."""
        if amount <= 0:
            raise ValueError("transfers move a positive amount")
        name = display_name[:NAME_MAX]
        # One statement finds, renames and debits an existing account with enough points.
        params = {
            "p_community": self.tx.community.id,
            "p_user": user_id,
            "p_amount": amount,
            "p_name": name,
        }
        row = (await self.tx.exec(_SPEND_RENAMED if name else _SPEND, params)).first()
        if row is not None:
            account = account_of(row)
        else:
            # A new account, or one with too few points: the general path.
            account = await self.ensure(user_id, display_name)
            balance = await debit(self.tx, account.id, amount, require_funds=True)
            if balance is None:
                return account, False
            account.balance = balance
        await self.ledger.credit_and_record(account.id, to_account, amount, kind, market_id)
        return account, True

    async def balance(self, account_id: int) -> int:
        """Return an account's current balance."""
        return int((await self.tx.exec(_BALANCE, {"p_id": account_id})).scalar_one())

    async def claim_daily(self, account_id: int, today: str) -> bool:
        """Mark today's allowance as taken; False if it already was."""
        a = t.account
        result = await self.tx.exec(
            update(a)
            .where(a.c.id == account_id, or_(a.c.last_daily.is_(None), a.c.last_daily < today))
            .values(last_daily=today)
        )
        return bool(result.rowcount == 1)

    async def users(self) -> list[Account]:
        """Return every user account of the community."""
        a = t.account
        rows = await self.tx.exec(
            select(a).where(a.c.community_id == self.tx.community.id, a.c.kind == AccountKind.USER)
        )
        return [account_of(r) for r in rows]
