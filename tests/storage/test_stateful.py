"""Random sequences of every command by a few users keep the ledger sound (SQLite)."""

from __future__ import annotations

import asyncio
import json
import shutil
import tempfile
import uuid
from datetime import timedelta

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule
from sqlalchemy import text

from bot.core.commands import (
    MICRO,
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
from bot.core.views import Result
from storage.engine import create_engine, migrate
from tests.helpers import FakeClock, ctx, ledger_check, make_service, snapshot

USERS = ["al", "bo", "cy", "mod"]  # mod is a moderator
actors = st.sampled_from(USERS)
markets = st.integers(1, 4)  # sometimes a market that does not exist yet
outcomes = st.sampled_from(["1", "2", "3", "na"])


class LedgerMachine(RuleBasedStateMachine):
    """Drive the service from synchronous rules on a loop of our own."""

    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.dir = tempfile.mkdtemp(prefix="predictbot-stateful-")
        self.engine = create_engine(f"sqlite:///{self.dir}/state.db")
        self.loop.run_until_complete(migrate(self.engine))
        self.clock = FakeClock()
        self.service = make_service(self.engine, self.clock)
        self.last: tuple[str, Command, str, Result] | None = None

    def teardown(self) -> None:
        """Close the engine and the loop, and remove the database."""
        self.loop.run_until_complete(self.engine.dispose())
        self.loop.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    def _run(self, user: str, command: Command) -> None:
        """Run a command; a refusal must leave every table as it was."""
        before = self.loop.run_until_complete(snapshot(self.engine))
        rid = uuid.uuid4().hex
        try:
            result = self.loop.run_until_complete(
                self.service.execute(command, ctx(user, rid, moderator=user == "mod"))
            )
        except PredictError as error:
            after = self.loop.run_until_complete(snapshot(self.engine))
            changed = [name for name in before if before[name] != after[name]]
            assert not changed, f"refused {command} ({error.message}) changed {changed}"
            return
        self.last = (user, command, rid, result)

    @rule(
        user=actors,
        mechanism=st.sampled_from(["lmsr", "lmsr", "pool"]),
        n=st.integers(2, 4),
        liquidity=st.sampled_from([None, 10, 1000]),
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

    @rule(user=actors)
    def daily(self, user: str) -> None:
        self._run(user, ClaimDaily())

    @rule(user=actors, allowance=st.sampled_from(["0", "10", "50"]))
    def configure(self, user: str, allowance: str) -> None:
        self._run(user, Configure((("daily_allowance", allowance),)))

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
        before = self.loop.run_until_complete(snapshot(self.engine))
        again = self.loop.run_until_complete(
            self.service.execute(command, ctx(user, rid, moderator=user == "mod"))
        )
        assert again == first
        assert self.loop.run_until_complete(snapshot(self.engine)) == before

    @invariant()
    def ledger_is_sound(self) -> None:
        balances = self.loop.run_until_complete(ledger_check(self.engine))
        assert all(b >= 0 for b in balances.values())

    @invariant()
    def markets_match_positions(self) -> None:
        async def check() -> None:
            async with self.engine.connect() as conn:
                markets = (await conn.execute(text("SELECT id, q_json FROM market"))).all()
                held = (
                    await conn.execute(
                        text("SELECT market_id, outcome, SUM(shares) FROM position GROUP BY 1, 2")
                    )
                ).all()
                escrows = (
                    await conn.execute(
                        text("SELECT balance FROM account WHERE kind = 'escrow' AND balance < 0")
                    )
                ).all()
            shares = {(m, o): int(n) for m, o, n in held}
            for market_id, q_json in markets:
                q = json.loads(q_json)
                assert q == [shares.get((market_id, i), 0) for i in range(len(q))]
                assert all(x >= 0 for x in q)
            assert not escrows, f"negative escrow: {escrows}"

        self.loop.run_until_complete(check())


LedgerMachine.TestCase.settings = settings(
    max_examples=15,
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestLedger = LedgerMachine.TestCase
