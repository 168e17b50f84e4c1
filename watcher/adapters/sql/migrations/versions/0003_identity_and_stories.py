"""Entries keep several identity keys, their earlier versions, and belong to stories.

Revision ID: 0003
Revises: 0002

Existing data is carried over: each entry's key becomes its first identity key, its content is
hashed, each entry becomes a story of its own, and each existing match is the one its story
notified.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from watcher.adapters.sql.tables import UTCDateTime
from watcher.core.identity import content_hash
from watcher.core.model import Entry

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "stories",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_stories"),
    )
    with op.batch_alter_table("feeds") as batch:
        batch.add_column(
            sa.Column("guid_churn", sa.Integer(), nullable=False, server_default=sa.text("0"))
        )
    with op.batch_alter_table("entries") as batch:
        batch.add_column(sa.Column("content_hash", sa.Text(), nullable=True))
        batch.add_column(
            sa.Column("revision", sa.Integer(), nullable=False, server_default=sa.text("0"))
        )
        batch.add_column(sa.Column("story_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("pruned_at", UTCDateTime(), nullable=True))
        batch.create_foreign_key("fk_entries_story_id_stories", "stories", ["story_id"], ["id"])
        batch.create_index("ix_entries_story_id", ["story_id"])
    with op.batch_alter_table("matches") as batch:
        batch.add_column(
            sa.Column("silent", sa.Integer(), nullable=False, server_default=sa.text("0"))
        )
    with op.batch_alter_table("deliveries") as batch:
        batch.add_column(
            sa.Column("revision", sa.Integer(), nullable=False, server_default=sa.text("0"))
        )
        batch.drop_constraint("uq_deliveries_match_id_target", type_="unique")
        batch.create_unique_constraint(
            "uq_deliveries_match_id_target_revision", ["match_id", "target", "revision"]
        )
    op.create_table(
        "entry_keys",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("feed_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("entry_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["entry_id"], ["entries.id"], name="fk_entry_keys_entry_id_entries", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["feed_id"], ["feeds.id"], name="fk_entry_keys_feed_id_feeds", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_entry_keys"),
        sa.UniqueConstraint("feed_id", "key", name="uq_entry_keys_feed_id_key"),
    )
    op.create_index("ix_entry_keys_entry_id", "entry_keys", ["entry_id"])
    op.create_table(
        "revisions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("entry_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("seen_at", UTCDateTime(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["entry_id"], ["entries.id"], name="fk_revisions_entry_id_entries", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_revisions"),
        sa.UniqueConstraint("entry_id", "number", name="uq_revisions_entry_id_number"),
    )
    op.create_table(
        "story_keys",
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("story_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["story_id"], ["stories.id"], name="fk_story_keys_story_id_stories", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("key", name="pk_story_keys"),
    )
    op.create_table(
        "story_bands",
        sa.Column("band", sa.BigInteger(), nullable=False),
        sa.Column("story_id", sa.Integer(), nullable=False),
        sa.Column("entry_id", sa.Integer(), nullable=False),
        sa.Column("seen_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["entry_id"], ["entries.id"], name="fk_story_bands_entry_id_entries", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["story_id"], ["stories.id"], name="fk_story_bands_story_id_stories", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("band", "story_id", name="pk_story_bands"),
    )
    op.create_index("ix_story_bands_seen_at", "story_bands", ["seen_at"])
    op.create_table(
        "story_rules",
        sa.Column("story_id", sa.Integer(), nullable=False),
        sa.Column("rule", sa.Text(), nullable=False),
        sa.Column("match_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["match_id"], ["matches.id"], name="fk_story_rules_match_id_matches", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["story_id"], ["stories.id"], name="fk_story_rules_story_id_stories", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("story_id", "rule", name="pk_story_rules"),
    )
    _carry_over()


def _carry_over() -> None:
    """Keys, hashes, one story per entry, and the existing matches as the notifying ones."""
    conn = op.get_bind()
    rows = conn.execute(
        sa.text("SELECT id, feed_id, key, title, summary, content, first_seen_at FROM entries")
    ).all()
    for entry_id, feed_id, key, title, summary, content, seen in rows:
        digest = content_hash(
            Entry(key=key, title=title, link=None, summary=summary, content=content)
        )
        story = conn.execute(
            sa.text("INSERT INTO stories (created_at) VALUES (:seen) RETURNING id"),
            {"seen": seen},
        ).scalar_one()
        conn.execute(
            sa.text("UPDATE entries SET content_hash = :h, story_id = :s WHERE id = :id"),
            {"h": digest, "s": story, "id": entry_id},
        )
        conn.execute(
            sa.text("INSERT INTO entry_keys (feed_id, key, entry_id) VALUES (:f, :k, :e)"),
            {"f": feed_id, "k": key, "e": entry_id},
        )
    conn.execute(
        sa.text(
            "INSERT INTO story_rules (story_id, rule, match_id) "
            "SELECT e.story_id, m.rule, min(m.id) FROM matches m "
            "JOIN entries e ON e.id = m.entry_id GROUP BY e.story_id, m.rule"
        )
    )


def downgrade() -> None:
    op.drop_table("story_rules")
    op.drop_table("story_bands")
    op.drop_table("story_keys")
    op.drop_table("revisions")
    op.drop_table("entry_keys")
    with op.batch_alter_table("deliveries") as batch:
        batch.drop_constraint("uq_deliveries_match_id_target_revision", type_="unique")
        batch.create_unique_constraint("uq_deliveries_match_id_target", ["match_id", "target"])
        batch.drop_column("revision")
    with op.batch_alter_table("matches") as batch:
        batch.drop_column("silent")
    with op.batch_alter_table("entries") as batch:
        batch.drop_index("ix_entries_story_id")
        batch.drop_constraint("fk_entries_story_id_stories", type_="foreignkey")
        batch.drop_column("pruned_at")
        batch.drop_column("story_id")
        batch.drop_column("revision")
        batch.drop_column("content_hash")
    with op.batch_alter_table("feeds") as batch:
        batch.drop_column("guid_churn")
    op.drop_table("stories")
