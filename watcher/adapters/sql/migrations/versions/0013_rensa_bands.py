"""Band keys from rensa's MinHash: every stored band is recomputed from the words of the entry
that gave it, so that stories stored before the change still find their near-duplicates.

Revision ID: 0013
Revises: 0012

The signature used to be computed in Python from SHAKE-128 hashes of each word; it is now
rensa's (``watcher.core.clustering.signature``), which gives other values, so every key in
``story_bands`` changes. The downgrade recomputes them the old way, kept here for that alone.
Stories are rewritten in batches, all the bands of a story at once (the key is band and story).
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterator
from hashlib import shake_128

import sqlalchemy as sa
from alembic import op

from watcher.core.clustering import HASHES, MIN_WORDS, bands, shingles, signature

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

_STORIES_A_BATCH = 1000

_bands = sa.table(
    "story_bands",
    sa.column("band", sa.BigInteger),
    sa.column("story_id", sa.Integer),
    sa.column("entry_id", sa.Integer),
    sa.column("seen_at"),  # untyped: each value goes back as the driver gave it
)
_entries = sa.table(
    "entries", sa.column("id", sa.Integer), sa.column("title"), sa.column("summary")
)


def upgrade() -> None:
    _recompute(signature)


def downgrade() -> None:
    _recompute(_shake_signature)


def _shake_signature(words: frozenset[str]) -> tuple[int, ...]:
    """The signature before 0013: for each of 32 hash functions (SHAKE-128 of the word, read
    as 32 little-endian 32-bit integers), the smallest value over the words."""
    layout = f"<{HASHES}I"
    columns = [struct.unpack(layout, shake_128(w.encode()).digest(HASHES * 4)) for w in words]
    return tuple(map(min, zip(*columns, strict=True)))


def _recompute(sign: Callable[[frozenset[str]], tuple[int, ...]]) -> None:
    conn = op.get_bind()
    for first, last in _story_ranges(conn):
        rows = conn.execute(
            sa.select(_bands.c.story_id, _bands.c.entry_id, sa.func.min(_bands.c.seen_at))
            .where(_bands.c.story_id.between(first, last))
            .group_by(_bands.c.story_id, _bands.c.entry_id)
            .order_by(_bands.c.story_id, sa.func.min(_bands.c.seen_at), _bands.c.entry_id)
        ).all()
        texts = {
            entry: (title or "", summary or "")
            for entry, title, summary in conn.execute(
                sa.select(_entries.c.id, _entries.c.title, _entries.c.summary).where(
                    _entries.c.id.in_({row[1] for row in rows})
                )
            )
        }
        kept: dict[tuple[int, int], dict[str, object]] = {}
        for story, entry, seen_at in rows:
            words = shingles(*texts.get(entry, ("", "")))
            if len(words) < MIN_WORDS:
                continue
            for band in bands(sign(words)):
                # The first entry to give a story a band keeps it, as when they were stored.
                kept.setdefault(
                    (band, story),
                    {"band": band, "story_id": story, "entry_id": entry, "seen_at": seen_at},
                )
        conn.execute(_bands.delete().where(_bands.c.story_id.between(first, last)))
        if kept:
            conn.execute(_bands.insert(), list(kept.values()))


def _story_ranges(conn: sa.Connection) -> Iterator[tuple[int, int]]:
    """(first, last) story ids of consecutive batches of the stories that have bands, read
    before any is rewritten."""
    ids = conn.execute(
        sa.select(_bands.c.story_id).distinct().order_by(_bands.c.story_id)
    ).scalars()
    batch: list[int] = []
    for story in ids.all():
        batch.append(story)
        if len(batch) == _STORIES_A_BATCH:
            yield batch[0], batch[-1]
            batch = []
    if batch:
        yield batch[0], batch[-1]
