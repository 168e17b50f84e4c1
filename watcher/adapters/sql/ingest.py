"""Writing fetches' new entries, inside the caller's transaction: the entries with their
identity keys, then their stories (``stories``) and matches and deliveries (``matches``);
known entries seen again are ``revisions``'.

Every insert is ``ON CONFLICT DO NOTHING`` on a unique identity, never check-then-insert, so a
second writer storing the same thing at the same moment changes nothing. Statements are batched
per writer batch (the fetches written in one transaction), not per feed or entry.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from watcher.adapters.sql.bulk import insert_new_rows
from watcher.adapters.sql.matches import insert_matches
from watcher.adapters.sql.stories import assign_stories, join_concurrent_stories, record_stories
from watcher.adapters.sql.tables import (
    entries,
    entry_keys,
)
from watcher.core.identity import content_hash
from watcher.core.model import Clustering, Delivering, Entry, NewItem


def entry_row(entry: Entry, known_hash: str = "") -> dict[str, Any]:
    """The entries columns of ``entry``; ``known_hash``: its content hash, if known already."""
    return {
        "guid": entry.guid,
        "title": entry.title,
        "link": entry.link,
        "published": entry.published,
        "updated": entry.updated,
        "summary": entry.summary,
        "content": entry.content,
        "author": entry.author,
        "tags": list(entry.tags),
        "content_hash": known_hash or content_hash(entry),
    }


def insert_new(
    conn: Connection,
    fetches: Sequence[tuple[int, Sequence[NewItem]]],
    delivering: Delivering,
    clustering: Clustering | None,
    now: datetime,
) -> list[tuple[int, int]]:
    """Store the new entries of several fetches (feed id, items) with their keys, stories and
    matches; (entries, matches) stored for each fetch.

    The fetches of a writer batch go together: one statement per table for all of them, not
    one per feed (on PostgreSQL every statement is a round trip and a start-up on the server,
    which cost more than the rows themselves)."""
    flat = [(feed_id, item) for feed_id, items in fetches for item in items]
    if not flat:
        return [(0, 0)] * len(fetches)
    story_of = assign_stories(conn, [item for _, item in flat], clustering, now)
    rows = [
        {
            "feed_id": feed_id,
            "key": item.entry.key,
            "first_seen_at": now,
            "story_id": story,
            **entry_row(item.entry, item.content_hash),
        }
        for (feed_id, item), story in zip(flat, story_of, strict=True)
    ]
    unique = [entries.c.feed_id, entries.c.key]
    returning = [entries.c.feed_id, entries.c.key, entries.c.id]
    inserted_rows = insert_new_rows(conn, entries, unique, rows, returning)
    ids = {(row.feed_id, row.key): row.id for row in inserted_rows}
    # Only what this transaction inserted goes on: a concurrent writer that stored an entry
    # first also keyed, clustered and matched it (the story made for it here stays empty).
    stored = [
        (ids[feed_id, item.entry.key], story, item)
        for (feed_id, item), story in zip(flat, story_of, strict=True)
        if (feed_id, item.entry.key) in ids
    ]
    if not stored:
        return [(0, 0)] * len(fetches)
    feed_of = {entry_id: feed_id for (feed_id, _), entry_id in ids.items()}
    keyed = [
        (feed_of[entry_id], entry_id, item.keys or (item.entry.key,))
        for entry_id, _, item in stored
    ]
    add_keys(conn, keyed)
    inserted = record_stories(conn, stored, now)
    if conn.dialect.name == "postgresql":  # SQLite has one writer: nobody to race with
        stored = join_concurrent_stories(conn, stored, inserted)
    found = [(entry_id, story, match) for entry_id, story, item in stored for match in item.matches]
    backlog = frozenset(entry_id for entry_id, _, item in stored if item.backlog)
    matched = insert_matches(conn, found, delivering, now, backlog)
    entries_of = Counter(feed_of[entry_id] for entry_id, _, _ in stored)
    matches_of = Counter(feed_of[entry_id] for entry_id in matched)
    return [(entries_of[feed_id], matches_of[feed_id]) for feed_id, _ in fetches]


def add_keys(conn: Connection, keyed: Iterable[tuple[int, int, Sequence[str]]]) -> None:
    """Identity keys of entries: (feed id, entry id, keys)."""
    rows = [
        {"feed_id": feed_id, "key": key, "entry_id": entry_id}
        for feed_id, entry_id, keys in keyed
        for key in keys
    ]
    insert_new_rows(conn, entry_keys, [entry_keys.c.feed_id, entry_keys.c.key], rows)
