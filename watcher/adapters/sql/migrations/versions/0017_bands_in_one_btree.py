"""story_bands on SQLite as one B-tree: a table WITHOUT ROWID keyed (band, story_id), and no
index (band, seen_at).

Revision ID: 0017
Revises: 0016

Each new entry writes eight band rows, keyed by random 64-bit bands. On SQLite each row went
into three B-trees (the table by rowid, the primary key's index and the (band, seen_at)
index), the last two at a random page each, and every commit wrote each page it dirtied to
the write-ahead log again: the first round of 1,000 feeds wrote 1.7 GB for a 98 MB database.
Keyed by the band itself, the table is the index the look-up reads (a band holds a handful of
rows, sorted by seen_at as they are read). PostgreSQL keeps its tables and indexes as they
are: its planner needs the (band, seen_at) index (see tables.py).
"""

from __future__ import annotations

from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

_INDEX = "ix_story_bands_band_seen_at"


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    with op.batch_alter_table(
        "story_bands", recreate="always", table_kwargs={"sqlite_with_rowid": False}
    ) as table:
        table.drop_index(_INDEX)


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    # The copy would keep the reflected table's options (no rowid) unless told otherwise.
    with op.batch_alter_table(
        "story_bands", recreate="always", table_kwargs={"sqlite_with_rowid": True}
    ) as table:
        table.create_index(_INDEX, ["band", "seen_at"])
