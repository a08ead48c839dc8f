"""An in-memory store implementing the core's storage port (`bot.core.ports.Store`), for tests.

Rows are plain dicts with the SQL tables' column names and value types (`storage/tables.py`:
ints, strings, JSON text, timezone-aware datetimes), so the invariant checks read them through
`MemoryProbe` exactly as they read a database, and each repository does what its SQL twin in
`storage/repositories/` does, statement for statement where the order shows in the rows.

Transactions are real. A writing transaction works on its own copy of the tables (copied on
write, a table at a time; a changed row is a new dict) and only `commit` makes that copy the
store's state, so leaving without commit (a refusal, an exception) discards every change.
Writers queue on one asyncio.Lock, as on SQLite; a reader works on the state committed when it
began, takes no lock and may not write at all (`ReadOnlyTransaction`).
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections.abc import AsyncIterator, Callable, Iterable, Mapping, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

from bot.core.models import (
    UNSETTLED,
    Account,
    AccountKind,
    AnnouncementKind,
    Community,
    CommunitySettings,
    EntryKind,
    Holding,
    Market,
    MarketStatus,
    Position,
    Trade,
    Transfer,
)
from bot.core.ports import BatchSummary, MarketDraft, MarketRef, WriteRequired
from bot.core.views import FailedAnnouncement

Row = dict[str, Any]

NAME_MAX = 100
# What a settlement summary counts as paid to (or taken from) users (as storage/ledger.py).
_SUMMED = (EntryKind.PAYOUT, EntryKind.REFUND, EntryKind.CLAWBACK, EntryKind.REVERSE)


class _Required:
    """Marks a column that has no default: an insert must give it."""

    def __repr__(self) -> str:
        return "REQUIRED"


REQUIRED: Any = _Required()

# Every table's columns in the order of storage/tables.py, with their defaults.
COLUMNS: dict[str, dict[str, Any]] = {
    "community": {
        "id": None,
        "platform": REQUIRED,
        "external_id": REQUIRED,
        "settings_json": "{}",
        "house_account_id": None,
        "next_market_number": 1,
        "created_at": REQUIRED,
    },
    "account": {
        "id": None,
        "community_id": REQUIRED,
        "kind": REQUIRED,
        "user_id": None,
        "display_name": REQUIRED,
        "balance": 0,
        "last_daily": None,
        "created_at": REQUIRED,
    },
    "market": {
        "id": None,
        "community_id": REQUIRED,
        "number": REQUIRED,
        "question": REQUIRED,
        "criteria": None,
        "outcomes_json": REQUIRED,
        "q_json": REQUIRED,
        "mechanism": REQUIRED,
        "liquidity": REQUIRED,
        "creator_account_id": REQUIRED,
        "creator_user": REQUIRED,
        "escrow_account_id": REQUIRED,
        "status": REQUIRED,
        "created_at": REQUIRED,
        "closes_at": REQUIRED,
        "closed_at": None,
        "resolved_at": None,
        "known_at": None,
        "resolution": None,
        "evidence": None,
        "volume": 0,
        "traders": 0,
        "channel": None,
        "card_ref": None,
        "settlement": 0,
        "escrow_before": 0,
        "creator_subsidy": 0,
        "reminded_at": None,
        "claimed_until": None,
    },
    "position": {
        "id": None,
        "market_id": REQUIRED,
        "account_id": REQUIRED,
        "outcome": REQUIRED,
        "shares": 0,
        "net_cost": 0,
        "first_trade_id": None,
    },
    "trade": {
        "id": None,
        "market_id": REQUIRED,
        "account_id": REQUIRED,
        "outcome": REQUIRED,
        "side": REQUIRED,
        "amount": REQUIRED,
        "shares": REQUIRED,
        "prob_before": REQUIRED,
        "prob_after": REQUIRED,
        "created_at": REQUIRED,
        "request_id": None,
        "voided": False,
    },
    "ledger_entry": {
        "id": None,
        "community_id": REQUIRED,
        "from_account": REQUIRED,
        "to_account": REQUIRED,
        "amount": REQUIRED,
        "kind": REQUIRED,
        "market_id": None,
        "trade_id": None,
        "batch": None,
        "created_at": REQUIRED,
    },
    "request": {
        "id": None,
        "community_id": REQUIRED,
        "request_id": REQUIRED,
        "user_id": REQUIRED,
        "command": REQUIRED,
        "result_json": None,
        "created_at": REQUIRED,
    },
    "outbox": {
        "id": None,
        "community_id": REQUIRED,
        "market_id": None,
        "kind": REQUIRED,
        "dedupe_key": REQUIRED,
        "channel": None,
        "payload_json": REQUIRED,
        "created_at": REQUIRED,
        "attempts": 0,
        "next_attempt_at": REQUIRED,
        "claimed_until": None,
        "delivered_at": None,
        "failed_at": None,
        "last_error": None,
    },
}

# The tables' unique constraints (a NULL never conflicts, as in SQL).
UNIQUE: dict[str, tuple[tuple[str, ...], ...]] = {
    "community": (("platform", "external_id"),),
    "account": (("community_id", "user_id"),),
    "market": (("community_id", "number"),),
    "position": (("market_id", "account_id", "outcome"),),
    "request": (("community_id", "request_id"),),
    "outbox": (("dedupe_key",),),
}


class ReadOnlyTransaction(RuntimeError):
    """A read-only transaction tried to change a row (a bug in the caller)."""


class IntegrityError(RuntimeError):
    """A row broke a unique constraint, or named a row that does not exist."""


@dataclasses.dataclass(frozen=True, slots=True)
class _State:
    """One committed version of every table, with the last id each has handed out.

    Never changed once committed: transactions copy what they change."""

    tables: Mapping[str, Mapping[int, Row]]
    last_ids: Mapping[str, int]

    @classmethod
    def empty(cls) -> _State:
        return cls({name: {} for name in COLUMNS}, {name: 0 for name in COLUMNS})


class _Tables:
    """A transaction's tables: the state it began on, plus its own changes (copy on write).

    Ids are part of the state, so a rolled-back insert hands its id out again (as SQLite
    does)."""

    def __init__(self, state: _State, *, write: bool) -> None:
        self.write = write
        self._tables: dict[str, Mapping[int, Row]] = dict(state.tables)
        self._own: dict[str, dict[int, Row]] = {}
        self._last_ids = dict(state.last_ids)

    def state(self) -> _State:
        """The tables as they are now, to commit; later changes copy again."""
        self._own = {}
        return _State(dict(self._tables), dict(self._last_ids))

    def rows(self, table: str) -> Iterable[Row]:
        """Every row of a table, in id order."""
        return self._tables[table].values()

    def where(self, table: str, **equal: Any) -> list[Row]:
        """The rows of a table whose columns equal some values, in id order."""
        return [r for r in self.rows(table) if all(r[k] == v for k, v in equal.items())]

    def get(self, table: str, row_id: int | None) -> Row | None:
        """A row by id."""
        return None if row_id is None else self._tables[table].get(row_id)

    def insert(self, table: str, values: Mapping[str, Any], *, ignore: bool = False) -> int | None:
        """Insert a row and return its id; on a unique conflict, return None if `ignore`
        (ON CONFLICT DO NOTHING), else raise."""
        unknown = set(values) - set(COLUMNS[table])
        if unknown:
            raise IntegrityError(f"{table} has no columns {sorted(unknown)}")
        row = {name: values.get(name, default) for name, default in COLUMNS[table].items()}
        missing = [name for name, value in row.items() if value is REQUIRED]
        if missing:
            raise IntegrityError(f"{table} needs values for {missing}")
        for columns in UNIQUE.get(table, ()):
            key = tuple(row[c] for c in columns)
            if None not in key and any(
                tuple(r[c] for c in columns) == key for r in self.rows(table)
            ):
                if ignore:
                    return None
                raise IntegrityError(f"{table} already has a row with {columns} = {key}")
        rows = self._writable(table)
        row_id = self._last_ids[table] + 1
        self._last_ids[table] = row_id
        row["id"] = row_id
        rows[row_id] = _stored(row)
        return row_id

    def update(self, table: str, row_id: int, **values: Any) -> Row:
        """Change some columns of a row; return the new row."""
        rows = self._writable(table)
        if row_id not in rows:
            raise IntegrityError(f"{table} has no row {row_id}")
        unknown = set(values) - set(COLUMNS[table])
        if unknown:
            raise IntegrityError(f"{table} has no columns {sorted(unknown)}")
        # A new dict: the old one may belong to a committed state.
        row = rows[row_id] = _stored({**rows[row_id], **values})
        return row

    def _writable(self, table: str) -> dict[int, Row]:
        if not self.write:
            raise ReadOnlyTransaction(f"a read-only transaction tried to change {table}")
        own = self._own.get(table)
        if own is None:
            own = self._own[table] = dict(self._tables[table])
            self._tables[table] = own
        return own


def _stored(row: Row) -> Row:
    """Store times as timezone-aware UTC (a naive time is UTC, as SQLite reads it back)."""
    for key, value in row.items():
        if isinstance(value, datetime):
            row[key] = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return row


def settings_to_json(settings: CommunitySettings) -> str:
    """Encode community settings for the settings column (as storage/rows.py does)."""
    return json.dumps(dataclasses.asdict(settings), sort_keys=True)


def settings_from_json(text: str, defaults: CommunitySettings) -> CommunitySettings:
    """Decode stored settings, filling anything missing from the defaults."""
    stored = json.loads(text or "{}")
    known = {f.name for f in dataclasses.fields(CommunitySettings)}
    values = {k: (tuple(v) if isinstance(v, list) else v) for k, v in stored.items() if k in known}
    return defaults.with_changes(**values)


def market_of(row: Row) -> Market:
    """Map a market row to a `Market`."""
    return Market(
        id=row["id"],
        community_id=row["community_id"],
        number=row["number"],
        question=row["question"],
        criteria=row["criteria"],
        outcomes=tuple(json.loads(row["outcomes_json"])),
        mechanism=row["mechanism"],
        liquidity=row["liquidity"],
        creator_account_id=row["creator_account_id"],
        creator_user=row["creator_user"],
        created_at=row["created_at"],
        closes_at=row["closes_at"],
        status=row["status"],
        escrow_account_id=row["escrow_account_id"],
        q=list(json.loads(row["q_json"])),
        volume=row["volume"],
        traders=row["traders"],
        channel=row["channel"],
        card_ref=row["card_ref"],
        closed_at=row["closed_at"],
        resolved_at=row["resolved_at"],
        resolution=row["resolution"],
        evidence=row["evidence"],
        known_at=row["known_at"],
        settlement=row["settlement"],
        escrow_before=row["escrow_before"],
        creator_subsidy=row["creator_subsidy"],
    )


def account_of(row: Row) -> Account:
    """Map an account row to an `Account`."""
    return Account(
        id=row["id"],
        community_id=row["community_id"],
        kind=row["kind"],
        user_id=row["user_id"],
        display_name=row["display_name"],
        balance=row["balance"],
        last_daily=row["last_daily"],
    )


def position_of(row: Row) -> Position:
    """Map a position row to a `Position`."""
    return Position(
        market_id=row["market_id"],
        account_id=row["account_id"],
        outcome=row["outcome"],
        shares=row["shares"],
        net_cost=row["net_cost"],
        first_trade_id=row["first_trade_id"],
        id=row["id"],
    )


class MemoryStore:
    """Open transactions on tables held in memory; implements `bot.core.ports.Store`."""

    def __init__(
        self,
        defaults: CommunitySettings | None = None,
        now: Callable[[], datetime] | None = None,
    ) -> None:
        self.defaults = defaults or CommunitySettings()
        self.now = now or (lambda: datetime.now(UTC))
        self.write_lock = asyncio.Lock()
        self.state = _State.empty()
        self.commits = 0

    @asynccontextmanager
    async def transaction(
        self, platform: str, community: str, *, write: bool
    ) -> AsyncIterator[MemoryTx]:
        """Open a transaction on a community, creating the community on first contact.

        A writing transaction creates a new community inside itself, so a refused first
        request (rolled back) leaves no community behind; a reading one creates it first, in
        a short writing transaction of its own."""
        if not write and _community_row(self.state, platform, community) is None:
            async with self.write_lock:
                tables = _Tables(self.state, write=True)
                self._community_in(tables, platform, community)
                self._commit(tables)
        if write:
            async with self.write_lock:
                yield self._open(_Tables(self.state, write=True), platform, community)
        else:
            yield self._open(_Tables(self.state, write=False), platform, community)

    def _open(self, tables: _Tables, platform: str, external_id: str) -> MemoryTx:
        row = _community_of(tables, self._community_in(tables, platform, external_id))
        community = Community(
            id=row["id"],
            platform=row["platform"],
            external_id=row["external_id"],
            settings=settings_from_json(row["settings_json"], self.defaults),
            house_account_id=row["house_account_id"],
        )
        return MemoryTx(self, tables, community)

    def _community_in(self, tables: _Tables, platform: str, external_id: str) -> int:
        """Find or create (uncommitted) a community and its house account."""
        found = tables.where("community", platform=platform, external_id=external_id)
        if found:
            return int(found[0]["id"])
        now = self.now()
        community_id = tables.insert(
            "community",
            {
                "platform": platform,
                "external_id": external_id,
                "settings_json": settings_to_json(self.defaults),
                "next_market_number": 1,
                "created_at": now,
            },
        )
        assert community_id is not None
        house = tables.insert(
            "account",
            {
                "community_id": community_id,
                "kind": str(AccountKind.HOUSE),
                "user_id": None,
                "display_name": "house",
                "balance": 0,
                "created_at": now,
            },
        )
        tables.update("community", community_id, house_account_id=house)
        return community_id

    def _commit(self, tables: _Tables) -> None:
        assert self.write_lock.locked(), "a commit outside the write lock"
        self.state = tables.state()
        self.commits += 1

    async def due_markets(self, now: datetime, limit: int) -> list[MarketRef]:
        """Return open markets whose deadline has passed, across communities."""
        return self._refs(lambda m: m["closes_at"] <= now, limit)

    async def open_deadlines(self) -> list[MarketRef]:
        """Return every open market's deadline, for rebuilding timers."""
        return self._refs(lambda m: True, None)

    def _refs(self, where: Callable[[Row], bool], limit: int | None) -> list[MarketRef]:
        state = self.state
        found = sorted(
            (
                m
                for m in state.tables["market"].values()
                if m["status"] == MarketStatus.OPEN and where(m)
            ),
            key=lambda m: m["closes_at"],
        )
        refs = []
        for market in found[:limit]:
            community = state.tables["community"][market["community_id"]]
            refs.append(
                MarketRef(
                    community["platform"],
                    community["external_id"],
                    market["number"],
                    market["closes_at"],
                )
            )
        return refs

    async def update_rows(self, table: str, where: Callable[[Row], bool], **values: Any) -> int:
        """Change committed rows directly, as a test's raw SQL UPDATE would; return how many."""
        async with self.write_lock:
            tables = _Tables(self.state, write=True)
            ids = [int(r["id"]) for r in tables.rows(table) if where(r)]
            for row_id in ids:
                tables.update(table, row_id, **values)
            self._commit(tables)
        return len(ids)


