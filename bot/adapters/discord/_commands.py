"""Slash commands: each builds a core command from its options and hands it to the service."""

from __future__ import annotations

from typing import Any, Literal

import discord
from discord import app_commands

from bot.adapters.discord._handler import handler_of
from bot.core.commands import (
    CancelMarket,
    ClaimDaily,
    CloseMarket,
    Configure,
    CreateMarket,
    ExtendMarket,
    ListMarkets,
    ListOverdue,
    PlaceBet,
    ResolveMarket,
    SellShares,
    ShowBalance,
    ShowLeaderboard,
    ShowMarket,
    ShowPortfolio,
    UnresolveMarket,
)
from bot.core.grammar import parse_shares

Interaction = discord.Interaction[Any]

_MARKET = "The market's number (type a number or words of its question)"
_OUTCOME = "An outcome of that market, by name or number"
_WHEN = 'A date (2026-12-31), a date and time (2026-12-31 17:00) or "in 3 days"'
_PAGE = "Which page of the list to show (default: the first)"
Page = app_commands.Range[int, 1, None]


async def _markets(interaction: Interaction, current: str) -> list[app_commands.Choice[int]]:
    return await handler_of(interaction).market_choices(interaction, current)


async def _outcomes(interaction: Interaction, current: str) -> list[app_commands.Choice[str]]:
    return await handler_of(interaction).outcome_choices(interaction, current)


async def _outcomes_or_na(interaction: Interaction, current: str) -> list[app_commands.Choice[str]]:
    return await handler_of(interaction).outcome_choices(interaction, current, with_na=True)


def _split_outcomes(text: str | None) -> tuple[str, ...] | None:
    if text is None:
        return None
    return tuple(item.strip() for item in text.split(",") if item.strip())


@app_commands.guild_only()
class MarketCommands(app_commands.Group, name="market"):
    """Create, list, show and settle prediction markets."""

    @app_commands.command()
    @app_commands.describe(
        question="What people predict, e.g. Will it rain in Paris on 1 May?",
        closes=f"When trading ends: {_WHEN}",
        outcomes="2 to 10 outcomes separated by commas (default: Yes, No)",
        criteria="How the answer will be decided",
        mechanism="lmsr: a market maker moves the odds; pool: winners split the pot",
        liquidity="Market maker depth b in points (lmsr only; higher moves slower)",
    )
    async def create(
        self,
        interaction: Interaction,
        question: str,
        closes: str,
        outcomes: str | None = None,
        criteria: str | None = None,
        mechanism: Literal["lmsr", "pool"] | None = None,
        liquidity: int | None = None,
    ) -> None:
        """Create a market on a question with a deadline."""
        await handler_of(interaction).run(
            interaction,
            lambda: CreateMarket(
                question=question,
                closes=closes,
                outcomes=_split_outcomes(outcomes),
                criteria=criteria,
                mechanism=mechanism,
                liquidity=liquidity,
            ),
        )

    @app_commands.command(name="list")
    @app_commands.describe(status="Which markets to list (default: open)", page=_PAGE)
    async def list_(
        self,
        interaction: Interaction,
        status: Literal["open", "closed", "resolved", "cancelled", "all"] = "open",
        page: Page = 1,
    ) -> None:
        """List this server's markets."""
        await handler_of(interaction).run(
            interaction, lambda: ListMarkets(status=status, page=page), public=True
        )

    @app_commands.command()
    @app_commands.describe(market=_MARKET)
    @app_commands.autocomplete(market=_markets)
    async def show(self, interaction: Interaction, market: int) -> None:
        """Show a market's card with its bet buttons."""
        await handler_of(interaction).run(
            interaction, lambda: ShowMarket(market=market), public=True
        )

    @app_commands.command()
    @app_commands.describe(market=_MARKET)
    @app_commands.autocomplete(market=_markets)
    async def close(self, interaction: Interaction, market: int) -> None:
        """Close a market to trading before its deadline (creator or moderator)."""
        await handler_of(interaction).run(interaction, lambda: CloseMarket(market=market))

    @app_commands.command()
    @app_commands.describe(market=_MARKET, closes=f"The new deadline: {_WHEN}")
    @app_commands.autocomplete(market=_markets)
    async def extend(self, interaction: Interaction, market: int, closes: str) -> None:
        """Move a market's deadline later (creator or moderator)."""
        await handler_of(interaction).run(
            interaction, lambda: ExtendMarket(market=market, closes=closes)
        )

    @app_commands.command()
    @app_commands.describe(
        market=_MARKET,
        outcome="The outcome that happened, or na to cancel and refund",
        evidence="A link showing the outcome",
        known="When the outcome became public; later trades are voided",
    )
    @app_commands.autocomplete(market=_markets)
    @app_commands.autocomplete(outcome=_outcomes_or_na)
    async def resolve(
        self,
        interaction: Interaction,
        market: int,
        outcome: str,
        evidence: str | None = None,
        known: str | None = None,
    ) -> None:
        """Resolve a market to an outcome and pay the winners (moderator or creator)."""
        await handler_of(interaction).run(
            interaction,
            lambda: ResolveMarket(market=market, outcome=outcome, evidence=evidence, known=known),
        )

    @app_commands.command()
    @app_commands.describe(market=_MARKET)
    @app_commands.autocomplete(market=_markets)
    async def unresolve(self, interaction: Interaction, market: int) -> None:
        """Reverse a market's resolution and its payouts (moderators)."""
        await handler_of(interaction).run(interaction, lambda: UnresolveMarket(market=market))

    @app_commands.command()
    @app_commands.describe(page=_PAGE)
    async def overdue(self, interaction: Interaction, page: Page = 1) -> None:
        """List closed markets waiting for a resolution, and failed announcements (moderators)."""
        await handler_of(interaction).run(interaction, lambda: ListOverdue(page=page))

    @app_commands.command()
    @app_commands.describe(market=_MARKET)
    @app_commands.autocomplete(market=_markets)
    async def cancel(self, interaction: Interaction, market: int) -> None:
        """Cancel a market and refund everyone (moderator or creator)."""
        await handler_of(interaction).run(interaction, lambda: CancelMarket(market=market))


