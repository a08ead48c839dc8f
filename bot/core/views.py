"""View models: what the services answer, rendered by each adapter its own way."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class OutcomeView:
    """One outcome of a market with its current probability."""

    index: int  # 1-based, as users type it
    name: str
    probability: float
    shares: int  # micro-shares outstanding (LMSR) or pool (pool markets)


@dataclass(frozen=True, slots=True)
class MarketCard:
    """Everything a market card shows."""

    community: str
    number: int
    question: str
    criteria: str | None
    outcomes: tuple[OutcomeView, ...]
    mechanism: str
    liquidity: int
    volume: int
    traders: int
    closes_at: datetime
    status: str
    creator_user: str
    channel: str | None = None
    card_ref: str | None = None
    resolution: str | None = None  # outcome name, or "N/A"
    evidence: str | None = None
    closed_at: datetime | None = None
    resolved_at: datetime | None = None
    # The community's timezone, for renderers that show times as text (the console); chat
    # platforms show each reader their own.
    timezone: str = "UTC"

    @property
    def is_open(self) -> bool:
        """Tell whether the market still takes trades."""
        return self.status == "open"


@dataclass(frozen=True, slots=True)
class MarketCreated:
    """A new market was created."""

    card: MarketCard
    funded: int = 0  # the part of the LMSR subsidy the creator paid


@dataclass(frozen=True, slots=True)
class MarketShown:
    """One market's card, on request."""

    card: MarketCard