def _community_of(tables: _Tables, community_id: int) -> Row:
    row = tables.get("community", community_id)
    assert row is not None
    return row


def _community_row(state: _State, platform: str, external_id: str) -> Row | None:
    for row in state.tables["community"].values():
        if row["platform"] == platform and row["external_id"] == external_id:
            return row
    return None


class MemoryTx:
    """One transaction on one community; implements `bot.core.ports.Tx`."""

    community: Community

    def __init__(self, store: MemoryStore, tables: _Tables, community: Community) -> None:
        self.store = store
        self.tables = tables
        self.community = community
        self.write = tables.write
        self.accounts = MemoryAccounts(self)
        self.ledger = MemoryLedger(self)
        self.markets = MemoryMarkets(self)
        self.positions = MemoryPositions(self)
        self.trades = MemoryTrades(self)
        self.requests = MemoryRequests(self)
        self.outbox = MemoryOutbox(self)
        self.communities = MemoryCommunities(self)

    async def commit(self) -> None:
        """Make everything done in this transaction the store's state."""
        if self.write:
            self.store._commit(self.tables)

    @property
    def now(self) -> datetime:
        """The store's current time (row timestamps)."""
        return self.store.now()


class MemoryAccounts:
    """Implements `bot.core.ports.Accounts`."""

    def __init__(self, tx: MemoryTx) -> None:
        self.tx = tx

    def _row(self, user_id: str) -> Row | None:
        found = self.tx.tables.where("account", community_id=self.tx.community.id, user_id=user_id)
        return found[0] if found else None

    async def find(self, user_id: str) -> Account | None:
        """Return the user's account if it exists."""
        row = self._row(user_id)
        return None if row is None else account_of(row)

    async def ensure(self, user_id: str, display_name: str) -> Account:
        """Return the user's account, creating it with the starting balance on first contact."""
        existing = await self.find(user_id)
        name = (display_name or user_id)[:NAME_MAX]
        if existing is not None:
            if display_name and existing.display_name != name and self.tx.write:
                existing.display_name = name
                self.tx.tables.update("account", existing.id, display_name=name)
            return existing
        if not self.tx.write:
            raise WriteRequired(f"first contact of {user_id}")
        account_id = self.tx.tables.insert(
            "account",
            {
                "community_id": self.tx.community.id,
                "kind": str(AccountKind.USER),
                "user_id": user_id,
                "display_name": name,
                "balance": 0,
                "created_at": self.tx.now,
            },
        )
        assert account_id is not None
        grant = self.tx.community.settings.starting_balance
        if grant > 0:
            await self.tx.ledger.transfer(
                self.tx.community.house_account_id, account_id, grant, EntryKind.GRANT
            )
        return Account(
            id=account_id,
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
        row = self._row(user_id)
        if row is not None and row["balance"] >= amount:
            # The SQL store's one statement: find, rename and debit an account with enough.
            changes: dict[str, Any] = {"balance": row["balance"] - amount}
            if name:
                changes["display_name"] = name
            account = account_of(self.tx.tables.update("account", row["id"], **changes))
        else:
            account = await self.ensure(user_id, display_name)
            balance = self.tx.ledger.debit(account.id, amount, require_funds=True)
            if balance is None:
                return account, False
            account.balance = balance
        self.tx.ledger.credit_and_record(account.id, to_account, amount, kind, market_id)
        return account, True

    async def balance(self, account_id: int) -> int:
        """Return an account's current balance."""
        row = self.tx.tables.get("account", account_id)
        if row is None:
            raise LookupError(f"no account {account_id}")
        return int(row["balance"])

    async def claim_daily(self, account_id: int, today: str) -> bool:
        """Mark today's allowance as taken; False if it already was."""
        row = self.tx.tables.get("account", account_id)
        if row is None or (row["last_daily"] is not None and row["last_daily"] >= today):
            return False
        self.tx.tables.update("account", account_id, last_daily=today)
        return True

    async def users(self) -> list[Account]:
        """Return every user account of the community."""
        rows = self.tx.tables.where(
            "account", community_id=self.tx.community.id, kind=AccountKind.USER
        )
        return [account_of(r) for r in rows]


class MemoryLedger:
    """Implements `bot.core.ports.Ledger`, as storage/repositories/ledger.py does in SQL."""

    def __init__(self, tx: MemoryTx) -> None:
        self.tx = tx

    def debit(self, account_id: int, amount: int, *, require_funds: bool) -> int | None:
        """Take points from an account; return its new balance, or None if refused/missing."""
        row = self.tx.tables.get("account", account_id)
        if row is None or (require_funds and row["balance"] < amount):
            return None
        updated = self.tx.tables.update("account", account_id, balance=row["balance"] - amount)
        return int(updated["balance"])

    def credit_and_record(
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
        row = self.tx.tables.get("account", to_account)
        if row is None:
            raise IntegrityError(f"no account {to_account}")
        self.tx.tables.update("account", to_account, balance=row["balance"] + amount)
        self._record(from_account, to_account, amount, kind, market_id, trade_id, batch)

    def _record(
        self,
        from_account: int,
        to_account: int,
        amount: int,
        kind: EntryKind,
        market_id: int | None,
        trade_id: int | None,
        batch: str | None,
    ) -> None:
        self.tx.tables.insert(
            "ledger_entry",
            {
                "community_id": self.tx.community.id,
                "from_account": from_account,
                "to_account": to_account,
                "amount": amount,
                "kind": str(kind),
                "market_id": market_id,
                "trade_id": trade_id,
                "batch": batch,
                "created_at": self.tx.now,
            },
        )

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
        if self.debit(from_account, amount, require_funds=require_funds) is None:
            if require_funds:
                return False
            raise LookupError(f"no account {from_account}")
        self.credit_and_record(from_account, to_account, amount, kind, market_id, trade_id, batch)
        return True

    async def transfer_many(
        self, transfers: Sequence[Transfer], kind: EntryKind, market_id: int, batch: str
    ) -> None:
        """Move points in many pairs at once: write the entries, then apply the batch."""
        if not transfers:
            return
        for x in transfers:
            self._record(x.from_account, x.to_account, x.amount, kind, market_id, None, batch)
        self._apply(batch, (kind,))

    async def pay_per_share(self, market: Market, outcome: int, batch: str) -> None:
        """Pay every holder of an outcome one point per share from escrow."""
        holders = [
            p
            for p in self.tx.tables.where("position", market_id=market.id, outcome=outcome)
            if p["shares"] > 0
        ]
        for p in holders:
            self._record(
                market.escrow_account_id,
                p["account_id"],
                p["shares"],
                EntryKind.PAYOUT,
                market.id,
                None,
                batch,
            )
        self._apply(batch, (EntryKind.PAYOUT,))

    async def pay_net_cost(self, market: Market, batch: str) -> None:
        """Pay every account its net cost from escrow; take a negative one back in full."""
        net: dict[int, int] = {}
        for p in self.tx.tables.where("position", market_id=market.id):
            net[p["account_id"]] = net.get(p["account_id"], 0) + p["net_cost"]
        escrow = market.escrow_account_id
        for account, amount in sorted(net.items()):
            if amount > 0:
                self._record(escrow, account, amount, EntryKind.REFUND, market.id, None, batch)
        for account, amount in sorted(net.items()):
            if amount < 0:
                self._record(account, escrow, -amount, EntryKind.CLAWBACK, market.id, None, batch)
        self._apply(batch, (EntryKind.REFUND, EntryKind.CLAWBACK))

    async def reverse(
        self, market: Market, batch: str, kinds: Sequence[EntryKind], new_batch: str
    ) -> None:
        """Move every user's net amount of some kinds in a batch back, exactly."""
        net = self._user_net(batch, kinds)
        escrow = market.escrow_account_id
        for account, amount in net.items():
            if amount > 0:
                self._record(account, escrow, amount, EntryKind.REVERSE, market.id, None, new_batch)
        for account, amount in net.items():
            if amount < 0:
                self._record(
                    escrow, account, -amount, EntryKind.REVERSE, market.id, None, new_batch
                )
        self._apply(new_batch, (EntryKind.REVERSE,))

    async def summary(self, batch: str, top: int) -> BatchSummary:
        """Sum a batch's movements to and from user accounts."""
        net = self._user_net(batch, _SUMMED)
        moved = [amount for amount in net.values() if amount != 0]
        best: tuple[tuple[str, str, int], ...] = ()
        if top > 0:
            # As the SQL: every user the batch touched, even at net 0, largest first.
            ranked = sorted(net.items(), key=lambda item: (-item[1], item[0]))[:top]
            rows = [(self._account(a), amount) for a, amount in ranked]
            best = tuple((r["user_id"], r["display_name"], amount) for r, amount in rows)
        return BatchSummary(sum(moved), len(moved), best)

    async def debtors(self, batch: str) -> list[tuple[str, str, int]]:
        """Return the users a batch moved points of who are now in debt, deepest first."""
        touched: set[int] = set()
        for entry in self.tx.tables.where("ledger_entry", batch=batch):
            touched.update((entry["to_account"], entry["from_account"]))
        rows = [self._account(a) for a in touched]
        debtors = [r for r in rows if r["kind"] == AccountKind.USER and r["balance"] < 0]
        debtors.sort(key=lambda r: (r["balance"], r["id"]))
        return [(str(r["user_id"]), r["display_name"], int(r["balance"])) for r in debtors]

    def _account(self, account_id: int) -> Row:
        row = self.tx.tables.get("account", account_id)
        assert row is not None
        return row

    def _sides(self, batch: str, kinds: Sequence[EntryKind]) -> Iterable[tuple[int, int]]:
        """Each entry of some kinds in a batch as (account, +amount) and (account, −amount)."""
        wanted = {str(k) for k in kinds}
        for entry in self.tx.tables.where("ledger_entry", batch=batch):
            if entry["kind"] in wanted:
                yield entry["to_account"], entry["amount"]
                yield entry["from_account"], -entry["amount"]

    def _user_net(self, batch: str, kinds: Sequence[EntryKind]) -> dict[int, int]:
        """Each user account's net amount of some kinds in a batch, by account id."""
        net: dict[int, int] = {}
        for account, delta in self._sides(batch, kinds):
            if self._account(account)["kind"] == AccountKind.USER:
                net[account] = net.get(account, 0) + delta
        return dict(sorted(net.items()))

    def _apply(self, batch: str, kinds: Sequence[EntryKind]) -> None:
        """Apply a batch's entries of some kinds to the cached balances."""
        deltas: dict[int, int] = {}
        for account, delta in self._sides(batch, kinds):
            deltas[account] = deltas.get(account, 0) + delta
        for account, delta in deltas.items():
            row = self._account(account)
            self.tx.tables.update("account", account, balance=row["balance"] + delta)


def _window(rows: list[Row], limit: int | None, offset: int) -> list[Row]:
    """The rows SQL's `LIMIT limit OFFSET offset` keeps (no limit when None)."""
    return rows[offset:] if limit is None else rows[offset : offset + limit]


class MemoryMarkets:
    """Implements `bot.core.ports.Markets`."""

    def __init__(self, tx: MemoryTx) -> None:
        self.tx = tx

    def _mine(self) -> list[Row]:
        return self.tx.tables.where("market", community_id=self.tx.community.id)

    async def get(self, number: int, *, lock: bool = False) -> Market | None:
        """Return a market by its number (writers hold the store's lock already)."""
        found = self.tx.tables.where("market", community_id=self.tx.community.id, number=number)
        return market_of(found[0]) if found else None

    async def with_status(
        self, statuses: Sequence[MarketStatus], limit: int, offset: int = 0
    ) -> list[Market]:
        """Return markets with one of the statuses, newest first: `limit` of them, after
        skipping the first `offset`."""
        found = [m for m in self._mine() if m["status"] in statuses]
        found.sort(key=lambda m: -m["number"])
        return [market_of(m) for m in _window(found, limit, offset)]

    async def count(self, statuses: Sequence[MarketStatus]) -> int:
        """Return how many markets have one of the statuses."""
        return sum(1 for m in self._mine() if m["status"] in statuses)

    async def overdue(self, limit: int | None = None, offset: int = 0) -> list[Market]:
        """Return closed, unresolved markets, oldest deadline first (then by number): `limit`
        of them (None: all), after skipping the first `offset`."""
        found = [m for m in self._mine() if m["status"] == MarketStatus.CLOSED]
        found.sort(key=lambda m: (m["closes_at"], m["number"]))
        return [market_of(m) for m in _window(found, limit, offset)]

    async def add(self, draft: MarketDraft) -> Market:
        """Store a new market with the next number and its own escrow account."""
        tx = self.tx
        community = _community_of(tx.tables, tx.community.id)
        number = community["next_market_number"]
        tx.tables.update("community", tx.community.id, next_market_number=number + 1)
        escrow = tx.tables.insert(
            "account",
            {
                "community_id": tx.community.id,
                "kind": str(AccountKind.ESCROW),
                "user_id": None,
                "display_name": f"escrow #{number}",
                "balance": 0,
                "created_at": tx.now,
            },
        )
        assert escrow is not None
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
        market_id = tx.tables.insert(
            "market",
            {
                "community_id": market.community_id,
                "number": number,
                "question": market.question,
                "criteria": market.criteria,
                "outcomes_json": json.dumps(list(market.outcomes)),
                "q_json": json.dumps(market.q),
                "mechanism": str(market.mechanism),
                "liquidity": market.liquidity,
                "creator_account_id": market.creator_account_id,
                "creator_user": market.creator_user,
                "escrow_account_id": escrow,
                "status": str(market.status),
                "created_at": market.created_at,
                "closes_at": market.closes_at,
                "channel": market.channel,
                "creator_subsidy": market.creator_subsidy,
            },
        )
        assert market_id is not None
        market.id = market_id
        return market

    async def save(self, market: Market) -> None:
        """Write a market's mutable fields back."""
        self.tx.tables.update(
            "market",
            market.id,
            status=str(market.status),
            q_json=json.dumps(market.q),
            volume=market.volume,
            traders=market.traders,
            closes_at=market.closes_at,
            closed_at=market.closed_at,
            resolved_at=market.resolved_at,
            resolution=market.resolution,
            evidence=market.evidence,
            known_at=market.known_at,
            settlement=market.settlement,
            escrow_before=market.escrow_before,
            card_ref=market.card_ref,
        )


class MemoryPositions:
    """Implements `bot.core.ports.Positions`."""

    def __init__(self, tx: MemoryTx) -> None:
        self.tx = tx

    async def of(self, market_id: int, account_id: int) -> list[Position]:
        """Return an account's positions in a market."""
        rows = self.tx.tables.where("position", market_id=market_id, account_id=account_id)
        return [position_of(r) for r in rows]

    async def of_accounts(self, market_id: int, account_ids: Sequence[int]) -> list[Position]:
        """Return the positions of some accounts in a market."""
        wanted = set(account_ids)
        rows = self.tx.tables.where("position", market_id=market_id)
        return [position_of(r) for r in rows if r["account_id"] in wanted]

    async def save(self, position: Position) -> None:
        """Insert or update a position."""
        values = {
            "shares": position.shares,
            "net_cost": position.net_cost,
            "first_trade_id": position.first_trade_id,
        }
        if position.id is None:
            position.id = self.tx.tables.insert(
                "position",
                {
                    "market_id": position.market_id,
                    "account_id": position.account_id,
                    "outcome": position.outcome,
                    **values,
                },
            )
        else:
            self.tx.tables.update("position", position.id, **values)

    async def holdings(
        self, account_id: int | None = None, *, limit: int | None = None, offset: int = 0
    ) -> list[Holding]:
        """Return positions with shares in unsettled markets (of one account, or all users),
        by market number then outcome: `limit` of them (None: all), after skipping `offset`."""
        unsettled, rows = self._held(account_id)
        markets: dict[int, Market] = {}
        holdings: list[Holding] = []
        for row in _window(rows, limit, offset):
            market = markets.get(row["market_id"])
            if market is None:
                market = markets[row["market_id"]] = market_of(unsettled[row["market_id"]])
            holdings.append(Holding(market, position_of(row)))
        return holdings

    async def count_holdings(self, account_id: int) -> int:
        """Return how many positions `holdings(account_id)` returns in all."""
        return len(self._held(account_id)[1])

    def _held(self, account_id: int | None) -> tuple[dict[int, Row], list[Row]]:
        """The community's unsettled markets by id, and the positions with shares in them (of
        one account, or of anyone) by market number, outcome and id."""
        tables = self.tx.tables
        unsettled = {
            m["id"]: m
            for m in tables.where("market", community_id=self.tx.community.id)
            if m["status"] in UNSETTLED
        }
        rows = [
            p
            for p in tables.rows("position")
            if p["market_id"] in unsettled
            and p["shares"] > 0
            and (account_id is None or p["account_id"] == account_id)
        ]
        rows.sort(key=lambda p: (unsettled[p["market_id"]]["number"], p["outcome"], p["id"]))
        return unsettled, rows

    async def winning_stakes(self, market_id: int, outcome: int) -> list[tuple[int, int]]:
        """Return (account id, stake) of an outcome's stakers, earliest stake first."""
        rows = [
            p
            for p in self.tx.tables.where("position", market_id=market_id, outcome=outcome)
            if p["shares"] > 0
        ]
        # No first stake sorts first, as SQLite orders NULLs.
        rows.sort(key=lambda p: (p["first_trade_id"] is not None, p["first_trade_id"] or 0))
        return [(r["account_id"], r["shares"]) for r in rows]


class MemoryTrades:
    """Implements `bot.core.ports.Trades`."""

    def __init__(self, tx: MemoryTx) -> None:
        self.tx = tx

    async def add(self, trade: Trade) -> int:
        """Store a trade and return its id."""
        trade_id = self.tx.tables.insert(
            "trade",
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
        assert trade_id is not None
        return trade_id

    async def after(self, market_id: int, when: datetime) -> list[Trade]:
        """Return the market's unvoided trades placed after a time, newest first."""
        rows = [
            r
            for r in self.tx.tables.where("trade", market_id=market_id, voided=False)
            if r["created_at"] > when
        ]
        return [
            Trade(
                market_id=r["market_id"],
                account_id=r["account_id"],
                outcome=r["outcome"],
                side=r["side"],
                amount=r["amount"],
                shares=r["shares"],
                prob_before=r["prob_before"],
                prob_after=r["prob_after"],
                created_at=r["created_at"],
                request_id=r["request_id"],
                id=r["id"],
            )
            for r in reversed(rows)
        ]

    async def void(self, trade_ids: Sequence[int]) -> None:
        """Mark trades as voided."""
        for trade_id in trade_ids:
            if self.tx.tables.get("trade", trade_id) is not None:
                self.tx.tables.update("trade", trade_id, voided=True)

    async def first_standing_buy(self, market_id: int, account_id: int, outcome: int) -> int | None:
        """Return the id of an account's earliest unvoided purchase of an outcome."""
        rows = self.tx.tables.where(
            "trade",
            market_id=market_id,
            account_id=account_id,
            outcome=outcome,
            side="buy",
            voided=False,
        )
        return int(rows[0]["id"]) if rows else None


class MemoryRequests:
    """Implements `bot.core.ports.Requests`."""

    def __init__(self, tx: MemoryTx) -> None:
        self.tx = tx

    def _row(self, request_id: str) -> Row:
        (row,) = self.tx.tables.where(
            "request", community_id=self.tx.community.id, request_id=request_id
        )
        return row

    async def claim(self, request_id: str, user_id: str, command: str) -> str | None:
        """Record a request id; return the stored answer if it was seen before."""
        inserted = self.tx.tables.insert(
            "request",
            {
                "community_id": self.tx.community.id,
                "request_id": request_id,
                "user_id": user_id,
                "command": command,
                "created_at": self.tx.now,
            },
            ignore=True,
        )
        if inserted is not None:
            return None
        stored = self._row(request_id)["result_json"]
        return str(stored) if stored is not None else None

    async def finish(self, request_id: str, result: str) -> None:
        """Store the answer to a claimed request."""
        self.tx.tables.update("request", self._row(request_id)["id"], result_json=result)


class MemoryOutbox:
    """Implements `bot.core.ports.Outbox`."""

    def __init__(self, tx: MemoryTx) -> None:
        self.tx = tx
        self.queued = 0

    async def add(
        self, kind: AnnouncementKind, market: Market | None, payload: str, dedupe_key: str
    ) -> None:
        """Queue an announcement in this transaction (ignored if the key exists)."""
        tx = self.tx
        channel = tx.community.settings.announce_channel or (market.channel if market else None)
        now = tx.now
        tx.tables.insert(
            "outbox",
            {
                "community_id": tx.community.id,
                "market_id": market.id if market else None,
                "kind": str(kind),
                "dedupe_key": dedupe_key,
                "channel": channel,
                "payload_json": payload,
                "created_at": now,
                "attempts": 0,
                "next_attempt_at": now,
            },
            ignore=True,
        )
        self.queued += 1

    async def failed(self, limit: int) -> list[FailedAnnouncement]:
        """Return the community's announcements given up on, newest first."""
        tables = self.tx.tables
        rows = [
            r
            for r in tables.where("outbox", community_id=self.tx.community.id)
            if r["failed_at"] is not None
        ]
        rows.sort(key=lambda r: (r["failed_at"], r["id"]), reverse=True)
        failed = []
        for r in rows[:limit]:
            market = tables.get("market", r["market_id"])
            failed.append(
                FailedAnnouncement(
                    r["kind"],
                    None if market is None else market["number"],
                    r["channel"],
                    r["attempts"],
                    r["failed_at"],
                    r["last_error"],
                )
            )
        return failed

    async def count_failed(self) -> int:
        """Return how many of the community's announcements were given up on."""
        found = self.tx.tables.where("outbox", community_id=self.tx.community.id)
        return sum(1 for r in found if r["failed_at"] is not None)


class MemoryCommunities:
    """Implements `bot.core.ports.Communities`."""

    def __init__(self, tx: MemoryTx) -> None:
        self.tx = tx

    async def save_settings(self, settings: CommunitySettings) -> None:
        """Store the community's settings."""
        self.tx.tables.update(
            "community", self.tx.community.id, settings_json=settings_to_json(settings)
        )
        self.tx.community = dataclasses.replace(self.tx.community, settings=settings)


class MemoryProbe:
    """Read a memory store's committed rows; implements `tests.invariants.Probe`."""

    def __init__(self, store: MemoryStore) -> None:
        self.store = store

    async def rows(self, table: str) -> list[Mapping[str, Any]]:
        """Return every row of a table, ordered by id (copies: checks can't change the store)."""
        rows = self.store.state.tables[table]
        return [dict(rows[i]) for i in sorted(rows)]
