"""The core's storage port on SQLAlchemy Core statements over SQLModel tables.

One `SqlTx` is one database transaction. Writers on SQLite queue on an in-process lock and
`BEGIN IMMEDIATE`; on PostgreSQL the market row is locked first (`FOR UPDATE`), account rows
are then changed by atomic `UPDATE`s, and deadlocks or serialization failures surface as
`TransientConflict` so the service retries the whole command.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import json
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Row,
    and_,
    bindparam,
    func,
    literal,
    or_,
    select,
    text,
    union_all,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot.core.errors import TransientConflict
from bot.core.models import (
    Account,
    Community,
    CommunitySettings,
    Holding,
    Market,
    Position,
    Trade,
    Transfer,
)
from bot.core.ports import BatchSummary, MarketDraft, MarketRef
from bot.core.views import FailedAnnouncement
from storage import tables as t
from storage.engine import READ_ONLY, is_sqlite, offloaded

RETRYABLE_SQLSTATES = {"40001", "40P01"}


def utc(value: datetime | None) -> datetime | None:
    """Read a stored time as timezone-aware UTC (SQLite drops the zone)."""
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _aware(value: datetime) -> datetime:
    result = utc(value)
    assert result is not None
    return result


def settings_to_json(settings: CommunitySettings) -> str:
    """Encode community settings for the settings column."""
    return json.dumps(dataclasses.asdict(settings), sort_keys=True)


@functools.lru_cache(maxsize=1024)
def settings_from_json(text_value: str, defaults: CommunitySettings) -> CommunitySettings:
    """Decode stored settings, filling anything missing from the defaults.

    Cached by the stored text: every transaction reads its community's row, and the settings
    are immutable, so one decoded copy per distinct text is shared."""
    stored = json.loads(text_value or "{}")
    known = {f.name for f in dataclasses.fields(CommunitySettings)}
    values = {k: (tuple(v) if isinstance(v, list) else v) for k, v in stored.items() if k in known}
    return dataclasses.replace(defaults, **values)  # type: ignore[arg-type]


def _market(row: Row[Any]) -> Market:
    return Market(
        id=row.id,
        community_id=row.community_id,
        number=row.number,
        question=row.question,
        criteria=row.criteria,
        outcomes=tuple(json.loads(row.outcomes_json)),
        mechanism=row.mechanism,
        liquidity=row.liquidity,
        creator_account_id=row.creator_account_id,
        creator_user=row.creator_user,
        created_at=_aware(row.created_at),
        closes_at=_aware(row.closes_at),
        status=row.status,
        escrow_account_id=row.escrow_account_id,
        q=list(json.loads(row.q_json)),
        volume=row.volume,
        traders=row.traders,
        channel=row.channel,
        card_ref=row.card_ref,
        closed_at=utc(row.closed_at),
        resolved_at=utc(row.resolved_at),
        resolution=row.resolution,
        evidence=row.evidence,
        known_at=utc(row.known_at),
        settlement=row.settlement,
        escrow_before=row.escrow_before,
        creator_subsidy=row.creator_subsidy,
    )


def _account(row: Row[Any]) -> Account:
    return Account(
        id=row.id,
        community_id=row.community_id,
        kind=row.kind,
        user_id=row.user_id,
        display_name=row.display_name,
        balance=row.balance,
        last_daily=row.last_daily,
    )


def _position(row: Row[Any]) -> Position:
    return Position(
        market_id=row.market_id,
        account_id=row.account_id,
        outcome=row.outcome,
        shares=row.shares,
        net_cost=row.net_cost,
        first_trade_id=row.first_trade_id,
        id=row.id,
    )


def is_retryable(error: DBAPIError) -> bool:
    """Tell whether a database error is a deadlock or serialization failure."""
    orig = error.orig
    code = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
    if code is None and orig is not None:
        code = getattr(getattr(orig, "__cause__", None), "sqlstate", None)
    return code in RETRYABLE_SQLSTATES


# Hot-path statements (a bet and a sale), built once and executed with parameter dicts:
# SQLAlchemy caches their compiled form, and nothing rebuilds `.where()`/`.values()` per call.
_COMMUNITY_BY_ID = select(t.community).where(t.community.c.id == bindparam("p_id"))
_MARKET_BY_NUMBER = select(t.market).where(
    t.market.c.community_id == bindparam("p_community"),
    t.market.c.number == bindparam("p_number"),
)
_MARKET_BY_NUMBER_LOCKED = _MARKET_BY_NUMBER.with_for_update()
_MARKET_UPDATE = update(t.market).where(t.market.c.id == bindparam("p_id"))
_ACCOUNT_OF_USER = select(t.account).where(
    t.account.c.community_id == bindparam("p_community"),
    t.account.c.user_id == bindparam("p_user"),
)
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


_SPEND = _spend_statement(rename=False)
_SPEND_RENAMED = _spend_statement(rename=True)
_LEDGER_INSERT = t.ledger.insert()
_POSITIONS_OF = select(t.position).where(
    t.position.c.market_id == bindparam("p_market"),
    t.position.c.account_id == bindparam("p_account"),
)
_POSITION_INSERT = t.position.insert().returning(t.position.c.id)
_POSITION_UPDATE = update(t.position).where(t.position.c.id == bindparam("p_id"))
_TRADE_INSERT = t.trade.insert().returning(t.trade.c.id)
_REQUEST_FINISH = update(t.request).where(
    t.request.c.community_id == bindparam("p_community"),
    t.request.c.request_id == bindparam("p_request"),
)
_REQUEST_RESULT = select(t.request.c.result_json).where(
    t.request.c.community_id == bindparam("p_community"),
    t.request.c.request_id == bindparam("p_request"),
)


class SqlStore:
    """Open transactions on a database; implements `bot.core.ports.Store`."""

    def __init__(
        self,
        engine: AsyncEngine,
        defaults: CommunitySettings | None = None,
        now: Any = None,
    ) -> None:
        self.engine = engine
        self.defaults = defaults or CommunitySettings()
        self.sqlite = is_sqlite(engine)
        self._write_lock = asyncio.Lock()
        self._community_ids: dict[tuple[str, str], int] = {}
        self._now = now or (lambda: datetime.now(UTC))
        self._claim_request = (
            self.insert(t.request).on_conflict_do_nothing().returning(t.request.c.id)
        )

    def insert(self, table: Any) -> Any:
        """Return a dialect-specific INSERT (for ON CONFLICT)."""
        if self.sqlite:
            return sqlite.insert(table)
        return postgresql.insert(table)

    @asynccontextmanager
    async def transaction(
        self, platform: str, community: str, *, write: bool
    ) -> AsyncIterator[SqlTx]:
        """Open a transaction on a community, creating the community on first contact.

        A writing transaction creates a new community inside itself, so a refused first
        request (rolled back) leaves no community behind."""
        key = (platform, community)
        community_id = self._community_ids.get(key)
        if community_id is None and not write:
            community_id = await self._ensure_community(platform, community)
            self._community_ids[key] = community_id
        lock = self._write_lock if write and self.sqlite else _nothing()
        async with lock, self._connect(write=write) as conn:
            created = False
            if community_id is None:
                community_id, created = await self._community_in(conn, platform, community)
            tx = await SqlTx.open(self, conn, community_id)
            if created:
                # Remember the id only once the row that holds it is committed.
                known = community_id
                tx.on_commit = lambda: self._community_ids.__setitem__(key, known)
            else:
                self._community_ids[key] = community_id
            yield tx

    @asynccontextmanager
    async def _connect(self, *, write: bool) -> AsyncIterator[AsyncConnection]:
        try:
            async with self.engine.connect() as conn:
                if not write:
                    conn = await conn.execution_options(**{READ_ONLY: True})
                await conn.begin()
                try:
                    yield conn
                finally:
                    if conn.in_transaction():
                        await conn.rollback()
        except DBAPIError as error:
            if is_retryable(error):
                raise TransientConflict(
                    "The market is busy right now; please try again in a moment."
                ) from error
            raise

    async def _ensure_community(self, platform: str, external_id: str) -> int:
        lock = self._write_lock if self.sqlite else _nothing()
        async with lock, self._connect(write=True) as conn:
            community_id, _ = await self._community_in(conn, platform, external_id)
            await conn.commit()
            return community_id

    async def _community_in(
        self, conn: AsyncConnection, platform: str, external_id: str
    ) -> tuple[int, bool]:
        """Find or create (uncommitted) a community in a writing transaction; tell if created."""
        where = (t.community.c.platform == platform, t.community.c.external_id == external_id)
        row = (await conn.execute(select(t.community.c.id).where(*where))).first()
        if row is not None:
            return int(row.id), False
        now = self._now()
        inserted = (
            await conn.execute(
                self.insert(t.community)
                .values(
                    platform=platform,
                    external_id=external_id,
                    settings_json=settings_to_json(self.defaults),
                    next_market_number=1,
                    created_at=now,
                )
                .on_conflict_do_nothing()
                .returning(t.community.c.id)
            )
        ).first()
        if inserted is None:
            # Created by a concurrent transaction that has committed since: a new statement
            # (READ COMMITTED) sees it.
            return int(
                (await conn.execute(select(t.community.c.id).where(*where))).scalar_one()
            ), False
        house = (
            await conn.execute(
                t.account.insert()
                .values(
                    community_id=inserted.id,
                    kind="house",
                    user_id=None,
                    display_name="house",
                    balance=0,
                    created_at=now,
                )
                .returning(t.account.c.id)
            )
        ).scalar_one()
        await conn.execute(
            update(t.community)
            .where(t.community.c.id == inserted.id)
            .values(house_account_id=house)
        )
        return int(inserted.id), True

    async def due_markets(self, now: datetime, limit: int) -> list[MarketRef]:
        """Return open markets whose deadline has passed, across communities."""
        return await self._refs(
            and_(t.market.c.status == "open", t.market.c.closes_at <= now), limit
        )

    async def open_deadlines(self) -> list[MarketRef]:
        """Return every open market's deadline, for rebuilding timers."""
        return await self._refs(t.market.c.status == "open", None)

    async def _refs(self, where: ColumnElement[bool], limit: int | None) -> list[MarketRef]:
        query = (
            select(
                t.community.c.platform,
                t.community.c.external_id,
                t.market.c.number,
                t.market.c.closes_at,
            )
            .join(t.community, t.community.c.id == t.market.c.community_id)
            .where(where)
            .order_by(t.market.c.closes_at)
        )
        if limit is not None:
            query = query.limit(limit)
        async with self._connect(write=False) as conn:
            rows = (await conn.execute(query)).all()
        return [MarketRef(r.platform, r.external_id, r.number, _aware(r.closes_at)) for r in rows]


