"""story_bands without foreign keys: a band row is an index entry, written eight times for each
new entry, and checking its entry and its story cost a lookup of each for every row.

Revision ID: 0016
Revises: 0015

Nothing relies on them: stories are never deleted, and when a feed is removed its entries go
(by their own foreign key) while their band rows stay until they pass the clustering window
and are pruned; meanwhile the band look-up joins the entries and finds nothing of them. On
SQLite the table is copied without the constraints (nothing refers to story_bands, so dropping
the old copy cascades nowhere); PostgreSQL drops them in place.
"""

from __future__ import annotations

from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

_KEYS = (
    ("fk_story_bands_story_id_stories", "stories", "story_id"),
    ("fk_story_bands_entry_id_entries", "entries", "entry_id"),
)


def upgrade() -> None:
    with op.batch_alter_table("story_bands", recreate="auto") as table:
        for name, _, _ in _KEYS:
            table.drop_constraint(name, type_="foreignkey")


def downgrade() -> None:
    # The rows of entries removed since would break the constraints: they go first.
    op.execute("DELETE FROM story_bands WHERE entry_id NOT IN (SELECT id FROM entries)")
    with op.batch_alter_table("story_bands", recreate="auto") as table:
        for name, target, column in _KEYS:
            table.create_foreign_key(name, target, [column], ["id"], ondelete="CASCADE")
