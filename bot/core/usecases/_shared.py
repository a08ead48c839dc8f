"""What the use cases share: the request they run in, permissions, lookups and cards."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.core import serialize, validation
from bot.core.cards import card_of, outcome_name, position_value, probabilities
from bot.core.errors import InvalidInput, MarketNotOpen, NotFound
from bot.core.models import (
    Actor,
    AnnouncementKind,
    CommunitySettings,
    Context,
    Market,
    MarketStatus,
)
from bot.core.ports import Tx
from bot.core.timeparse import MAX_AHEAD, format_local, format_utc, parse_when
from bot.core.views import MarketCard, Result

__all__ = [
    "Request",
    "card_of",
    "deadline",
    "duration_text",
    "is_moderator",
    "normalise_user_ref",
    "outcome_index",
    "outcome_name",
    "position_value",
    "probabilities",
    "require_trading",
    "trading_ended",
]


@dataclass(frozen=True, slots=True)
class Request:
    """One command's run: its transaction, who sent it and the time it runs at."""

    tx: Tx
    ctx: Context
    now: datetime

    @property
    def settings(self) -> CommunitySettings:
        """The community's settings."""
        return self.tx.community.settings

    @property
    def actor(self) -> Actor:
        """The user who sent the command."""
        return self.ctx.actor

    @property
    def is_moderator(self) -> bool:
        """Tell whether the sender moderates this community."""
        return is_moderator(self.ctx.actor, self.settings)

    async def market(self, number: int, *, lock: bool = False) -> Market:
        """Return a market of the community, or refuse: there is no such market."""
        if not validation.is_market_number(number):
            raise validation.no_market(number)
        found = await self.tx.markets.get(number, lock=lock)
        if found is None:
            raise validation.no_market(number)
        return found

    def card(self, market: Market) -> MarketCard:
        """Build a market's card."""
        return card_of(market, self.tx.community)

    async def announce(
        self, kind: AnnouncementKind, market: Market, result: Result, key: str
    ) -> None:
        """Queue an announcement of a market's change, written with the change itself."""
        await self.tx.outbox.add(
            kind, market, serialize.dumps(result), f"m{market.id}:{kind}:{key}"
        )


def is_moderator(actor: Actor, settings: CommunitySettings) -> bool:
    """Moderators: platform moderators, configured users, holders of configured roles."""
    return (
        actor.is_moderator
        or actor.user_id in settings.moderators
        or any(role in settings.moderator_roles for role in actor.roles)
    )


def normalise_user_ref(ref: str) -> str:
    """Strip mention syntax (`<@123>`, `<@!1>`, `<@&role>`, `<@U1|name>`, `@name`) to an id."""
    ref = ref.strip()
    match = re.fullmatch(r"<[@#][!&]?([^|>]+)(?:\|[^>]*)?>", ref)
    if match:
        return match.group(1)
    return ref.removeprefix("@")


def outcome_index(market: Market, text: str) -> int:
    """Find an outcome by name (any case) or 1-based number, or refuse."""
    wanted = text.strip().casefold()
    for i, name in enumerate(market.outcomes):
        if name.casefold() == wanted:
            return i
    index = validation.bounded_int(wanted)
    if index is not None and 1 <= index <= len(market.outcomes):
        return index - 1
    listing = ", ".join(f"{i + 1}. {n}" for i, n in enumerate(market.outcomes))
    raise NotFound(
        f"Market #{market.number} has no outcome `{validation.shown(text)}`. "
        f"Its outcomes: {listing}."
    )


def trading_ended(
    number: int,
    status: str,
    closes_at: datetime,
    closed_at: datetime | None,
    now: datetime,
) -> str | None:
    """Say why a market takes no more trades, or None while it does."""
    if status == MarketStatus.OPEN and closes_at > now:
        return None
    if status in (MarketStatus.OPEN, MarketStatus.CLOSED):
        when = format_utc(closed_at or closes_at)
        return f"Market #{number} closed at {when}; trading has ended."
    return f"Market #{number} is {status}; trading has ended."


def require_trading(market: Market, now: datetime) -> None:
    """Refuse a trade on a market that takes none."""
    reason = trading_ended(market.number, market.status, market.closes_at, market.closed_at, now)
    if reason is not None:
        raise MarketNotOpen(reason)


def deadline(text: str, settings: CommunitySettings, now: datetime) -> datetime:
    """Parse a new deadline, which must lie at least `min_duration` in the future."""
    when = parse_when(text, now, settings.timezone, settings.date_order)
    shown = format_local(when, settings.timezone)
    if when <= now:
        raise InvalidInput(f"The deadline {shown} is in the past. Pick a time in the future.")
    if when < now + timedelta(seconds=settings.min_duration):
        raise InvalidInput(
            f"The deadline {shown} is too soon: markets must stay open at least "
            f"{duration_text(settings.min_duration)}."
        )
    if when > now + MAX_AHEAD:
        raise InvalidInput(f"The deadline {shown} is more than 100 years away. Pick a nearer time.")
    return when


def duration_text(seconds: int) -> str:
    """Say a duration in the largest whole unit: `1 hour`, `90 seconds`."""
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size and seconds % size == 0:
            n = seconds // size
            return f"{n} {unit}{'s' if n != 1 else ''}"
    return f"{seconds} second{'s' if seconds != 1 else ''}"
