"""Random sequences of every command by a few users keep the ledger sound, on every store.

After every step: the ledger sums to zero and matches the cached balances, only reversals
make a balance negative, the house never loses more than the subsidy it funded, and every
user's balance equals the one computed from the trades that stand (`tests.invariants`)."""

from __future__ import annotations

import asyncio
import shutil
import tempfile
import uuid
from contextlib import AsyncExitStack
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from bot.core.commands import (
    CancelMarket,
    ClaimDaily,
    CloseMarket,
    Command,
    Configure,
    CreateMarket,
    ExtendMarket,
    PlaceBet,
    ResolveMarket,
    SellShares,
    ShowLeaderboard,
    ShowPortfolio,
    UnresolveMarket,
)
from bot.core.errors import PredictError
from bot.core.money import MICRO
from bot.core.views import Result
from tests import invariants
from tests.helpers import FakeClock, ctx
from tests.world import open_world

USERS = ["al", "bo", "cy", "mod"]  # mod is a moderator
actors = st.sampled_from(USERS)
markets = st.integers(1, 4)  # sometimes a market that does not exist yet
outcomes = st.sampled_from(["1", "2", "3", "na"])


class LedgerMachine(RuleBasedStateMachine):
    """Drive the service from synchronous rules on a loop of our own, on a fresh store."""

    KIND = "memory"

    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.dir = tempfile.mkdtemp(prefix="predictbot-stateful-")
        self.stack = AsyncExitStack()
        self.clock = FakeClock()
        world = self.loop.run_until_complete(
            self.stack.enter_async_context(open_world(self.KIND, self.clock, self.dir))
        )
        self.probe = world.probe
        self.service = world.service
        self.last: tuple[str, Command, str, Result] | None = None

    def teardown(self) -> None:
        """Close the store (dropping its database) and the loop."""
        self.loop.run_until_complete(self.stack.aclose())
        self.loop.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    def _run(self, user: str, command: Command) -> None:
        """Run a command; a refusal must leave every table as it was."""
        before = self.loop.run_until_complete(invariants.snapshot(self.probe))
        rid = uuid.uuid4().hex
        try:
            result = self.loop.run_until_complete(
                self.service.execute(command, ctx(user, rid, moderator=user == "mod"))
            )
        except PredictError as error:
            after = self.loop.run_until_complete(invariants.snapshot(self.probe))
            changed = [name for name in before if before[name] != after[name]]
            assert not changed, f"refused {command} ({error.message}) changed {changed}"
            return
        self.last = (user, command, rid, result)

    @rule(
        user=actors,
        mechanism=st.sampled_from(["lmsr", "lmsr", "pool"]),
        n=st.integers(2, 4),
        liquidity=st.sampled_from([None, 10, 300, 1000]),
        hours=st.sampled_from([1, 48]),
    )
    def create(self, user: str, mechanism: str, n: int, liquidity: int | None, hours: int) -> None:
        names = tuple(f"Option {i}" for i in range(n))
        when = (self.clock.now() + timedelta(hours=hours)).isoformat()
        question = "Will the random walk end up somewhere?"
        self._run(user, CreateMarket(question, when, names, None, mechanism, liquidity))

    @rule(
        user=actors,
        market=markets,
        outcome=outcomes,
        amount=st.sampled_from([1, 7, 60, 400, 1100]),
    )
    def bet(self, user: str, market: int, outcome: str, amount: int) -> None:
        self._run(user, PlaceBet(market, outcome, amount))

    @rule(
        user=actors,
        market=markets,
        outcome=outcomes,
        shares=st.sampled_from([None, None, MICRO // 2, 3 * MICRO, 80 * MICRO]),
    )
    def sell(self, user: str, market: int, outcome: str, shares: int | None) -> None:
        self._run(user, SellShares(market, outcome, shares))

    @rule(user=actors, market=markets)
    def close(self, user: str, market: int) -> None:
        self._run(user, CloseMarket(market))

    @rule(user=actors, market=markets, hours=st.sampled_from([2, 72]))
    def extend(self, user: str, market: int, hours: int) -> None:
        self._run(
            user, ExtendMarket(market, (self.clock.now() + timedelta(hours=hours)).isoformat())
        )

    @rule(
        user=actors,
        market=markets,
        outcome=outcomes,
        known_ago=st.sampled_from([None, None, 0, 20, 90, 10_000]),
    )
    def resolve(self, user: str, market: int, outcome: str, known_ago: int | None) -> None:
        known = None
        if known_ago is not None:
            known = (self.clock.now() - timedelta(minutes=known_ago)).isoformat()
        self._run(user, ResolveMarket(market, outcome, None, known))

    @rule(user=actors, market=markets)
    def cancel(self, user: str, market: int) -> None:
        self._run(user, CancelMarket(market))

    @rule(user=actors, market=markets)
    def unresolve(self, user: str, market: int) -> None:
        self._run(user, UnresolveMarket(market))

    @rule(market=markets, outcome=outcomes, known_ago=st.sampled_from([None, 0, 45]))
    def reresolve(self, market: int, outcome: str, known_ago: int | None) -> None:
        """A moderator takes a resolution back and resolves again (perhaps the same way)."""
        self._run("mod", UnresolveMarket(market))
        self.resolve("mod", market, outcome, known_ago)

    @rule(user=actors)
    def daily(self, user: str) -> None:
        self._run(user, ClaimDaily())

    @rule(
        user=actors,
        key=st.sampled_from(["daily_allowance", "house_liquidity", "moderator_liquidity"]),
        value=st.sampled_from(["0", "10", "50", "default"]),
    )
    def configure(self, user: str, key: str, value: str) -> None:
        self._run(user, Configure(((key, value),)))

    @rule(user=actors)
    def look(self, user: str) -> None:
        self._run(user, ShowPortfolio())
        self._run(user, ShowLeaderboard())

    @rule(minutes=st.sampled_from([1, 30, 240, 1500]))
    def wait(self, minutes: int) -> None:
        self.clock.advance(minutes=minutes)
        for number in range(1, 5):  # the scheduler's job: close what is due
            self.loop.run_until_complete(self.service.close_due("console", "test", number))

    @precondition(lambda self: self.last is not None)
    @rule()
    def repeat(self) -> None:
        assert self.last is not None
        user, command, rid, first = self.last
        before = self.loop.run_until_complete(invariants.snapshot(self.probe))
        again = self.loop.run_until_complete(
            self.service.execute(command, ctx(user, rid, moderator=user == "mod"))
        )
        assert again == first
        assert self.loop.run_until_complete(invariants.snapshot(self.probe)) == before

    @invariant()
    def ledger_is_sound(self) -> None:
        self.loop.run_until_complete(invariants.check_ledger(self.probe))

    @invariant()
    def balances_follow_from_the_trades_that_stand(self) -> None:
        actual = self.loop.run_until_complete(invariants.check_ledger(self.probe))
        expected = self.loop.run_until_complete(invariants.expected_balances(self.probe))
        assert actual == expected

    @invariant()
    def markets_match_their_standing_trades(self) -> None:
        self.loop.run_until_complete(invariants.check_markets(self.probe))


class SqliteLedgerMachine(LedgerMachine):
    """The same machine on SQLite (a fresh database file per example)."""

    KIND = "sqlite"


class PostgresLedgerMachine(LedgerMachine):
    """The same machine on PostgreSQL (a fresh schema per example)."""

    KIND = "postgres"


_SETTINGS = settings(
    max_examples=15,
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
LedgerMachine.TestCase.settings = _SETTINGS
SqliteLedgerMachine.TestCase.settings = _SETTINGS
PostgresLedgerMachine.TestCase.settings = _SETTINGS


class TestLedgerMemory(LedgerMachine.TestCase):  # type: ignore[misc,name-defined]
    """The machine on the in-memory store."""


class TestLedgerSqlite(SqliteLedgerMachine.TestCase):  # type: ignore[misc,name-defined]
    """The machine on SQLite."""


@pytest.mark.postgres
class TestLedgerPostgres(PostgresLedgerMachine.TestCase):  # type: ignore[misc,name-defined]
    """The machine on PostgreSQL."""
