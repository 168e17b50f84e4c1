"""Feeds added from the command line live in the database beside those of the config file.

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("feeds") as batch:
        batch.add_column(
            sa.Column("origin", sa.String(10), nullable=False, server_default=sa.text("'config'"))
        )
        batch.add_column(sa.Column("interval_seconds", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("feeds") as batch:
        batch.drop_column("interval_seconds")
        batch.drop_column("origin")
