"""A feed's category ("China", "Tech/Chips"): from the config, `feeds add --category`, or the
folder an OPML file put it in.

Revision ID: 0015
Revises: 0014
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


# Plain ALTER TABLE, which SQLite (3.35 and later) and PostgreSQL both do in place: a batch
# operation would copy the feeds table, and dropping the old copy cascades into the entries of
# a connection with foreign keys enforced.
def upgrade() -> None:
    op.add_column("feeds", sa.Column("category", sa.Text(), nullable=True))


def downgrade() -> None:
    op.execute("ALTER TABLE feeds DROP COLUMN category")
