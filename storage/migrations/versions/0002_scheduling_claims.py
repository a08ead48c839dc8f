"""scheduling claims: a lease on markets being closed, outbox lookups by market

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 08:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply this revision."""
    with op.batch_alter_table("market", schema=None) as batch_op:
        batch_op.add_column(sa.Column("claimed_until", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index(
            "ix_market_status_reminded_at", ["status", "reminded_at"], unique=False
        )

    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.create_index("ix_outbox_market", ["market_id", "id"], unique=False)


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_market")

    with op.batch_alter_table("market", schema=None) as batch_op:
        batch_op.drop_index("ix_market_status_reminded_at")
        batch_op.drop_column("claimed_until")