@dataclass(frozen=True, slots=True)
class Page:
    """Where the items a result shows sit in the whole list: page `number` (from 1) of pages
    of `size` items, out of `total` items in all."""

    number: int
    size: int
    total: int

    @property
    def pages(self) -> int:
        """How many pages the whole list fills (at least one, even when it is empty)."""
        return max(1, -(-self.total // self.size))

    @property
    def offset(self) -> int:
        """How many items come before this page."""
        return (self.number - 1) * self.size

    @property
    def first(self) -> int:
        """The 1-based position of this page's first item (0 when there is none)."""
        return min(self.offset + 1, self.total)

    @property
    def last(self) -> int:
        """The 1-based position of this page's last item."""
        return min(self.offset + self.size, self.total)

    @property
    def next(self) -> int | None:
        """The next page's number, or None on the last page."""
        return self.number + 1 if self.number < self.pages else None

    @property
    def previous(self) -> int | None:
        """The previous page's number, or None on the first page."""
        return self.number - 1 if self.number > 1 else None


@dataclass(frozen=True, slots=True)
class MarketList:
    """Markets of a community with a status, one page of them."""

    status: str
    cards: tuple[MarketCard, ...]
    page: Page | None = None  # None: these are all of them


@dataclass(frozen=True, slots=True)
class BetPlaced:
    """A bet went through."""

    card: MarketCard
    user_id: str
    outcome: str
    points: int
    shares: int
    prob_before: float
    prob_after: float
    balance: int


@dataclass(frozen=True, slots=True)
class SharesSold:
    """A sale went through."""

    card: MarketCard
    user_id: str
    outcome: str
    shares: int
    proceeds: int
    prob_before: float
    prob_after: float
    balance: int


@dataclass(frozen=True, slots=True)
class MarketClosed:
    """A market stopped taking trades."""

    card: MarketCard
    late: bool = False  # closed after its deadline had already passed (bot was down)
    resolvers: tuple[str, ...] = ()
    automatic: bool = False  # closed by the scheduler at its deadline, not by a person


@dataclass(frozen=True, slots=True)
class MarketExtended:
    """A market's deadline moved."""

    card: MarketCard
    previous_closes_at: datetime


@dataclass(frozen=True, slots=True)
class Payout:
    """One account's payout in a settlement."""

    user_id: str
    display_name: str
    amount: int


@dataclass(frozen=True, slots=True)
class MarketResolved:
    """A market was resolved and paid out."""

    card: MarketCard
    outcome: str
    evidence: str | None
    total_paid: int
    winners: tuple[Payout, ...]
    voided_trades: int = 0
    debts: tuple[Payout, ...] = ()  # users this settlement left in debt, with their balance


@dataclass(frozen=True, slots=True)
class MarketCancelled:
    """A market was cancelled (N/A) and everyone refunded."""

    card: MarketCard
    total_refunded: int
    accounts_refunded: int
    voided_trades: int = 0
    debts: tuple[Payout, ...] = ()  # users whose sale profit was clawed back into debt


@dataclass(frozen=True, slots=True)
class MarketUnresolved:
    """A resolution was reversed; the market is closed again."""

    card: MarketCard
    previous: str
    total_reversed: int
    debts: tuple[Payout, ...] = ()  # users the reversal left in debt, with their balance


@dataclass(frozen=True, slots=True)
class BalanceShown:
    """A user's balance."""

    user_id: str
    display_name: str
    balance: int
    invested: int  # current value of open positions
    own: bool


@dataclass(frozen=True, slots=True)
class PositionView:
    """A position in a portfolio."""

    market: int
    question: str
    status: str
    outcome: str
    shares: int
    net_cost: int
    value: int


@dataclass(frozen=True, slots=True)
class PortfolioShown:
    """A user's positions, one page of them."""

    user_id: str
    balance: int
    positions: tuple[PositionView, ...]
    page: Page | None = None  # None: these are all of them


@dataclass(frozen=True, slots=True)
class LeaderboardRow:
    """One line of the leaderboard."""

    rank: int
    user_id: str
    display_name: str
    balance: int
    net_worth: int


@dataclass(frozen=True, slots=True)
class LeaderboardShown:
    """The community's leaderboard."""

    rows: tuple[LeaderboardRow, ...]


@dataclass(frozen=True, slots=True)
class DailyClaimed:
    """Today's allowance was paid."""

    amount: int
    balance: int
    next_at: datetime


@dataclass(frozen=True, slots=True)
class HelpShown:
    """Help text."""

    text: str


@dataclass(frozen=True, slots=True)
class ConfigShown:
    """Community settings, after any changes."""

    settings: tuple[tuple[str, str], ...]
    changed: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class OverdueShown:
    """Closed markets waiting for a resolution (oldest first), and announcements that could
    not be delivered (newest first)."""

    cards: tuple[MarketCard, ...]
    failed: tuple[FailedAnnouncement, ...] = ()
    page: Page | None = None  # of the markets; None: these are all of them
    failed_total: int | None = None  # how many announcements failed in all; None: `failed`


@dataclass(frozen=True, slots=True)
class FailedAnnouncement:
    """An announcement the outbox gave up on after its last attempt."""

    kind: str
    market: int | None
    channel: str | None
    attempts: int
    failed_at: datetime
    error: str | None


@dataclass(frozen=True, slots=True)
class ResolutionReminder:
    """A closed market still waits for a resolution; remind the people who may resolve it."""

    card: MarketCard
    due_since: datetime  # when the market closed
    resolvers: tuple[str, ...]  # creator and moderators (user ids)


@dataclass(frozen=True, slots=True)
class AnnouncementFailed:
    """An announcement could not be delivered after its last attempt; tell the moderators."""

    kind: str  # the failed announcement's kind (created, closed, resolved, ...)
    market: int | None  # market number
    question: str | None
    error: str
    attempts: int
    moderators: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ModeratorClaimed:
    """Whether the sender moderates the community, and whether they just became its first."""

    user_id: str
    granted: bool  # made the first moderator just now
    moderator: bool  # a moderator, now or already


Result = (
    MarketCreated
    | MarketShown
    | MarketList
    | BetPlaced
    | SharesSold
    | MarketClosed
    | MarketExtended
    | MarketResolved
    | MarketCancelled
    | MarketUnresolved
    | BalanceShown
    | PortfolioShown
    | LeaderboardShown
    | DailyClaimed
    | HelpShown
    | ConfigShown
    | OverdueShown
    | ResolutionReminder
    | AnnouncementFailed
    | ModeratorClaimed
)

RESULT_TYPES: dict[str, type] = {
    t.__name__: t
    for t in (
        OutcomeView,
        MarketCard,
        MarketCreated,
        MarketShown,
        Page,
        MarketList,
        BetPlaced,
        SharesSold,
        MarketClosed,
        MarketExtended,
        Payout,
        MarketResolved,
        MarketCancelled,
        MarketUnresolved,
        BalanceShown,
        PositionView,
        PortfolioShown,
        LeaderboardRow,
        LeaderboardShown,
        DailyClaimed,
        HelpShown,
        ConfigShown,
        OverdueShown,
        ResolutionReminder,
        AnnouncementFailed,
        ModeratorClaimed,
    )
}
