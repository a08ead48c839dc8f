"""Every refusal names the problem and leaves the store exactly as it was (on every store)."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from bot.core.commands import (
    CancelMarket,
    ClaimDaily,
    CloseMarket,
    Command,
    Configure,
    CreateMarket,
    ExtendMarket,
    ListMarkets,
    ListOverdue,
    PlaceBet,
    ResolveMarket,
    SellShares,
    ShowBalance,
    ShowMarket,
    ShowPortfolio,
    UnresolveMarket,
)
from bot.core.errors import (
    InsufficientFunds,
    InvalidInput,
    MarketNotOpen,
    NotAllowed,
    NotFound,
    PredictError,
)
from bot.core.service import Service
from tests.flow import MOD, bet, create, run
from tests.helpers import FakeClock, ctx
from tests.world import World

Q = "Will it rain in Paris tomorrow?"
OPEN, POOL, CLOSED, RESOLVED, CANCELLED, OWN = 1, 2, 3, 4, 5, 6


@dataclass(frozen=True)
class Case:
    """One refused request: who sends what, the error and words its message must contain."""

    user: str
    command: Command
    error: type[PredictError]
    words: tuple[str, ...]


CASES = [
    # bad numbers
    Case("bo", PlaceBet(OPEN, "yes", 0), InvalidInput, ("between 1",)),
    Case("bo", PlaceBet(OPEN, "yes", -5), InvalidInput, ("between 1",)),
    Case("bo", PlaceBet(OPEN, "yes", 10**9 + 1), InvalidInput, ("between 1",)),
    Case("bo", SellShares(OPEN, "yes", 0), InvalidInput, ("positive",)),
    Case("bo", SellShares(OPEN, "yes", -1), InvalidInput, ("positive",)),
    Case("mod", CreateMarket(Q, "2026-04-01", liquidity=5), InvalidInput, ("liquidity", "10")),
    Case("mod", CreateMarket(Q, "2026-04-01", liquidity=100_001), InvalidInput, ("liquidity",)),
    # unknown market or outcome
    Case("bo", PlaceBet(99, "yes", 5), NotFound, ("no market #99",)),
    Case("bo", SellShares(99, "yes", None), NotFound, ("no market #99",)),
    Case("bo", ShowMarket(99), NotFound, ("no market #99",)),
    Case("al", CloseMarket(99), NotFound, ("#99",)),
    Case("al", ExtendMarket(99, "2026-05-01"), NotFound, ("#99",)),
    Case("mod", ResolveMarket(99, "yes"), NotFound, ("#99",)),
    Case("mod", CancelMarket(99), NotFound, ("#99",)),
    Case("mod", UnresolveMarket(99), NotFound, ("#99",)),
    Case("bo", PlaceBet(OPEN, "maybe", 5), NotFound, ("no outcome", "maybe", "1. Yes")),
    Case("bo", PlaceBet(OPEN, "3", 5), NotFound, ("no outcome",)),
    Case("bo", SellShares(OPEN, "maybe", None), NotFound, ("no outcome",)),
    Case("mod", ResolveMarket(OPEN, "maybe"), NotFound, ("no outcome",)),
    Case("bo", ShowBalance("@nobody"), NotFound, ("@nobody", "no points")),
    # market not open
    Case("bo", PlaceBet(CLOSED, "yes", 5), MarketNotOpen, ("closed", "trading has ended")),
    Case("bo", PlaceBet(RESOLVED, "yes", 5), MarketNotOpen, ("resolved",)),
    Case("bo", PlaceBet(CANCELLED, "yes", 5), MarketNotOpen, ("cancelled",)),
    Case("bo", SellShares(CLOSED, "yes", None), MarketNotOpen, ("trading has ended",)),
    Case("bo", SellShares(POOL, "yes", None), InvalidInput, ("pool market",)),
    Case("al", CloseMarket(CLOSED), MarketNotOpen, ("already closed",)),
    Case("al", CloseMarket(RESOLVED), MarketNotOpen, ("already resolved",)),
    Case("mod", ResolveMarket(RESOLVED, "no"), MarketNotOpen, ("already resolved", "unresolve")),
    Case("mod", ResolveMarket(CANCELLED, "no"), MarketNotOpen, ("already cancelled",)),
    Case("mod", CancelMarket(RESOLVED), MarketNotOpen, ("already resolved",)),
    Case("mod", UnresolveMarket(OPEN), MarketNotOpen, ("not resolved",)),
    Case("mod", UnresolveMarket(CLOSED), MarketNotOpen, ("not resolved",)),
    Case("al", ExtendMarket(RESOLVED, "2026-05-01"), MarketNotOpen, ("can't change",)),
    # not allowed
    Case("bo", CloseMarket(OPEN), NotAllowed, ("creator or a moderator",)),
    Case("bo", ExtendMarket(OPEN, "2026-05-01"), NotAllowed, ("creator or a moderator",)),
    Case("bo", ResolveMarket(OPEN, "yes"), NotAllowed, ("moderator",)),
    Case("al", ResolveMarket(OWN, "yes"), NotAllowed, ("no position",)),
    Case("al", ResolveMarket(OWN, "na"), NotAllowed, ("no position",)),
    Case("bo", CancelMarket(OPEN), NotAllowed, ("moderator",)),
    Case("al", CancelMarket(OWN), NotAllowed, ("no position",)),
    Case("al", UnresolveMarket(RESOLVED), NotAllowed, ("moderator",)),
    Case("bo", Configure(), NotAllowed, ("moderators",)),
    Case("bo", Configure((("daily_allowance", "10"),)), NotAllowed, ("moderators",)),
    Case("bo", ListOverdue(), NotAllowed, ("moderators",)),
    Case("bo", ClaimDaily(), NotAllowed, ("already claimed",)),
    # not enough points or shares
    Case("bo", PlaceBet(OPEN, "yes", 986), InsufficientFunds, ("985", "986")),
    Case("bo", PlaceBet(POOL, "no", 5000), InsufficientFunds, ("5,000",)),
    Case("cy", SellShares(OPEN, "yes", None), InsufficientFunds, ("hold no shares",)),
    Case("bo", SellShares(OPEN, "no", None), InsufficientFunds, ("hold no shares",)),
    Case("bo", SellShares(OPEN, "yes", 10**12), InsufficientFunds, ("you asked to sell",)),
    # deadlines
    Case("mod", CreateMarket(Q, "2020-01-01"), InvalidInput, ("in the past",)),
    Case("mod", CreateMarket(Q, "2026-03-02T12:00:30Z"), InvalidInput, ("too soon", "1 minute")),
    Case("mod", CreateMarket(Q, "when pigs fly"), InvalidInput, ()),
    Case("al", ExtendMarket(OPEN, "2020-01-01"), InvalidInput, ("in the past",)),
    Case("al", ExtendMarket(OPEN, "2026-03-02T12:00:30Z"), InvalidInput, ("too soon",)),
    Case("al", ExtendMarket(OPEN, "2026-03-05"), InvalidInput, ("already closes", "later")),
    Case("mod", ResolveMarket(OPEN, "yes", known="2026-03-03"), InvalidInput, ("future",)),
    # over-long or malformed text
    Case("mod", CreateMarket("Too short", "2026-04-01"), InvalidInput, ("too short", "10")),
    Case("mod", CreateMarket("x" * 301, "2026-04-01"), InvalidInput, ("301", "300")),
    Case("mod", CreateMarket(Q, "2026-04-01", criteria="c" * 2001), InvalidInput, ("2000",)),
    Case("mod", CreateMarket(Q, "2026-04-01", outcomes=("Only",)), InvalidInput, ("2 to 10",)),
    Case(
        "mod",
        CreateMarket(Q, "2026-04-01", outcomes=tuple(f"O{i}" for i in range(11))),
        InvalidInput,
        ("2 to 10", "11"),
    ),
    Case("mod", CreateMarket(Q, "2026-04-01", outcomes=("Yes", " yes ")), InvalidInput, ("twice",)),
    Case(
        "mod",
        CreateMarket(Q, "2026-04-01", outcomes=("Yes", "n" * 51)),
        InvalidInput,
        ("too long", "50"),
    ),
    Case("mod", CreateMarket(Q, "2026-04-01", outcomes=("Yes", "2")), InvalidInput, ("reserved",)),
    Case(
        "mod", CreateMarket(Q, "2026-04-01", outcomes=("Yes", "N/A")), InvalidInput, ("reserved",)
    ),
    Case("mod", CreateMarket(Q, "2026-04-01", mechanism="dutch"), InvalidInput, ("mechanism",)),
    Case("mod", ResolveMarket(OPEN, "yes", evidence="ftp://x.org/a"), InvalidInput, ("http://",)),
    Case("mod", ResolveMarket(OPEN, "yes", evidence="see the news"), InvalidInput, ("link",)),
    Case("bo", ListMarkets("someday"), InvalidInput, ("Unknown status",)),
    # pages that do not exist
    Case("bo", ListMarkets("open", page=0), InvalidInput, ("numbered from 1",)),
    Case("bo", ListMarkets("open", page=2), InvalidInput, ("no page 2", "open markets", "page 1")),
    Case("bo", ListMarkets("all", page=10**30), InvalidInput, ("no page 1,000,000", "6 markets")),
    Case("bo", ShowPortfolio(page=-1), InvalidInput, ("numbered from 1",)),
    Case("bo", ShowPortfolio(page=2), InvalidInput, ("no page 2", "open position")),
    Case("mod", ListOverdue(page=2), InvalidInput, ("no page 2", "1 market waiting")),
    Case("mod", ListOverdue(page=0), InvalidInput, ("numbered from 1",)),
    # bad settings (all-or-nothing: a good change before a bad one is not kept)
    Case("mod", Configure((("starting_balance", "lots"),)), InvalidInput, ("starting_balance",)),
    Case("mod", Configure((("daily_allowance", "-1"),)), InvalidInput, ("daily_allowance",)),
    Case("mod", Configure((("default_liquidity", "5"),)), InvalidInput, ("default_liquidity",)),
    Case("mod", Configure((("timezone", "Mars/Olympus"),)), InvalidInput, ("not a timezone",)),
    Case("mod", Configure((("create_policy", "everyone"),)), InvalidInput, ("anyone",)),
    Case("mod", Configure((("min_duration", "31d"),)), InvalidInput, ("30 days",)),
    Case("mod", Configure((("min_duration", "soon"),)), InvalidInput, ("not a duration",)),
    Case("mod", Configure((("colour", "red"),)), InvalidInput, ("Unknown setting",)),
    Case(
        "mod",
        Configure((("daily_allowance", "10"), ("timezone", "Nowhere/Here"))),
        InvalidInput,
        ("timezone",),
    ),
]

# The same refusals for someone the bot has never seen: their account must not be created.
NEWCOMER_CASES = [
    Case("zed", PlaceBet(OPEN, "yes", 1001), InsufficientFunds, ("1,000",)),
    Case("zed", PlaceBet(CLOSED, "yes", 5), MarketNotOpen, ("trading has ended",)),
    Case("zed", PlaceBet(OPEN, "maybe", 5), NotFound, ("no outcome",)),
    Case("zed", PlaceBet(OPEN, "yes", 0), InvalidInput, ("between 1",)),
    Case("zed", SellShares(OPEN, "yes", None), InsufficientFunds, ("hold no shares",)),
    Case("zed", CreateMarket("Short", "2026-04-01"), InvalidInput, ("too short",)),
    Case("zed", CreateMarket(Q, "2020-01-01"), InvalidInput, ("in the past",)),
    Case("zed", ResolveMarket(OPEN, "yes"), NotAllowed, ("moderator",)),
    Case("zed", CancelMarket(OPEN), NotAllowed, ("moderator",)),
    Case("zed", ShowPortfolio(page=2), InvalidInput, ("no page 2", "no open positions")),
    Case("zed", CloseMarket(OPEN), NotAllowed, ("creator",)),
    Case("zed", Configure(), NotAllowed, ("moderators",)),
    Case("zed", ListOverdue(), NotAllowed, ("moderators",)),
]


async def _world(service: Service) -> None:
    """Markets in every state: #1 open (bo holds Yes), #2 pool, #3 closed, #4 resolved,
    #5 cancelled, #6 open with its creator holding a position."""
    assert await create(service) == OPEN
    assert await create(service, mechanism="pool") == POOL
    for _ in (CLOSED, RESOLVED, CANCELLED):
        await create(service)
    assert await create(service) == OWN
    await bet(service, "bo", OPEN, "yes", 10)
    await bet(service, "bo", CLOSED, "yes", 5)
    await bet(service, "bo", RESOLVED, "yes", 5)
    await bet(service, "al", OWN, "no", 5)
    await run(service, CloseMarket(CLOSED), "al")
    await run(service, ResolveMarket(RESOLVED, "no"), MOD)
    await run(service, CancelMarket(CANCELLED), MOD)
    await run(service, ClaimDaily(), "bo")
    await bet(service, "bo", POOL, "yes", 45)  # bo has 985 points left
    await run(service, ShowBalance(), "cy")


