"""Writing a fetch's new entries, inside the caller's transaction: the entries with their
identity keys, then their stories (``stories``) and matches and deliveries (``matches``);
known entries seen again are ``revisions``'.

Every insert is ``ON CONFLICT DO NOTHING`` on a unique identity, never check-then-insert, so a
second writer storing the same thing at the same moment changes nothing. Statements are batched
per fetch, not per entry.
"""

from __future__ import annotations

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
    feed_id: int,
    items: Sequence[NewItem],
    delivering: Delivering,
    clustering: Clustering | None,
    now: datetime,
) -> tuple[int, int]:
    """Store new entries with their keys, stories and matches; (entries, matches) stored."""
    if not items:
        return 0, 0
    story_of = assign_stories(conn, items, clustering, now)
    rows = [
        {
            "feed_id": feed_id,
            "key": item.entry.key,
            "first_seen_at": now,
            "story_id": story,
            **entry_row(item.entry, item.content_hash),
        }
        for item, story in zip(items, story_of, strict=True)
    ]
    unique, returning = [entries.c.feed_id, entries.c.key], [entries.c.key, entries.c.id]
    ids: dict[str, int] = dict(insert_new_rows(conn, entries, unique, rows, returning))
    # Only what this transaction inserted goes on: a concurrent writer that stored an entry
    # first also keyed, clustered and matched it (the story made for it here stays empty).
    stored = [
        (ids[item.entry.key], story, item)
        for item, story in zip(items, story_of, strict=True)
        if item.entry.key in ids
    ]
    if not stored:
        return 0, 0
    add_keys(
        conn, feed_id, [(entry_id, item.keys or (item.entry.key,)) for entry_id, _, item in stored]
    )
    inserted = record_stories(conn, stored, now)
    if conn.dialect.name == "postgresql":  # SQLite has one writer: nobody to race with
        stored = join_concurrent_stories(conn, stored, inserted)
    found = [(entry_id, story, match) for entry_id, story, item in stored for match in item.matches]
    backlog = frozenset(entry_id for entry_id, _, item in stored if item.backlog)
    return len(stored), insert_matches(conn, found, delivering, now, backlog)


def add_keys(conn: Connection, feed_id: int, keyed: Iterable[tuple[int, Sequence[str]]]) -> None:
    rows = [
        {"feed_id": feed_id, "key": key, "entry_id": entry_id}
        for entry_id, keys in keyed
        for key in keys
    ]
    insert_new_rows(conn, entry_keys, [entry_keys.c.feed_id, entry_keys.c.key], rows)
