"""A cycle counts feeds that sent the same bytes again ("unchanged") apart from those that
answered 304 ("not modified"), as every output names them.

Revision ID: 0012
Revises: 0011
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("cycles") as batch:
        batch.add_column(
            sa.Column("unchanged", sa.Integer(), nullable=False, server_default=sa.text("0"))
        )


def downgrade() -> None:
    with op.batch_alter_table("cycles") as batch:
        batch.drop_column("unchanged")
