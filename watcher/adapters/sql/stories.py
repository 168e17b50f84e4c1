"""Which story each new entry belongs to: the story of its link (or URL guid), else that of a
near-duplicate seen within the window (the choice is the core's, ``nearest_story``), else a
new one; and the keys and bands that let later entries find it."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, func, select, text, update

from watcher.adapters.sql.bulk import Among, among, insert_new_rows
from watcher.adapters.sql.database import lock_key
from watcher.adapters.sql.tables import (
    UTCDateTime,
    entries,
    stories,
    story_bands,
    story_keys,
)
from watcher.core.clustering import nearest_story, shingles
from watcher.core.model import Clustering, NewItem

_PER_BAND = 20  # the most recent stories compared for each band: bounds the work per entry


def assign_stories(
    conn: Connection, items: Sequence[NewItem], clustering: Clustering | None, now: datetime
) -> list[int]:
    """Each new entry's story: the story of its link (or URL guid), else of a near-duplicate
    seen within the window, else a new one."""
    by_key = _stories_by_key(conn, [key for item in items for key in item.story_keys])
    if clustering and conn.dialect.name == "postgresql":
        _serialise_bands(conn, items)
    candidates = _band_candidates(conn, items, clustering, now) if clustering else {}
    story_of: list[int] = []
    fresh = 0
    recent: list[tuple[int, NewItem]] = []  # this batch's entries and their stories
    # Band → positions in ``recent`` of its latest entries, at most _PER_BAND as for stored
    # stories: a batch holds the entries of many feeds, and comparing each entry with every
    # earlier one cost time in the square of the batch's size.
    by_band: dict[int, list[int]] = {}
    words: dict[int, frozenset[str]] = {}  # by id(item), worked out only for a comparison
    for item in items:
        story = next((by_key[k] for k in item.story_keys if k in by_key), None)
        if story is None and clustering is not None:
            wanted = frozenset(item.bands)
            stored = [c for band in item.bands for c in candidates.get(band, ())]
            sharing = [recent[i] for i in sorted({i for b in wanted for i in by_band.get(b, ())})]
            if stored or sharing:  # most entries share no band with anything: no words needed
                story = nearest_story(
                    _words(item, words),
                    item.bands,
                    stored,
                    [(s, _words(other, words), wanted) for s, other in sharing],
                    clustering.threshold,
                )
        if story is None:
            fresh += 1
            story = -fresh  # a placeholder until the new stories have ids
        story_of.append(story)
        by_key.update(dict.fromkeys(item.story_keys, story))
        for band in set(item.bands):
            latest = by_band.setdefault(band, [])
            latest.append(len(recent))
            del latest[:-_PER_BAND]
        recent.append((story, item))
    if fresh:
        # New stories are empty and alike: any new id serves any placeholder, so the ids need
        # not come back in order (asking for the order made SQLite insert them one by one).
        rows = [{"created_at": now}] * fresh
        created = [row.id for row in insert_new_rows(conn, stories, (), rows, [stories.c.id])]
        story_of = [created[-s - 1] if s < 0 else s for s in story_of]
    return story_of


_BAND_SLOTS = 64  # advisory locks a transaction may take: PostgreSQL's lock table is shared
_SLOT_KEYS = tuple(lock_key(f"band:{slot}") for slot in range(_BAND_SLOTS))
_LOCK_BANDS = text(
    "SELECT pg_advisory_xact_lock(k) FROM "
    "(SELECT unnest(CAST(:keys AS bigint[])) AS k ORDER BY 1) AS sorted_keys"
)


def _serialise_bands(conn: Connection, items: Sequence[NewItem]) -> None:
    """Two workers storing near-duplicates at the same instant would each look for the
    other's bands before either had committed them, and make two stories. Each transaction
    that looks first locks its bands (hashed into 64 slots, taken in one order, held until
    it commits), so the second looks after the first has committed, and joins its story."""
    keys = sorted({_SLOT_KEYS[band % _BAND_SLOTS] for item in items for band in item.bands})
    if keys:
        conn.execute(_LOCK_BANDS, {"keys": keys})


_STORIES_OF_KEYS = select(story_keys.c.key, story_keys.c.story_id).where(
    Among(story_keys.c.key, "keys")
)


def _stories_by_key(conn: Connection, keys: Sequence[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    for batch in among(list(dict.fromkeys(keys))):
        rows = conn.execute(_STORIES_OF_KEYS, {"keys": list(batch)})
        found.update({row.key: row.story_id for row in rows})
    return found


def _recent_by_band() -> Any:
    """The most recent stories (within ``since``) sharing each of ``bands``, with the words
    of their entry: built once, since building it cost more than running it."""
    recent = (
        select(
            story_bands.c.band,
            story_bands.c.story_id,
            story_bands.c.entry_id,
            func.row_number()
            .over(partition_by=story_bands.c.band, order_by=story_bands.c.seen_at.desc())
            .label("rank"),
        )
        .where(
            story_bands.c.band.in_(bindparam("bands", expanding=True)),
            story_bands.c.seen_at >= bindparam("since"),
        )
        .subquery()
    )
    return (
        select(recent.c.band, recent.c.story_id, entries.c.title, entries.c.summary)
        .join(entries, entries.c.id == recent.c.entry_id)
        .where(recent.c.rank <= _PER_BAND)
    )


_RECENT_BY_BAND = _recent_by_band()

# The same on PostgreSQL, one band at a time through the (band, seen_at) index: its planner,
# working from statistics that lag behind a store filling up (the first round of a new
# database), scanned every recent band row for each batch through the seen_at index, so each
# batch cost more than the one before (300 feeds: 33 s against 6.7 s on SQLite).
_RECENT_BY_BAND_PG = text(
    "SELECT b.band, r.story_id, r.title, r.summary "
    "FROM unnest(CAST(:bands AS bigint[])) AS b(band) CROSS JOIN LATERAL ("
    " SELECT sb.story_id, e.title, e.summary FROM story_bands sb"
    " JOIN entries e ON e.id = sb.entry_id"
    " WHERE sb.band = b.band AND sb.seen_at >= :since"
    " ORDER BY sb.seen_at DESC LIMIT :per_band) AS r"
).bindparams(bindparam("since", type_=UTCDateTime()), per_band=_PER_BAND)


def _band_candidates(
    conn: Connection, items: Sequence[NewItem], clustering: Clustering, now: datetime
) -> dict[int, list[tuple[int, frozenset[str]]]]:
    """Band → (story, words) of the most recent stories within the window that share it."""
    wanted = list({band for item in items for band in item.bands})
    found: dict[int, list[tuple[int, frozenset[str]]]] = {}
    words: dict[int, frozenset[str]] = {}  # each story's words, computed once
    query = _RECENT_BY_BAND_PG if conn.dialect.name == "postgresql" else _RECENT_BY_BAND
    for batch in among(wanted):
        rows = conn.execute(query, {"bands": list(batch), "since": now - clustering.window})
        for row in rows:
            if row.story_id not in words:
                words[row.story_id] = shingles(row.title, row.summary)
            found.setdefault(row.band, []).append((row.story_id, words[row.story_id]))
    return found


def join_concurrent_stories(
    conn: Connection, stored: list[tuple[int, int, NewItem]], inserted: frozenset[str]
) -> list[tuple[int, int, NewItem]]:
    """Another worker may have given a link its story first, in a transaction this one's key
    insert waited for (and then skipped). An entry whose key belongs to another story joins
    it, so that one story, and one alert per rule, comes of it. Only the keys this
    transaction did not insert (``inserted``: those it did) can belong to another story."""
    skipped = [key for _, _, item in stored for key in item.story_keys if key not in inserted]
    owners = _stories_by_key(conn, skipped)
    joined, moves = [], []
    for entry_id, story, item in stored:
        owner = next((owners[key] for key in item.story_keys if key in owners), story)
        if owner != story:
            moves.append({"entry": entry_id, "story": owner})
        joined.append((entry_id, owner, item))
    if moves:
        conn.execute(
            update(entries)
            .where(entries.c.id == bindparam("entry"))
            .values(story_id=bindparam("story")),
            moves,
        )
    return joined


def record_stories(
    conn: Connection, stored: Sequence[tuple[int, int, NewItem]], now: datetime
) -> frozenset[str]:
    """Record the stories' keys and bands; the keys this transaction inserted (a key stored
    before, or by a concurrent writer, is not)."""
    # In key order, so that two writers inserting the same keys wait for each other rather
    # than deadlock.
    keys = sorted(
        ({"key": k, "story_id": story} for _, story, item in stored for k in item.story_keys),
        key=lambda row: str(row["key"]),
    )
    returning = [story_keys.c.key] if conn.dialect.name == "postgresql" else []
    inserted = insert_new_rows(conn, story_keys, [story_keys.c.key], keys, returning)
    # In band order too: each row goes into the band B-tree next to the one before it, not at
    # a random page (inserting a round's band rows took 0.7 times as long, benchmarks/bands.py).
    bands = sorted(
        (
            {"band": band, "story_id": story, "entry_id": entry_id, "seen_at": now}
            for entry_id, story, item in stored
            for band in item.bands
        ),
        key=lambda row: (row["band"], row["story_id"]),
    )
    insert_new_rows(conn, story_bands, [story_bands.c.band, story_bands.c.story_id], bands)
    return frozenset(row.key for row in inserted)


def _words(item: NewItem, known: dict[int, frozenset[str]]) -> frozenset[str]:
    # Worked out here, for the few entries of a batch that are compared, rather than carried
    # from the parser processes for every entry.
    if id(item) not in known:
        known[id(item)] = shingles(item.entry.title, item.entry.summary)
    return known[id(item)]