@asynccontextmanager
async def _nothing() -> AsyncIterator[None]:
    yield None


class SqlTx:
    """One transaction on one community; implements `bot.core.ports.Tx`."""

    community: Community

    def __init__(self, store: SqlStore, conn: AsyncConnection, community: Community) -> None:
        self.store = store
        self.conn = conn
        self.community = community
        self.on_commit: Callable[[], None] | None = None

    @classmethod
    async def open(cls, store: SqlStore, conn: AsyncConnection, community_id: int) -> SqlTx:
        """Load the community and wrap the connection."""
        row = (await conn.execute(_COMMUNITY_BY_ID, {"p_id": community_id})).one()
        community = Community(
            id=row.id,
            platform=row.platform,
            external_id=row.external_id,
            settings=settings_from_json(row.settings_json, store.defaults),
            house_account_id=row.house_account_id,
        )
        return cls(store, conn, community)

    async def commit(self) -> None:
        """Commit everything done in this transaction."""
        try:
            await self.conn.commit()
        except DBAPIError as error:
            if is_retryable(error):
                raise TransientConflict(
                    "The market is busy right now; please try again."
                ) from error
            raise
        if self.on_commit is not None:
            self.on_commit()

    async def _exec(self, statement: Any, params: Any = None, *, bulk: bool = False) -> Any:
        """Execute a statement; `bulk` ones (set-based, long) run off the event loop's thread."""
        try:
            if bulk:
                async with offloaded(self.conn):
                    return await self.conn.execute(statement, params)
            return await self.conn.execute(statement, params)
        except DBAPIError as error:
            if is_retryable(error):
                raise TransientConflict(
                    "The market is busy right now; please try again in a moment."
                ) from error
            raise

    @property
    def _now(self) -> datetime:
        now: datetime = self.store._now()
        return now

    # -- requests ------------------------------------------------------------------------

    async def claim_request(self, request_id: str, user_id: str, command: str) -> str | None:
        """Record a request id; return the stored answer if it was seen before."""
        inserted = (
            await self._exec(
                self.store._claim_request,
                {
                    "community_id": self.community.id,
                    "request_id": request_id,
                    "user_id": user_id,
                    "command": command,
                    "created_at": self._now,
                },
            )
        ).first()
        if inserted is not None:
            return None
        stored = (
            await self._exec(
                _REQUEST_RESULT, {"p_community": self.community.id, "p_request": request_id}
            )
        ).scalar_one()
        return str(stored) if stored is not None else None

    async def finish_request(self, request_id: str, result: str) -> None:
        """Store the answer to a claimed request."""
        await self._exec(
            _REQUEST_FINISH,
            {"p_community": self.community.id, "p_request": request_id, "result_json": result},
        )

    # -- accounts ------------------------------------------------------------------------

    async def find_account(self, user_id: str) -> Account | None:
        """Return the user's account if it exists."""
        row = (
            await self._exec(
                _ACCOUNT_OF_USER, {"p_community": self.community.id, "p_user": user_id}
            )
        ).first()
        return None if row is None else _account(row)

    async def ensure_account(self, user_id: str, display_name: str) -> Account:
        """Return the user's account, creating it with the starting balance on first contact."""
        existing = await self.find_account(user_id)
        if existing is not None:
            if display_name and existing.display_name != display_name[:100]:
                existing.display_name = display_name[:100]
                await self._exec(
                    update(t.account)
                    .where(t.account.c.id == existing.id)
                    .values(display_name=existing.display_name)
                )
            return existing
        inserted = (
            await self._exec(
                self.store.insert(t.account)
                .values(
                    community_id=self.community.id,
                    kind="user",
                    user_id=user_id,
                    display_name=(display_name or user_id)[:100],
                    balance=0,
                    created_at=self._now,
                )
                .on_conflict_do_nothing()
                .returning(t.account.c.id)
            )
        ).first()
        if inserted is None:
            found = await self.find_account(user_id)
            assert found is not None
            return found
        grant = self.community.settings.starting_balance
        if grant > 0:
            await self.transfer(self.community.house_account_id, inserted.id, grant, "grant")
        return Account(
            id=inserted.id,
            community_id=self.community.id,
            kind="user",
            user_id=user_id,
            display_name=(display_name or user_id)[:100],
            balance=grant,
        )

    async def balance(self, account_id: int) -> int:
        """Return an account's current balance."""
        value = (
            await self._exec(select(t.account.c.balance).where(t.account.c.id == account_id))
        ).scalar_one()
        return int(value)

    async def claim_daily(self, account_id: int, today: str) -> bool:
        """Mark today's allowance as taken; False if it already was."""
        result = await self._exec(
            update(t.account)
            .where(
                t.account.c.id == account_id,
                or_(t.account.c.last_daily.is_(None), t.account.c.last_daily < today),
            )
            .values(last_daily=today)
        )
        return bool(result.rowcount == 1)

    async def user_accounts(self) -> list[Account]:
        """Return every user account of the community."""
        rows = await self._exec(
            select(t.account).where(
                t.account.c.community_id == self.community.id, t.account.c.kind == "user"
            )
        )
        return [_account(r) for r in rows]

    # -- ledger --------------------------------------------------------------------------

    async def transfer(
        self,
        from_account: int,
        to_account: int,
        amount: int,
        kind: str,
        *,
        market_id: int | None = None,
        trade_id: int | None = None,
        batch: str | None = None,
        require_funds: bool = False,
    ) -> bool:
        """Move points; with require_funds, refuse (return False) rather than overdraw."""
        if amount <= 0:
            raise ValueError("transfers move a positive amount")
        if await self._debit(from_account, amount, require_funds=require_funds) is None:
            if require_funds:
                return False
            raise LookupError(f"no account {from_account}")
        await self._credit_and_record(
            from_account, to_account, amount, kind, market_id, trade_id, batch
        )
        return True

    async def spend(
        self,
        user_id: str,
        display_name: str,
        to_account: int,
        amount: int,
        kind: str,
        *,
        market_id: int | None = None,
    ) -> tuple[Account, bool]:
        """Move points from a user's account unless it holds too few; see `Tx.spend`."""
        if amount <= 0:
            raise ValueError("transfers move a positive amount")
        name = display_name[:100]
        # One statement finds, renames and debits an existing account with enough points.
        params = {
            "p_community": self.community.id,
            "p_user": user_id,
            "p_amount": amount,
            "p_name": name,
        }
        row = (await self._exec(_SPEND_RENAMED if name else _SPEND, params)).first()
        if row is not None:
            account = _account(row)
        else:
            # A new account, or one with too few points: the general path.
            account = await self.ensure_account(user_id, display_name)
            balance = await self._debit(account.id, amount, require_funds=True)
            if balance is None:
                return account, False
            account.balance = balance
        await self._credit_and_record(account.id, to_account, amount, kind, market_id, None, None)
        return account, True

    async def _debit(self, account_id: int, amount: int, *, require_funds: bool) -> int | None:
        """Take points from an account; return its new balance, or None if refused/missing."""
        statement = _DEBIT_FUNDED if require_funds else _DEBIT
        row = (await self._exec(statement, {"p_id": account_id, "p_amount": amount})).first()
        return None if row is None else int(row.balance)

    async def _credit_and_record(
        self,
        from_account: int,
        to_account: int,
        amount: int,
        kind: str,
        market_id: int | None,
        trade_id: int | None,
        batch: str | None,
    ) -> None:
        """Credit a debited amount and write its ledger row."""
        await self._exec(_CREDIT, {"p_id": to_account, "p_amount": amount})
        await self._exec(
            _LEDGER_INSERT,
            {
                "community_id": self.community.id,
                "from_account": from_account,
                "to_account": to_account,
                "amount": amount,
                "kind": kind,
                "market_id": market_id,
                "trade_id": trade_id,
                "batch": batch,
                "created_at": self._now,
            },
        )

    async def bulk_transfer(
        self, transfers: Sequence[Transfer], kind: str, market_id: int, batch: str
    ) -> None:
        """Move points in many pairs at once, set-based."""
        if not transfers:
            return
        now = self._now
        await self._exec(
            t.ledger.insert(),
            [
                {
                    "community_id": self.community.id,
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

    async def _apply(self, batch: str, kinds: Sequence[str]) -> None:
        """Apply a batch's ledger rows of some kinds to the cached balances, in one UPDATE."""
        le = t.ledger
        sides = union_all(
            select(le.c.to_account.label("acc"), le.c.amount.label("delta")).where(
                le.c.batch == batch, le.c.kind.in_(kinds)
            ),
            select(le.c.from_account.label("acc"), (-le.c.amount).label("delta")).where(
                le.c.batch == batch, le.c.kind.in_(kinds)
            ),
        ).subquery()
        deltas = (
            select(sides.c.acc, func.sum(sides.c.delta).label("delta"))
            .group_by(sides.c.acc)
            .subquery()
        )
        await self._exec(
            update(t.account)
            .where(t.account.c.id == deltas.c.acc)
            .values(balance=t.account.c.balance + deltas.c.delta),
            bulk=True,
        )

    async def _insert_ledger_from(self, query: Any, kind: str) -> None:
        """INSERT ... SELECT ledger rows: the query yields from, to, amount."""
        sub = query.subquery()
        await self._exec(
            t.ledger.insert().from_select(
                [
                    "community_id",
                    "from_account",
                    "to_account",
                    "amount",
                    "kind",
                    "market_id",
                    "batch",
                    "created_at",
                ],
                select(
                    literal(self.community.id),
                    sub.c.f,
                    sub.c.to,
                    sub.c.amount,
                    literal(kind),
                    sub.c.market_id,
                    sub.c.batch,
                    sub.c.created_at,
                ),
            ),
            bulk=True,
        )

    async def pay_winning_shares(self, market: Market, outcome: int, batch: str) -> None:
        """Pay every holder of the outcome one point per share from escrow, set-based."""
        p = t.position
        query = select(
            literal(market.escrow_account_id).label("f"),
            p.c.account_id.label("to"),
            p.c.shares.label("amount"),
            literal(market.id).label("market_id"),
            literal(batch).label("batch"),
            literal(self._now, type_=t.ledger.c.created_at.type).label("created_at"),
        ).where(p.c.market_id == market.id, p.c.outcome == outcome, p.c.shares > 0)
        await self._insert_ledger_from(query, "payout")
        await self._apply(batch, ("payout",))

    async def winning_stakes(self, market_id: int, outcome: int) -> list[tuple[int, int]]:
        """Return (account id, stake) of an outcome's stakers, earliest stake first."""
        rows = await self._exec(
            select(t.position.c.account_id, t.position.c.shares)
            .where(
                t.position.c.market_id == market_id,
                t.position.c.outcome == outcome,
                t.position.c.shares > 0,
            )
            .order_by(t.position.c.first_trade_id)
        )
        return [(r.account_id, r.shares) for r in rows]

    async def refund_net_spend(self, market: Market, batch: str) -> None:
        """Give every account back its net spend; claw back sale profit in full (a reversal:
        it may leave the account in debt)."""
        p = t.position
        stamp = literal(self._now, type_=t.ledger.c.created_at.type)
        net = (
            select(p.c.account_id, func.sum(p.c.net_cost).label("net"))
            .where(p.c.market_id == market.id)
            .group_by(p.c.account_id)
            .subquery()
        )
        refunds = select(
            literal(market.escrow_account_id).label("f"),
            net.c.account_id.label("to"),
            net.c.net.label("amount"),
            literal(market.id).label("market_id"),
            literal(batch).label("batch"),
            stamp.label("created_at"),
        ).where(net.c.net > 0)
        await self._insert_ledger_from(refunds, "refund")
        clawbacks = select(
            net.c.account_id.label("f"),
            literal(market.escrow_account_id).label("to"),
            (-net.c.net).label("amount"),
            literal(market.id).label("market_id"),
            literal(batch).label("batch"),
            stamp.label("created_at"),
        ).where(net.c.net < 0)
        await self._insert_ledger_from(clawbacks, "clawback")
        await self._apply(batch, ("refund", "clawback"))

    def _user_net(self, batch: str, kinds: Sequence[str]) -> Any:
        """A subquery of (acc, net) for user accounts in a batch."""
        le, a = t.ledger, t.account
        sides = union_all(
            select(le.c.to_account.label("acc"), le.c.amount.label("delta")).where(
                le.c.batch == batch, le.c.kind.in_(kinds)
            ),
            select(le.c.from_account.label("acc"), (-le.c.amount).label("delta")).where(
                le.c.batch == batch, le.c.kind.in_(kinds)
            ),
        ).subquery()
        return (
            select(sides.c.acc, func.sum(sides.c.delta).label("net"))
            .join(a, a.c.id == sides.c.acc)
            .where(a.c.kind == "user")
            .group_by(sides.c.acc)
            .subquery()
        )

    async def reverse_batch(
        self, market: Market, batch: str, kinds: Sequence[str], new_batch: str
    ) -> None:
        """Reverse every user's net movement of some kinds in a batch, exactly: what was paid
        is taken back whether or not it was spent (the account may go into debt)."""
        net = self._user_net(batch, kinds)
        stamp = literal(self._now, type_=t.ledger.c.created_at.type)
        take = select(
            net.c.acc.label("f"),
            literal(market.escrow_account_id).label("to"),
            net.c.net.label("amount"),
            literal(market.id).label("market_id"),
            literal(new_batch).label("batch"),
            stamp.label("created_at"),
        ).where(net.c.net > 0)
        await self._insert_ledger_from(take, "reverse")
        give = select(
            literal(market.escrow_account_id).label("f"),
            net.c.acc.label("to"),
            (-net.c.net).label("amount"),
            literal(market.id).label("market_id"),
            literal(new_batch).label("batch"),
            stamp.label("created_at"),
        ).where(net.c.net < 0)
        await self._insert_ledger_from(give, "reverse")
        await self._apply(new_batch, ("reverse",))

    async def debtors(self, batch: str) -> list[tuple[str, str, int]]:
        """Return (user id, display name, balance) of the users a batch moved points of whose
        balance is now below zero, deepest debt first."""
        le, a = t.ledger, t.account
        touched = union_all(
            select(le.c.to_account.label("acc")).where(le.c.batch == batch),
            select(le.c.from_account.label("acc")).where(le.c.batch == batch),
        ).subquery()
        rows = await self._exec(
            select(a.c.user_id, a.c.display_name, a.c.balance)
            .where(
                a.c.id.in_(select(touched.c.acc)),
                a.c.kind == "user",
                a.c.balance < 0,
            )
            .order_by(a.c.balance, a.c.id)
        )
        return [(str(r.user_id), r.display_name, int(r.balance)) for r in rows]

    async def sweep_escrow(self, market: Market, target: int, batch: str) -> None:
        """Move points between escrow and house so escrow holds exactly `target`."""
        excess = await self.balance(market.escrow_account_id) - target
        house = self.community.house_account_id
        if excess > 0:
            await self.transfer(
                market.escrow_account_id, house, excess, "sweep", market_id=market.id, batch=batch
            )
        elif excess < 0:
            await self.transfer(
                house, market.escrow_account_id, -excess, "sweep", market_id=market.id, batch=batch
            )

    async def batch_summary(self, batch: str, top: int) -> BatchSummary:
        """Sum a batch's movements to and from user accounts."""
        kinds = ("payout", "refund", "clawback", "reverse")
        net = self._user_net(batch, kinds)
        totals = (
            await self._exec(
                select(func.coalesce(func.sum(net.c.net), 0), func.count()).where(net.c.net != 0),
                bulk=True,
            )
        ).one()
        best: tuple[tuple[str, str, int], ...] = ()
        if top > 0:
            rows = await self._exec(
                select(t.account.c.user_id, t.account.c.display_name, net.c.net)
                .join(t.account, t.account.c.id == net.c.acc)
                .order_by(net.c.net.desc(), t.account.c.id)
                .limit(top),
                bulk=True,
            )
            best = tuple((r.user_id, r.display_name, int(r.net)) for r in rows)
        return BatchSummary(int(totals[0]), int(totals[1]), best)

    # -- markets -------------------------------------------------------------------------

    async def get_market(self, number: int, *, lock: bool = False) -> Market | None:
        """Return a market by its number, locked for update when asked."""
        query = _MARKET_BY_NUMBER_LOCKED if lock and not self.store.sqlite else _MARKET_BY_NUMBER
        params = {"p_community": self.community.id, "p_number": number}
        row = (await self._exec(query, params)).first()
        return None if row is None else _market(row)

    async def list_markets(self, statuses: Sequence[str], limit: int) -> list[Market]:
        """Return markets with one of the statuses, newest first."""
        rows = await self._exec(
            select(t.market)
            .where(t.market.c.community_id == self.community.id, t.market.c.status.in_(statuses))
            .order_by(t.market.c.number.desc())
            .limit(limit)
        )
        return [_market(r) for r in rows]

    async def overdue_markets(self) -> list[Market]:
        """Return closed, unresolved markets, oldest deadline first."""
        rows = await self._exec(
            select(t.market)
            .where(t.market.c.community_id == self.community.id, t.market.c.status == "closed")
            .order_by(t.market.c.closes_at, t.market.c.number)
        )
        return [_market(r) for r in rows]

    async def create_market(self, draft: MarketDraft) -> Market:
        """Store a new market with the next number and its own escrow account."""
        number = (
            await self._exec(
                update(t.community)
                .where(t.community.c.id == self.community.id)
                .values(next_market_number=t.community.c.next_market_number + 1)
                .returning(t.community.c.next_market_number)
            )
        ).scalar_one() - 1
        escrow = (
            await self._exec(
                t.account.insert()
                .values(
                    community_id=self.community.id,
                    kind="escrow",
                    user_id=None,
                    display_name=f"escrow #{number}",
                    balance=0,
                    created_at=self._now,
                )
                .returning(t.account.c.id)
            )
        ).scalar_one()
        q = [0] * len(draft.outcomes)
        market_id = (
            await self._exec(
                t.market.insert()
                .values(
                    community_id=self.community.id,
                    number=number,
                    question=draft.question,
                    criteria=draft.criteria,
                    outcomes_json=json.dumps(list(draft.outcomes)),
                    q_json=json.dumps(q),
                    mechanism=draft.mechanism,
                    liquidity=draft.liquidity,
                    creator_account_id=draft.creator_account_id,
                    creator_user=draft.creator_user,
                    escrow_account_id=escrow,
                    status="open",
                    created_at=draft.created_at,
                    closes_at=draft.closes_at,
                    channel=draft.channel,
                    creator_subsidy=draft.creator_subsidy,
                )
                .returning(t.market.c.id)
            )
        ).scalar_one()
        return Market(
            id=market_id,
            community_id=self.community.id,
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
            status="open",
            escrow_account_id=escrow,
            q=q,
            channel=draft.channel,
            creator_subsidy=draft.creator_subsidy,
        )

    async def save_market(self, market: Market) -> None:
        """Write a market's mutable fields back."""
        await self._exec(
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

    # -- positions and trades ------------------------------------------------------------

    async def positions(self, market_id: int, account_id: int) -> list[Position]:
        """Return an account's positions in a market."""
        rows = await self._exec(_POSITIONS_OF, {"p_market": market_id, "p_account": account_id})
        return [_position(r) for r in rows]

    async def market_positions(self, market_id: int, account_ids: Sequence[int]) -> list[Position]:
        """Return the positions of some accounts in a market."""
        rows = await self._exec(
            select(t.position).where(
                t.position.c.market_id == market_id, t.position.c.account_id.in_(account_ids)
            )
        )
        return [_position(r) for r in rows]

    async def save_position(self, position: Position) -> None:
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
            position.id = (await self._exec(_POSITION_INSERT, new)).scalar_one()
        else:
            await self._exec(_POSITION_UPDATE, {"p_id": position.id, **values})

    async def add_trade(self, trade: Trade) -> int:
        """Store a trade and return its id."""
        new_id = (
            await self._exec(
                _TRADE_INSERT,
                {
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
                },
            )
        ).scalar_one()
        return int(new_id)

    async def trades_after(self, market_id: int, when: datetime) -> list[Trade]:
        """Return the market's unvoided trades placed after a time, newest first."""
        rows = await self._exec(
            select(t.trade)
            .where(
                t.trade.c.market_id == market_id,
                t.trade.c.created_at > when,
                t.trade.c.voided.is_(False),
            )
            .order_by(t.trade.c.id.desc())
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
                created_at=_aware(r.created_at),
                request_id=r.request_id,
                id=r.id,
            )
            for r in rows
        ]

    async def void_trades(self, trade_ids: Sequence[int]) -> None:
        """Mark trades as voided."""
        await self._exec(
            update(t.trade).where(t.trade.c.id.in_(trade_ids)).values(voided=True), bulk=True
        )

    async def first_standing_buy(self, market_id: int, account_id: int, outcome: int) -> int | None:
        """Return the id of an account's earliest unvoided purchase of an outcome."""
        tr = t.trade
        value = (
            await self._exec(
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

    async def holdings(self, account_id: int | None = None) -> list[Holding]:
        """Return positions with shares in unsettled markets (of one account, or all users)."""
        p, m = t.position, t.market
        query = (
            select(p, *[c.label(f"m_{c.name}") for c in m.c])
            .join(m, m.c.id == p.c.market_id)
            .where(
                m.c.community_id == self.community.id,
                m.c.status.in_(("open", "closed")),
                p.c.shares > 0,
            )
            .order_by(m.c.number, p.c.outcome)
        )
        if account_id is not None:
            query = query.where(p.c.account_id == account_id)
        markets: dict[int, Market] = {}
        holdings: list[Holding] = []
        for row in await self._exec(query):
            market = markets.get(row.market_id)
            if market is None:
                fields = {k[2:]: v for k, v in row._mapping.items() if str(k).startswith("m_")}
                market = markets[row.market_id] = _market(_Fields(fields))  # type: ignore[arg-type]
            holdings.append(Holding(market, _position(row)))
        return holdings

    async def failed_announcements(self, limit: int) -> list[FailedAnnouncement]:
        """Return announcements given up on, newest first."""
        o, m = t.outbox, t.market
        rows = await self._exec(
            select(o.c.kind, m.c.number, o.c.channel, o.c.attempts, o.c.failed_at, o.c.last_error)
            .outerjoin(m, m.c.id == o.c.market_id)
            .where(o.c.community_id == self.community.id, o.c.failed_at.is_not(None))
            .order_by(o.c.failed_at.desc(), o.c.id.desc())
            .limit(limit)
        )
        return [
            FailedAnnouncement(
                r.kind, r.number, r.channel, r.attempts, _aware(r.failed_at), r.last_error
            )
            for r in rows
        ]

    async def save_settings(self, settings: CommunitySettings) -> None:
        """Store the community's settings."""
        await self._exec(
            update(t.community)
            .where(t.community.c.id == self.community.id)
            .values(settings_json=settings_to_json(settings))
        )
        self.community = dataclasses.replace(self.community, settings=settings)

    async def add_outbox(
        self, kind: str, market: Market | None, payload: str, dedupe_key: str
    ) -> None:
        """Queue an announcement in this transaction (ignored if the key exists)."""
        channel = self.community.settings.announce_channel or (market.channel if market else None)
        await self._exec(
            self.store.insert(t.outbox)
            .values(
                community_id=self.community.id,
                market_id=market.id if market else None,
                kind=kind,
                dedupe_key=dedupe_key,
                channel=channel,
                payload_json=payload,
                created_at=self._now,
                attempts=0,
                next_attempt_at=self._now,
            )
            .on_conflict_do_nothing()
        )


class _Fields:
    """Attribute access over a dict, to reuse the row mapper for joined columns."""

    def __init__(self, values: dict[str, Any]) -> None:
        self.__dict__.update(values)


__all__ = ["SqlStore", "SqlTx", "bindparam", "text"]