async def _check_refusals(service: Service, world: World, cases: list[Case]) -> None:
    failures: list[str] = []
    for case in cases:
        before = await world.snapshot()
        try:
            result = await run(service, case.command, case.user)
        except PredictError as error:
            if type(error) is not case.error:
                failures.append(f"{case}: raised {type(error).__name__}: {error.message}")
            missing = [w for w in case.words if w.casefold() not in error.message.casefold()]
            if missing:
                failures.append(f"{case}: message {error.message!r} lacks {missing}")
        else:
            failures.append(f"{case}: not refused, answered {type(result).__name__}")
        after = await world.snapshot()
        changed = [name for name in before if before[name] != after[name]]
        if changed:
            failures.append(f"{case}: changed tables {changed}")
    assert not failures, "\n".join(failures)
    await world.ledger_check()


async def test_every_refusal_is_specific_and_changes_nothing(
    service: Service, world: World
) -> None:
    await _world(service)
    balances = await world.ledger_check()
    assert balances["bo"] == 985 * 1_000_000  # 1000 − 10 − 5 − 5 + 50 − 45
    await _check_refusals(service, world, CASES)


async def test_refusals_to_a_newcomer_create_no_account(service: Service, world: World) -> None:
    await _world(service)
    await _check_refusals(service, world, NEWCOMER_CASES)
    assert "zed" not in await world.ledger_check()


