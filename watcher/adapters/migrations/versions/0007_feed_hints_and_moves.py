"""Feeds keep the refresh interval they ask for, and the permanent redirects they answer with.

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


def downgrade() -> None:
    with op.batch_alter_table("feeds") as batch:
        for column in ("moved_to", "redirects_seen", "redirect_to", "feed_hint"):
            batch.drop_column(column)
