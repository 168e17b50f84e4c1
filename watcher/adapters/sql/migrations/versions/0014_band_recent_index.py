"""An index on story_bands (band, seen_at): a band's most recent stories without reading any
other band's rows (PostgreSQL walked every recent band row for each batch of new entries).

Revision ID: 0014
Revises: 0013
"""

from __future__ import annotations

from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_story_bands_band_seen_at", "story_bands", ["band", "seen_at"])


def downgrade() -> None:
    op.drop_index("ix_story_bands_band_seen_at", table_name="story_bands")
