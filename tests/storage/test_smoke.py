"""A whole market lifecycle on both databases, with the ledger checked at the end."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.core import grammar
from bot.core.service import Service
from bot.core.views import BetPlaced, MarketResolved
from tests.helpers import ctx, ledger_check


async def test_lifecycle(service: Service, engine: AsyncEngine) -> None:
    run = service.execute
    await run(
        grammar.parse('create "Will it rain in Paris tomorrow?" closes:2026-03-10'), ctx("al")
    )
    bet = await run(grammar.parse("bet 1 yes 100"), ctx("bo"))
    assert isinstance(bet, BetPlaced)
    assert bet.shares == 148_988_012
    await run(grammar.parse("bet 1 no 50"), ctx("cy"))
    await run(grammar.parse("close 1"), ctx("al"))
    resolved = await run(grammar.parse("resolve 1 yes"), ctx("al"))
    assert isinstance(resolved, MarketResolved)
    assert resolved.winners[0].user_id == "bo"
    balances = await ledger_check(engine)
    assert balances["cy"] == 950_000_000
    assert balances["bo"] == 900_000_000 + resolved.winners[0].amount
