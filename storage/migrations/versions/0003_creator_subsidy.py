"""creator-funded subsidies: the part of a market's LMSR subsidy its creator paid

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01 23:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply this revision."""
    with op.batch_alter_table("market", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("creator_subsidy", sa.BigInteger(), nullable=False, server_default="0")
        )


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("market", schema=None) as batch_op:
        batch_op.drop_column("creator_subsidy")
