"""Commands: what a user asked for, parsed and typed, independent of the platform."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class CreateMarket:
    """Create a market on a question with a deadline."""

    question: str
    closes: str
    outcomes: tuple[str, ...] | None = None
    criteria: str | None = None
    mechanism: str | None = None
    liquidity: int | None = None


@dataclass(frozen=True, slots=True)
class ListMarkets:
    """List markets with a status (open, closed, resolved or all), a page at a time."""

    status: str = "open"
    page: int = 1


@dataclass(frozen=True, slots=True)
class ShowMarket:
    """Show one market's card."""

    market: int


@dataclass(frozen=True, slots=True)
class PlaceBet:
    """Stake whole points on an outcome."""

    market: int
    outcome: str
    points: int


@dataclass(frozen=True, slots=True)
class SellShares:
    """Sell shares of an outcome back to the market; micro_shares None means all."""

    market: int
    outcome: str
    micro_shares: int | None


@dataclass(frozen=True, slots=True)
class CloseMarket:
    """Close a market to trading before its deadline."""

    market: int


@dataclass(frozen=True, slots=True)
class ExtendMarket:
    """Move a market's deadline later."""

    market: int
    closes: str


@dataclass(frozen=True, slots=True)
class ResolveMarket:
    """Resolve a market to an outcome ('na' cancels it)."""

    market: int
    outcome: str
    evidence: str | None = None
    known: str | None = None


@dataclass(frozen=True, slots=True)
class UnresolveMarket:
    """Reverse a market's resolution and reopen it for resolving."""

    market: int


@dataclass(frozen=True, slots=True)
class CancelMarket:
    """Cancel a market and refund everyone (N/A)."""

    market: int


@dataclass(frozen=True, slots=True)
class ShowBalance:
    """Show a balance: yours, or another user's (a platform user reference)."""

    user: str | None = None


@dataclass(frozen=True, slots=True)
class ShowPortfolio:
    """Show your open positions, a page at a time."""

    page: int = 1


@dataclass(frozen=True, slots=True)
class ShowLeaderboard:
    """Show the community's richest forecasters."""


@dataclass(frozen=True, slots=True)
class ClaimDaily:
    """Claim today's allowance."""


@dataclass(frozen=True, slots=True)
class ShowHelp:
    """Explain the commands, or one command."""

    command: str | None = None


@dataclass(frozen=True, slots=True)
class Configure:
    """Show or change community settings (moderators)."""

    changes: tuple[tuple[str, str], ...] = field(default_factory=tuple)


@dataclass(frozen=True, slots=True)
class ListOverdue:
    """List closed markets still waiting for a resolution (moderators), a page at a time."""

    page: int = 1


@dataclass(frozen=True, slots=True)
class ClaimModerator:
    """Become the first moderator of a fresh community (the console's local user at start)."""


Command = (
    CreateMarket
    | ListMarkets
    | ShowMarket
    | PlaceBet
    | SellShares
    | CloseMarket
    | ExtendMarket
    | ResolveMarket
    | UnresolveMarket
    | CancelMarket
    | ShowBalance
    | ShowPortfolio
    | ShowLeaderboard
    | ClaimDaily
    | ShowHelp
    | Configure
    | ListOverdue
    | ClaimModerator
)

# The one definition of which commands change state: they run in a writing transaction and
# carry a request id for idempotency; every other command reads in a read-only transaction.
MUTATING: frozenset[type] = frozenset(
    {
        CreateMarket,
        PlaceBet,
        SellShares,
        CloseMarket,
        ExtendMarket,
        ResolveMarket,
        UnresolveMarket,
        CancelMarket,
        ClaimDaily,
        Configure,
        ClaimModerator,
    }
)


def changes_state(command: Command) -> bool:
    """Tell whether a command changes state (and so needs a writing transaction)."""
    return type(command) in MUTATING
