"""A market as people see it: its probabilities, its card, what a position is worth."""

from __future__ import annotations

from bot.core import lmsr, pool
from bot.core.models import NA, Community, Market, Mechanism, Position
from bot.core.views import MarketCard, OutcomeView


def probabilities(market: Market) -> list[float]:
    """Return the current probability of every outcome of a market."""
    if market.mechanism == Mechanism.POOL:
        return pool.probabilities(market.q)
    return lmsr.probabilities(market.q, market.liquidity)


def outcome_name(market: Market, resolution: int | None) -> str | None:
    """Name a stored resolution: an outcome, N/A, or None when unresolved."""
    if resolution is None:
        return None
    return "N/A" if resolution == NA else market.outcomes[resolution]


def card_of(market: Market, community: Community) -> MarketCard:
    """Build a market's card."""
    probs = probabilities(market)
    return MarketCard(
        community=community.external_id,
        number=market.number,
        question=market.question,
        criteria=market.criteria,
        outcomes=tuple(
            OutcomeView(i + 1, name, probs[i], market.q[i])
            for i, name in enumerate(market.outcomes)
        ),
        mechanism=market.mechanism,
        liquidity=market.liquidity,
        volume=market.volume,
        traders=market.traders,
        closes_at=market.closes_at,
        status=market.status,
        creator_user=market.creator_user,
        channel=market.channel,
        card_ref=market.card_ref,
        resolution=outcome_name(market, market.resolution),
        evidence=market.evidence,
        closed_at=market.closed_at,
        resolved_at=market.resolved_at,
        timezone=community.settings.timezone,
    )


def position_value(market: Market, position: Position) -> int:
    """Value a position at the market's current probability, in micro-points."""
    if market.mechanism == Mechanism.POOL:
        return position.net_cost
    prob = probabilities(market)[position.outcome]
    return int(position.shares * prob)
