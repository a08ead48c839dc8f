"""SQLModel tables: the schema of predictbot (created by the Alembic migrations)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, DateTime, Index, Table, Text, UniqueConstraint
from sqlmodel import Field, SQLModel


class CommunityRow(SQLModel, table=True):
    """A Discord guild, Slack workspace or console database."""

    __tablename__ = "community"
    __table_args__ = (UniqueConstraint("platform", "external_id"),)

    id: int | None = Field(default=None, primary_key=True)
    platform: str = Field(max_length=20)
    external_id: str = Field(max_length=64)
    settings_json: str = Field(sa_type=Text, default="{}")
    house_account_id: int | None = Field(default=None)
    next_market_number: int = Field(default=1)
    created_at: datetime = Field(sa_type=DateTime(timezone=True))


class AccountRow(SQLModel, table=True):
    """A user's, the house's or a market escrow's points."""

    __tablename__ = "account"
    __table_args__ = (UniqueConstraint("community_id", "user_id"),)

    id: int | None = Field(default=None, primary_key=True)
    community_id: int = Field(foreign_key="community.id", index=True)
    kind: str = Field(max_length=10)
    user_id: str | None = Field(default=None, max_length=64)
    display_name: str = Field(max_length=100)
    balance: int = Field(sa_type=BigInteger, default=0)
    last_daily: str | None = Field(default=None, max_length=10)
    created_at: datetime = Field(sa_type=DateTime(timezone=True))


class MarketRow(SQLModel, table=True):
    """A market; outcomes and outstanding shares are JSON lists."""

    __tablename__ = "market"
    __table_args__ = (
        UniqueConstraint("community_id", "number"),
        Index("ix_market_status_closes_at", "status", "closes_at"),
        Index("ix_market_status_reminded_at", "status", "reminded_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    community_id: int = Field(foreign_key="community.id")
    number: int
    question: str = Field(max_length=300)
    criteria: str | None = Field(default=None, sa_type=Text)
    outcomes_json: str = Field(sa_type=Text)
    q_json: str = Field(sa_type=Text)
    mechanism: str = Field(max_length=10)
    liquidity: int = Field(sa_type=BigInteger)
    creator_account_id: int = Field(foreign_key="account.id")
    creator_user: str = Field(max_length=64)
    escrow_account_id: int = Field(foreign_key="account.id")
    status: str = Field(max_length=10)
    created_at: datetime = Field(sa_type=DateTime(timezone=True))
    closes_at: datetime = Field(sa_type=DateTime(timezone=True))
    closed_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    resolved_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    known_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    resolution: int | None = None
    evidence: str | None = Field(default=None, sa_type=Text)
    volume: int = Field(sa_type=BigInteger, default=0)
    traders: int = 0
    channel: str | None = Field(default=None, max_length=64)
    card_ref: str | None = Field(default=None, max_length=64)
    settlement: int = 0
    escrow_before: int = Field(sa_type=BigInteger, default=0)
    # The part of the LMSR subsidy the creator paid (the house paid the rest).
    creator_subsidy: int = Field(
        sa_type=BigInteger, default=0, sa_column_kwargs={"server_default": "0"}
    )
    reminded_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    claimed_until: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))


class PositionRow(SQLModel, table=True):
    """Shares and net cost of one account in one outcome."""

    __tablename__ = "position"
    __table_args__ = (
        UniqueConstraint("market_id", "account_id", "outcome"),
        Index("ix_position_market_outcome", "market_id", "outcome"),
        Index("ix_position_account", "account_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    market_id: int = Field(foreign_key="market.id")
    account_id: int = Field(foreign_key="account.id")
    outcome: int
    shares: int = Field(sa_type=BigInteger, default=0)
    net_cost: int = Field(sa_type=BigInteger, default=0)
    first_trade_id: int | None = None


class TradeRow(SQLModel, table=True):
    """A buy or sell; probabilities in parts per million."""

    __tablename__ = "trade"
    __table_args__ = (Index("ix_trade_market_created", "market_id", "created_at"),)

    id: int | None = Field(default=None, primary_key=True)
    market_id: int = Field(foreign_key="market.id")
    account_id: int = Field(foreign_key="account.id")
    outcome: int
    side: str = Field(max_length=4)
    amount: int = Field(sa_type=BigInteger)
    shares: int = Field(sa_type=BigInteger)
    prob_before: int
    prob_after: int
    created_at: datetime = Field(sa_type=DateTime(timezone=True))
    request_id: str | None = Field(default=None, max_length=100)
    voided: bool = False
    # Every outcome's probability just after the trade, in parts per million (a JSON list).
    probs_json: str = Field(sa_type=Text, default="[]", sa_column_kwargs={"server_default": "[]"})


class LedgerEntryRow(SQLModel, table=True):
    """An append-only movement of points from one account to another."""

    __tablename__ = "ledger_entry"
    __table_args__ = (
        Index("ix_ledger_batch_kind", "batch", "kind"),
        Index("ix_ledger_from", "from_account"),
        Index("ix_ledger_to", "to_account"),
    )

    id: int | None = Field(default=None, primary_key=True)
    community_id: int = Field(foreign_key="community.id")
    from_account: int = Field(foreign_key="account.id")
    to_account: int = Field(foreign_key="account.id")
    amount: int = Field(sa_type=BigInteger)
    kind: str = Field(max_length=12)
    market_id: int | None = Field(default=None, foreign_key="market.id")
    trade_id: int | None = Field(default=None, foreign_key="trade.id")
    batch: str | None = Field(default=None, max_length=40)
    created_at: datetime = Field(sa_type=DateTime(timezone=True))


class RequestRow(SQLModel, table=True):
    """A platform request id already handled, with its answer."""

    __tablename__ = "request"
    __table_args__ = (UniqueConstraint("community_id", "request_id"),)

    id: int | None = Field(default=None, primary_key=True)
    community_id: int = Field(foreign_key="community.id")
    request_id: str = Field(max_length=100)
    user_id: str = Field(max_length=64)
    command: str = Field(max_length=40)
    result_json: str | None = Field(default=None, sa_type=Text)
    created_at: datetime = Field(sa_type=DateTime(timezone=True))


class OutboxRow(SQLModel, table=True):
    """An announcement written with the state change, delivered at least once."""

    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_pending", "delivered_at", "next_attempt_at"),
        Index("ix_outbox_market", "market_id", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    community_id: int = Field(foreign_key="community.id")
    market_id: int | None = Field(default=None, foreign_key="market.id")
    kind: str = Field(max_length=20)
    dedupe_key: str = Field(max_length=120, unique=True)
    channel: str | None = Field(default=None, max_length=64)
    payload_json: str = Field(sa_type=Text)
    created_at: datetime = Field(sa_type=DateTime(timezone=True))
    attempts: int = 0
    next_attempt_at: datetime = Field(sa_type=DateTime(timezone=True))
    claimed_until: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    delivered_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    failed_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    last_error: str | None = Field(default=None, sa_type=Text)


def table(name: str) -> Table:
    """Return a table object by name, for Core statements."""
    return SQLModel.metadata.tables[name]


community = table("community")
account = table("account")
market = table("market")
position = table("position")
trade = table("trade")
ledger = table("ledger_entry")
request = table("request")
outbox = table("outbox")
