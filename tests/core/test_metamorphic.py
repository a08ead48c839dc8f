"""Long random command sequences: balances always follow from the trades that stand.

Where the hypothesis machine (test_stateful.py) explores short sequences with a snapshot after
every refusal, these runs are long (hundreds of commands on a few markets, seeded, so each run
is the same every time) and aim at the settlement paths that used to create points: known-at
times that fall between a user's purchase and sale, payouts spent before an unresolve,
re-resolving, cancels with sale profits, and creator-funded subsidies. Two metamorphic
relations are checked besides the model: taking a resolution back and resolving the same way
again changes no balance; and resolving with `known:` leaves every user exactly where the same
resolution would have left them had the voided trades never been placed.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

import pytest

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
    UnresolveMarket,
)
from bot.core.errors import PredictError
from bot.core.models import Context
from bot.core.service import Service
from tests import invariants
from tests.helpers import FakeClock, ctx
from tests.world import World

USERS = ("al", "bo", "cy", "di", "mod")


class Walk:
    """One seeded random walk through the commands."""

    def __init__(self, service: Service, clock: FakeClock, seed: int) -> None:
        self.service, self.clock, self.rng = service, clock, random.Random(seed)
        self.trade_times: dict[int, list[datetime]] = {}
        self.markets = 0
        self.done = 0

    async def run(self, user: str, command: Command) -> bool:
        try:
            await self.service.execute(command, ctx(user, moderator=user == "mod"))
        except PredictError:
            return False
        self.done += 1
        return True

    async def step(self) -> None:
        rng, now = self.rng, self.clock.now()
        user = rng.choice(USERS)
        # Mostly the newest markets: older ones are settled by now.
        number = rng.randint(max(1, self.markets - 2), max(self.markets, 1))
        choice = rng.random()
        if choice < 0.06 or not self.markets:
            mechanism = rng.choice(["lmsr", "lmsr", "lmsr", "pool"])
            liquidity = rng.choice([None, None, 20, 250, 1500])
            outcomes = tuple(f"Option {i}" for i in range(rng.randint(2, 4)))
            closes = (now + timedelta(days=rng.choice([2, 5, 30]))).isoformat()
            command = CreateMarket(
                "Where will the random walk end?", closes, outcomes, None, mechanism, liquidity
            )
            if await self.run(user, command):
                self.markets += 1
        elif choice < 0.50:
            outcome = str(rng.choice([1, 1, 2, 2, 3, 4]))
            if await self.run(user, PlaceBet(number, outcome, rng.choice([3, 40, 150, 600]))):
                self.trade_times.setdefault(number, []).append(now)
        elif choice < 0.70:
            shares = rng.choice([None, None, 2_000_000, 40_000_000])
            outcome = str(rng.choice([1, 1, 2, 2, 3]))
            if await self.run(user, SellShares(number, outcome, shares)):
                self.trade_times.setdefault(number, []).append(now)
        elif choice < 0.77:
            outcome, known = self._resolution(number)
            await self.run(rng.choice(["mod", user]), ResolveMarket(number, outcome, None, known))
        elif choice < 0.83:
            await self.run("mod", UnresolveMarket(number))
        elif choice < 0.85:
            await self.run(rng.choice(["mod", user]), CancelMarket(number))
        elif choice < 0.87:
            await self.run(user, CloseMarket(number))
        elif choice < 0.91:
            closes = (now + timedelta(days=rng.choice([2, 10]))).isoformat()
            await self.run(rng.choice(["mod", user]), ExtendMarket(number, closes))
        elif choice < 0.97:
            await self.run(user, ClaimDaily())
        else:
            key = rng.choice(["house_liquidity", "moderator_liquidity", "daily_allowance"])
            await self.run("mod", Configure(((key, rng.choice(["0", "50", "default"])),)))
        self.clock.advance(minutes=rng.choice([1, 7, 30, 120]))

    def _resolution(self, number: int) -> tuple[str, str | None]:
        """An outcome, and often a known-at time just before one of the market's trades."""
        rng = self.rng
        outcome = rng.choice(["1", "2", "3", "na"])
        times = self.trade_times.get(number, [])
        if times and rng.random() < 0.5:
            return outcome, (rng.choice(times) - timedelta(seconds=1)).isoformat()
        return outcome, None


