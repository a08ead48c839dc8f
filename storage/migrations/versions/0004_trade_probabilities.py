"""trade probabilities: every outcome's probability just after each trade

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02 01:30:00.000000

Existing trades are filled in by replaying each market's trades in order with the market's own
mechanism (voided trades included: they were real when they were made; a market traded again
after an unresolve that followed a known-at void is replayed as if the void had not happened,
so its later trades' stored history may differ by those shares).
"""

from __future__ import annotations

import json

import sqlalchemy as sa
from alembic import op

from bot.core import lmsr, pool

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply this revision."""
    with op.batch_alter_table("trade", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("probs_json", sa.Text(), nullable=False, server_default="[]")
        )
    connection = op.get_bind()
    markets = connection.execute(
        sa.text("SELECT id, mechanism, liquidity, outcomes_json FROM market")
    ).all()
    for market_id, mechanism, liquidity, outcomes_json in markets:
        q = [0] * len(json.loads(outcomes_json))
        trades = connection.execute(
            sa.text(
                "SELECT id, outcome, side, shares FROM trade WHERE market_id = :m ORDER BY id"
            ),
            {"m": market_id},
        ).all()
        updates = []
        for trade_id, outcome, side, shares in trades:
            q[outcome] += shares if side == "buy" else -shares
            probs = pool.probabilities(q) if mechanism == "pool" else lmsr.probabilities(q, liquidity)
            updates.append({"i": trade_id, "p": json.dumps([round(p * 1_000_000) for p in probs])})
        if updates:
            connection.execute(sa.text("UPDATE trade SET probs_json = :p WHERE id = :i"), updates)


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("trade", schema=None) as batch_op:
        batch_op.drop_column("probs_json")
