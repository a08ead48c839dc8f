"""Short ways to drive the service in tests: typed commands as a user, results narrowed."""

from __future__ import annotations

from typing import TypeVar

from bot.core.commands import Command, CreateMarket, PlaceBet, SellShares
from bot.core.money import MICRO
from bot.core.service import Service
from bot.core.views import BetPlaced, MarketCreated, Result, SharesSold
from tests.helpers import ctx

R = TypeVar("R")

MOD = "mod"  # a moderator in every test community


async def run(
    service: Service,
    command: Command,
    user: str,
    *,
    rid: str | None = None,
    moderator: bool = False,
) -> Result:
    """Run one command as a user (the user `mod` is always a moderator)."""
    return await service.execute(command, ctx(user, rid, moderator=moderator or user == MOD))


def expect(result: Result, kind: type[R]) -> R:
    """Narrow a result to the view the test expects."""
    assert isinstance(result, kind), result
    return result


async def create(
    service: Service,
    user: str = "al",
    question: str = "Will it rain in Paris tomorrow?",
    closes: str = "2026-03-10",
    **options: object,
) -> int:
    """Create a market and return its number."""
    result = await run(service, CreateMarket(question, closes, **options), user)  # type: ignore[arg-type]
    return expect(result, MarketCreated).card.number


async def bet(service: Service, user: str, market: int, outcome: str, pts: int) -> BetPlaced:
    """Place a bet and return the result."""
    return expect(await run(service, PlaceBet(market, outcome, pts), user), BetPlaced)


async def sell(
    service: Service, user: str, market: int, outcome: str, micro: int | None
) -> SharesSold:
    """Sell shares (None: all) and return the result."""
    return expect(await run(service, SellShares(market, outcome, micro), user), SharesSold)


def pts(n: float) -> int:
    """Points in micro-points."""
    return round(n * MICRO)