async def _check(probe: invariants.Probe) -> dict[str, int]:
    balances = await invariants.check_ledger(probe)
    await invariants.check_markets(probe)
    assert balances == await invariants.expected_balances(probe)
    return balances


@pytest.mark.parametrize("seed", range(6))
async def test_long_random_walks_keep_every_balance_explained(
    service: Service, world: World, clock: FakeClock, seed: int
) -> None:
    probe = world.probe
    walk = Walk(service, clock, seed)
    for n in range(240):
        await walk.step()
        if n % 40 == 39:
            await _check(probe)
    balances = await _check(probe)
    assert walk.done > 60  # the walk did things, not just get refused
    # Metamorphic: unresolving and resolving every resolved market the same way again
    # (with its known-at) changes no balance.
    for number in range(1, walk.markets + 1):
        card = await service.card("console", "test", number)
        if card is None or card.status != "resolved":
            continue
        market_known = await _known_at(world, number)
        await walk.run("mod", UnresolveMarket(number))
        await walk.run("mod", ResolveMarket(number, card.resolution or "na", None, market_known))
    assert await _check(probe) == balances


async def _known_at(world: World, number: int) -> str | None:
    ((known,),) = await world.select("market", "known_at", number=number)
    return None if known is None else known.isoformat()


@pytest.mark.parametrize("seed", range(4))
async def test_voiding_equals_never_having_traded(
    world: World, clock: FakeClock, seed: int, service: Service
) -> None:
    """Resolve one market with known-at; replay only its standing trades on a second
    market and resolve it without: every user's result on the two is the same."""
    rng = random.Random(seed)

    def mod() -> Context:
        return ctx("mod", moderator=True)  # a new request id each time

    # Deep pockets, so that no replayed trade is refused for want of points.
    await service.execute(Configure((("starting_balance", "1000000"),)), mod())
    for user in USERS[:4]:
        await service.execute(ClaimDaily(), ctx(user))
    trades: list[tuple[str, Command, datetime]] = []
    await service.execute(CreateMarket("Is the voided market the same?", "2026-04-30"), mod())
    clock.advance(minutes=1)
    before = await invariants.check_ledger(world.probe)
    for _ in range(40):
        user = rng.choice(USERS[:4])
        outcome = str(rng.randint(1, 2))
        command: Command
        if rng.random() < 0.65:
            command = PlaceBet(1, outcome, rng.choice([5, 50, 200]))
        else:
            command = SellShares(1, outcome, rng.choice([None, 3_000_000]))
        try:
            await service.execute(command, ctx(user))
        except PredictError:
            continue
        trades.append((user, command, clock.now()))
        clock.advance(minutes=rng.choice([1, 30]))
    known = rng.choice([t for _, _, t in trades]) - timedelta(seconds=1)
    winner = rng.choice(["1", "2"])
    await service.execute(ResolveMarket(1, winner, None, known.isoformat()), mod())
    voided = await invariants.check_ledger(world.probe)
    # The same community, a second market: only the trades placed before `known`.
    await service.execute(CreateMarket("Is the voided market the same?", "2026-04-30"), mod())
    for user, command, when in trades:
        if when <= known:
            assert isinstance(command, PlaceBet | SellShares)
            replayed = (
                PlaceBet(2, command.outcome, command.points)
                if isinstance(command, PlaceBet)
                else SellShares(2, command.outcome, command.micro_shares)
            )
            await service.execute(replayed, ctx(user))
    await service.execute(ResolveMarket(2, winner), mod())
    again = await invariants.check_ledger(world.probe)
    assert set(before) == set(voided) == set(again)
    for user in before:
        first = voided[user] - before[user]
        second = again[user] - voided[user]
        assert first == second, (user, first, second)
