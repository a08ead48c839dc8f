"""The in-memory store keeps the SQL store's shape and a stricter discipline: its tables have
the SQL tables' columns and unique constraints, a reader cannot write at all, writers queue,
and a reader keeps the state it began on."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import UniqueConstraint

from bot.core.commands import ShowBalance
from bot.core.models import AnnouncementKind, EntryKind, MarketStatus
from bot.core.service import Service
from storage import tables as t
from tests.fakes.memory_store import (
    COLUMNS,
    UNIQUE,
    IntegrityError,
    MemoryProbe,
    MemoryStore,
    ReadOnlyTransaction,
)
from tests.flow import create, run
from tests.helpers import FakeClock
from tests.invariants import TABLES

M = 1_000_000


def test_the_tables_are_the_sql_tables() -> None:
    assert set(COLUMNS) == set(TABLES)
    for name, columns in COLUMNS.items():
        table = t.table(name)
        assert list(columns) == [c.name for c in table.columns], name
        unique = {
            tuple(c.name for c in constraint.columns)
            for constraint in table.constraints
            if isinstance(constraint, UniqueConstraint)
        } | {(c.name,) for c in table.columns if c.unique}
        assert unique == set(UNIQUE.get(name, ())), name


@pytest.fixture
def store(clock: FakeClock) -> MemoryStore:
    return MemoryStore(now=clock.now)


async def test_a_read_transaction_cannot_change_anything(
    store: MemoryStore, clock: FakeClock
) -> None:
    await run(Service(store, clock), ShowBalance(), "bo")
    state = store.state
    async with store.transaction("console", "test", write=False) as tx:
        bo = await tx.accounts.find("bo")
        assert bo is not None
        house = tx.community.house_account_id
        with pytest.raises(ReadOnlyTransaction):
            await tx.ledger.transfer(house, bo.id, M, EntryKind.DAILY)
        with pytest.raises(ReadOnlyTransaction):
            await tx.accounts.claim_daily(bo.id, "2026-03-02")
        with pytest.raises(ReadOnlyTransaction):
            await tx.outbox.add(AnnouncementKind.FAILED, None, "{}", "key")
        await tx.commit()  # nothing to commit
    assert store.state is state


async def test_unique_constraints_hold(store: MemoryStore) -> None:
    async with store.transaction("console", "test", write=True) as tx:
        await tx.accounts.ensure("bo", "Bo")

        def account(user_id: str | None) -> dict[str, object]:
            values = {"community_id": tx.community.id, "user_id": user_id, "created_at": tx.now}
            return {**values, "kind": "user", "display_name": "again"}

        with pytest.raises(IntegrityError, match="already has"):
            tx.tables.insert("account", account("bo"))
        assert tx.tables.insert("account", account("bo"), ignore=True) is None
        # As in SQL, NULLs never conflict: the house and the escrows have no user id.
        assert tx.tables.insert("account", account(None)) is not None


async def test_writers_queue_one_after_another(store: MemoryStore) -> None:
    first_in, release = asyncio.Event(), asyncio.Event()
    seen: list[int] = []

    async def first() -> None:
        async with store.transaction("console", "test", write=True) as tx:
            await tx.accounts.ensure("al", "Al")
            first_in.set()
            await release.wait()
            await tx.commit()

    async def second() -> None:
        async with store.transaction("console", "test", write=True) as tx:
            seen.append(len(await tx.accounts.users()))

    one = asyncio.create_task(first())
    await first_in.wait()
    two = asyncio.create_task(second())  # scheduled before the first resumes
    release.set()
    await asyncio.gather(one, two)
    assert seen == [1]  # the second began after the first committed


async def test_a_reader_keeps_the_state_it_began_on(store: MemoryStore, clock: FakeClock) -> None:
    service = Service(store, clock)
    await create(service)
    async with store.transaction("console", "test", write=False) as tx:
        await run(service, ShowBalance(), "zed")  # commits while the reader is open
        assert await tx.accounts.find("zed") is None
        assert [m.number for m in await tx.markets.with_status([MarketStatus.OPEN], 10)] == [1]
    async with store.transaction("console", "test", write=False) as tx:
        assert await tx.accounts.find("zed") is not None
    assert len(await MemoryProbe(store).rows("account")) == 4  # house, al, escrow, zed