async def test_trading_refused_after_the_deadline_before_the_sweep(
    service: Service, world: World, clock: FakeClock
) -> None:
    number = await create(service, closes="2026-03-02T15:00Z")
    await bet(service, "bo", number, "yes", 10)
    clock.advance(hours=4)  # past the deadline, but the scheduler has not closed it yet
    await _check_refusals(
        service,
        world,
        [
            Case("bo", PlaceBet(number, "yes", 5), MarketNotOpen, ("closed at", "15:00")),
            Case("bo", SellShares(number, "yes", None), MarketNotOpen, ("trading has ended",)),
        ],
    )


async def test_settings_that_restrict(service: Service, world: World) -> None:
    await run(service, Configure((("create_policy", "moderators"),)), MOD)
    await run(service, Configure((("daily_allowance", "0"),)), MOD)
    await run(service, ShowBalance(), "bo")
    await _check_refusals(
        service,
        world,
        [
            Case("bo", CreateMarket(Q, "2026-04-01"), NotAllowed, ("Only moderators",)),
            Case("bo", ClaimDaily(), NotAllowed, ("no daily allowance",)),
            Case("zed", ClaimDaily(), NotAllowed, ("no daily allowance",)),
        ],
    )
    assert "zed" not in await world.ledger_check()


async def test_a_refusal_in_a_new_community_leaves_nothing(service: Service, world: World) -> None:
    empty = await world.snapshot()
    for command in (CancelMarket(1), CreateMarket("Short", "2026-04-01"), PlaceBet(1, "yes", 5)):
        with pytest.raises(PredictError):
            await service.execute(command, ctx("zed", community="fresh"))
        assert await world.snapshot() == empty
    # The first request that succeeds creates the community, its house and the account.
    await service.execute(ClaimDaily(), ctx("zed", community="fresh"))
    assert (await world.ledger_check())["zed"] == 1050 * 1_000_000
    assert len((await world.snapshot())["community"]) == 1