@app_commands.command(name="bet")
@app_commands.guild_only()
@app_commands.describe(market=_MARKET, outcome=_OUTCOME, points="Whole points to stake")
@app_commands.autocomplete(market=_markets)
@app_commands.autocomplete(outcome=_outcomes)
async def bet(interaction: Interaction, market: int, outcome: str, points: int) -> None:
    """Stake points on an outcome of a market."""
    await handler_of(interaction).run(
        interaction, lambda: PlaceBet(market=market, outcome=outcome, points=points)
    )


@app_commands.command(name="sell")
@app_commands.guild_only()
@app_commands.describe(
    market=_MARKET, outcome=_OUTCOME, shares="How many shares to sell (e.g. 10 or 2.5), or all"
)
@app_commands.autocomplete(market=_markets)
@app_commands.autocomplete(outcome=_outcomes)
async def sell(interaction: Interaction, market: int, outcome: str, shares: str) -> None:
    """Sell shares of an outcome back to the market."""
    await handler_of(interaction).run(
        interaction,
        lambda: SellShares(market=market, outcome=outcome, micro_shares=parse_shares(shares)),
    )


@app_commands.command(name="balance")
@app_commands.guild_only()
@app_commands.describe(user="Whose balance to show (default: yours)")
async def balance(interaction: Interaction, user: discord.User | None = None) -> None:
    """Show your points, or another member's."""
    await handler_of(interaction).run(
        interaction, lambda: ShowBalance(user=str(user.id) if user else None)
    )


@app_commands.command(name="portfolio")
@app_commands.guild_only()
@app_commands.describe(page=_PAGE)
async def portfolio(interaction: Interaction, page: Page = 1) -> None:
    """Show your open positions."""
    await handler_of(interaction).run(interaction, lambda: ShowPortfolio(page=page))


@app_commands.command(name="leaderboard")
@app_commands.guild_only()
async def leaderboard(interaction: Interaction) -> None:
    """Show this server's best forecasters."""
    await handler_of(interaction).run(interaction, ShowLeaderboard, public=True)


@app_commands.command(name="daily")
@app_commands.guild_only()
async def daily(interaction: Interaction) -> None:
    """Claim today's allowance of points."""
    await handler_of(interaction).run(interaction, ClaimDaily)


@app_commands.command(name="predict-config")
@app_commands.guild_only()
@app_commands.describe(
    starting_balance="Points each new member starts with",
    daily_allowance="Points /daily gives (0 turns it off)",
    default_liquidity="Default market maker depth b in points",
    house_liquidity="Liquidity up to which the house funds anyone's market (or default)",
    moderator_liquidity="Liquidity up to which the house funds a moderator's market",
    timezone="IANA timezone for dates, e.g. Europe/Berlin",
    moderator_roles="Roles that may resolve and configure (mention them, or none)",
    moderators="Members who may resolve and configure (mention them, or none)",
    announce_channel="Channel for cards and announcements (or none: where created)",
    create_policy="Who may create markets",
    min_duration="Shortest time a market stays open, e.g. 1h",
    date_order="How 05/06/2027 reads: dmy (5 June), mdy (May 6) or ymd (year first)",
)
async def predict_config(
    interaction: Interaction,
    starting_balance: str | None = None,
    daily_allowance: str | None = None,
    default_liquidity: str | None = None,
    house_liquidity: str | None = None,
    moderator_liquidity: str | None = None,
    timezone: str | None = None,
    moderator_roles: str | None = None,
    moderators: str | None = None,
    announce_channel: str | None = None,
    create_policy: Literal["anyone", "moderators"] | None = None,
    min_duration: str | None = None,
    date_order: Literal["dmy", "mdy", "ymd"] | None = None,
) -> None:
    """Show or change predictbot's settings for this server (moderators)."""
    given = {
        "starting_balance": starting_balance,
        "daily_allowance": daily_allowance,
        "default_liquidity": default_liquidity,
        "house_liquidity": house_liquidity,
        "moderator_liquidity": moderator_liquidity,
        "timezone": timezone,
        "moderator_roles": moderator_roles,
        "moderators": moderators,
        "announce_channel": announce_channel,
        "create_policy": create_policy,
        "min_duration": min_duration,
        "date_order": date_order,
    }
    changes = tuple((key, value) for key, value in given.items() if value is not None)
    await handler_of(interaction).run(interaction, lambda: Configure(changes=changes))


def add_commands(tree: app_commands.CommandTree[Any]) -> None:
    """Add every predictbot command to a command tree."""
    commands: list[app_commands.Command[Any, ..., None] | app_commands.Group] = [
        MarketCommands(),
        bet,
        sell,
        balance,
        portfolio,
        leaderboard,
        daily,
        predict_config,
    ]
    for command in commands:
        tree.add_command(command)
