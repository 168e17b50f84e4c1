"""Feeds keep the refresh interval they ask for, the permanent redirects they answer with,
and the size and duration of their last fetch.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("feeds") as batch:
        batch.add_column(sa.Column("feed_hint", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("redirect_to", sa.Text(), nullable=True))
        batch.add_column(
            sa.Column("redirects_seen", sa.Integer(), nullable=False, server_default=sa.text("0"))
        )
        batch.add_column(sa.Column("moved_to", sa.Text(), nullable=True))
        batch.add_column(sa.Column("last_bytes", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("last_duration_ms", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("feeds") as batch:
        for column in (
            "last_duration_ms", "last_bytes", "moved_to", "redirects_seen", "redirect_to",
            "feed_hint",
        ):  # fmt: skip
            batch.drop_column(column)
