"""Rows to domain records and back: times as aware UTC, JSON columns, settings."""

from __future__ import annotations

import dataclasses
import functools
import json
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Row

from bot.core.models import Account, CommunitySettings, Market, Position


def utc(value: datetime | None) -> datetime | None:
    """Read a stored time as timezone-aware UTC (SQLite drops the zone)."""
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def aware(value: datetime) -> datetime:
    """Read a stored time that is never NULL as timezone-aware UTC."""
    result = utc(value)
    assert result is not None
    return result


def settings_to_json(settings: CommunitySettings) -> str:
    """Encode community settings for the settings column."""
    return json.dumps(dataclasses.asdict(settings), sort_keys=True)


@functools.lru_cache(maxsize=1024)
def settings_from_json(text_value: str, defaults: CommunitySettings) -> CommunitySettings:
    """Decode stored settings, filling anything missing from the defaults.

    Cached by the stored text: every transaction reads its community's row, and the settings
    are immutable, so one decoded copy per distinct text is shared."""
    stored = json.loads(text_value or "{}")
    known = {f.name for f in dataclasses.fields(CommunitySettings)}
    values = {k: (tuple(v) if isinstance(v, list) else v) for k, v in stored.items() if k in known}
    return dataclasses.replace(defaults, **values)  # type: ignore[arg-type]


def market_of(row: Any) -> Market:
    """Map a market row (or anything with its columns as attributes) to a `Market`."""
    return Market(
        id=row.id,
        community_id=row.community_id,
        number=row.number,
        question=row.question,
        criteria=row.criteria,
        outcomes=tuple(json.loads(row.outcomes_json)),
        mechanism=row.mechanism,
        liquidity=row.liquidity,
        creator_account_id=row.creator_account_id,
        creator_user=row.creator_user,
        created_at=aware(row.created_at),
        closes_at=aware(row.closes_at),
        status=row.status,
        escrow_account_id=row.escrow_account_id,
        q=list(json.loads(row.q_json)),
        volume=row.volume,
        traders=row.traders,
        channel=row.channel,
        card_ref=row.card_ref,
        closed_at=utc(row.closed_at),
        resolved_at=utc(row.resolved_at),
        resolution=row.resolution,
        evidence=row.evidence,
        known_at=utc(row.known_at),
        settlement=row.settlement,
        escrow_before=row.escrow_before,
        creator_subsidy=row.creator_subsidy,
    )


def account_of(row: Row[Any]) -> Account:
    """Map an account row to an `Account`."""
    return Account(
        id=row.id,
        community_id=row.community_id,
        kind=row.kind,
        user_id=row.user_id,
        display_name=row.display_name,
        balance=row.balance,
        last_daily=row.last_daily,
    )


def position_of(row: Row[Any]) -> Position:
    """Map a position row to a `Position`."""
    return Position(
        market_id=row.market_id,
        account_id=row.account_id,
        outcome=row.outcome,
        shares=row.shares,
        net_cost=row.net_cost,
        first_trade_id=row.first_trade_id,
        id=row.id,
    )


class Fields:
    """Attribute access over a dict, to reuse a row mapper for joined, prefixed columns."""

    def __init__(self, values: dict[str, Any]) -> None:
        self.__dict__.update(values)
