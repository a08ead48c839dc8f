"""The use cases, one module per family; `HANDLERS` maps each command to its handler.

A handler is `async def handler(cmd, r: Request) -> Result`: it decides everything, in the
request's transaction, and raises a `PredictError` to refuse (the service then rolls back).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from bot.core import commands as c
from bot.core.usecases import (
    configuration,
    creation,
    markets,
    people,
    settlement,
    trading,
)
from bot.core.usecases._shared import Request
from bot.core.views import Result

Handler = Callable[[Any, Request], Awaitable[Result]]

HANDLERS: dict[type, Handler] = {
    c.CreateMarket: creation.create,
    c.ListMarkets: markets.list_markets,
    c.ShowMarket: markets.show,
    c.CloseMarket: markets.close,
    c.ExtendMarket: markets.extend,
    c.ListOverdue: markets.overdue,
    c.PlaceBet: trading.bet,
    c.SellShares: trading.sell,
    c.ResolveMarket: settlement.resolve,
    c.CancelMarket: settlement.cancel,
    c.UnresolveMarket: settlement.unresolve,
    c.ShowBalance: people.balance,
    c.ShowPortfolio: people.portfolio,
    c.ShowLeaderboard: people.leaderboard,
    c.ClaimDaily: people.daily,
    c.Configure: configuration.configure,
    c.ClaimModerator: configuration.claim_moderator,
}

__all__ = ["HANDLERS", "Handler", "Request"]
