"""Targets in batch or digest mode remember when they last sent.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from watcher.adapters.sql.tables import UTCDateTime

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "target_state",
        sa.Column("target", sa.Text(), nullable=False),
        sa.Column("last_sent_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("target", name="pk_target_state"),
    )


def downgrade() -> None:
    op.drop_table("target_state")
