"""Writing what one fetch brought, inside the caller's transaction: new entries with their
identity keys, stories and matches; new versions of known entries; pending deliveries.

Every insert is ``ON CONFLICT DO NOTHING`` on a unique identity, never check-then-insert, so a
second writer storing the same thing at the same moment changes nothing. Statements are batched
per fetch, not per entry.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, insert, select, update

from watcher.adapters.sql.bulk import insert_new_rows, upsert
from watcher.adapters.sql.stories import assign_stories, join_concurrent_stories, record_stories
from watcher.adapters.sql.tables import (
    deliveries,
    entries,
    entry_keys,
    matches,
    revisions,
    story_rules,
)
from watcher.core.identity import content_hash
from watcher.core.model import Clustering, Delivering, Entry, Match, NewItem, SeenAgain


def entry_row(entry: Entry, digest: str = "") -> dict[str, Any]:
    """The entries columns of ``entry``; ``digest``: its content hash, if known already."""
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
        "content_hash": digest or content_hash(entry),
    }


# --- new entries --------------------------------------------------------------------------


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
    record_stories(conn, stored, now)
    if conn.dialect.name == "postgresql":  # SQLite has one writer: nobody to race with
        stored = join_concurrent_stories(conn, stored)
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


# --- matches and deliveries ---------------------------------------------------------------


def insert_matches(
    conn: Connection,
    found: Sequence[tuple[int, int | None, Match]],
    delivering: Delivering,
    now: datetime,
    backlog: frozenset[int] = frozenset(),
) -> int:
    """Store (entry, story, match) triples; the first match of a story for a rule queues its
    deliveries, later ones are kept silent. Entries in ``backlog`` (entry ids) claim their
    story like any other but queue nothing: they were old news when first seen. Returns how
    many matches were stored."""
    if not found:
        return 0
    rows = [
        {
            "entry_id": entry_id,
            "rule": match.rule,
            "terms": list(match.terms),
            "fields": list(match.fields),
            "hits": _stored_hits(match),
            "matched_at": now,
        }
        for entry_id, _, match in found
    ]
    stmt = (
        upsert(conn, matches)
        .on_conflict_do_nothing(index_elements=[matches.c.entry_id, matches.c.rule])
        .returning(matches.c.id, matches.c.entry_id, matches.c.rule)
    )
    inserted = conn.execute(stmt, rows).all()
    story_of = {entry_id: story for entry_id, story, _ in found}
    claims = [
        {"story_id": story_of[row.entry_id], "rule": row.rule, "match_id": row.id}
        for row in inserted
        if story_of[row.entry_id] is not None
    ]
    won = {row.id for row in inserted if story_of[row.entry_id] is None}
    if claims:
        claimed = conn.execute(
            upsert(conn, story_rules)
            .on_conflict_do_nothing(index_elements=[story_rules.c.story_id, story_rules.c.rule])
            .returning(story_rules.c.match_id),
            claims,
        )
        won |= set(claimed.scalars())
    silent = [row.id for row in inserted if row.id not in won]
    if silent:
        conn.execute(update(matches).where(matches.c.id.in_(silent)).values(silent=1))
    notify = [
        (row.id, row.rule, 0) for row in inserted if row.id in won and row.entry_id not in backlog
    ]
    queue(conn, notify, delivering, now)
    return len(inserted)


def queue(
    conn: Connection,
    notices: Iterable[tuple[int, str, int]],
    delivering: Delivering,
    now: datetime,
) -> None:
    """One pending delivery per (match, revision) and target of its rule."""
    rows = [
        {
            "match_id": match_id,
            "target": target,
            "revision": revision,
            "status": "pending",
            "attempts": 0,
            "next_attempt_at": now,
            "created_at": now,
        }
        for match_id, rule, revision in notices
        for target in delivering.targets.get(rule, ())
    ]
    unique = [deliveries.c.match_id, deliveries.c.target, deliveries.c.revision]
    insert_new_rows(conn, deliveries, unique, rows)


# --- entries seen again -------------------------------------------------------------------


def update_known(
    conn: Connection,
    feed_id: int,
    again: Sequence[SeenAgain],
    delivering: Delivering,
    now: datetime,
) -> tuple[int, int]:
    """Add the new keys of known entries and store their new versions; (changed, new matches)."""
    add_keys(conn, feed_id, [(item.entry_id, item.new_keys) for item in again if item.new_keys])
    changed = [item for item in again if item.changed is not None]
    if not changed:
        return 0, 0
    ids = [item.entry_id for item in changed]
    old = {
        row.id: row
        for row in conn.execute(
            select(
                entries.c.id,
                entries.c.title,
                entries.c.summary,
                entries.c.content,
                entries.c.revision,
                entries.c.story_id,
                entries.c.first_seen_at,
            ).where(entries.c.id.in_(ids))
        )
    }
    conn.execute(
        insert(revisions),
        [
            {
                "entry_id": item.entry_id,
                "number": old[item.entry_id].revision + 1,
                "seen_at": now,
                "title": old[item.entry_id].title,
                "summary": old[item.entry_id].summary,
                "content": old[item.entry_id].content,
            }
            for item in changed
        ],
    )
    for item in changed:
        assert item.changed is not None
        conn.execute(
            update(entries)
            .where(entries.c.id == item.entry_id)
            .values(revision=entries.c.revision + 1, **entry_row(item.changed, item.content_hash))
        )
    return len(changed), _rematch(conn, changed, old, delivering, now)


def _rematch(
    conn: Connection,
    changed: Sequence[SeenAgain],
    old: dict[int, Any],
    delivering: Delivering,
    now: datetime,
) -> int:
    """A rule that matches the new version for the first time is a new match; a rule that
    matched before notifies the change when the rule asks for changes. Either way the stored
    evidence is the new version's: its offsets point into the text the entry now holds, which
    is what every renderer shows them with."""
    before: dict[int, dict[str, tuple[int, bool]]] = {}  # entry → rule → (match, silent)
    for row in conn.execute(
        select(matches.c.id, matches.c.entry_id, matches.c.rule, matches.c.silent).where(
            matches.c.entry_id.in_([item.entry_id for item in changed])
        )
    ):
        before.setdefault(row.entry_id, {})[row.rule] = (row.id, bool(row.silent))
    fresh, notices, restated, cleared = [], [], [], []
    for item in changed:
        revision = old[item.entry_id].revision + 1
        known = before.get(item.entry_id, {})
        current = {match.rule: match for match in item.matches}
        # A rule that matched an earlier version only: no word of this text is its evidence.
        cleared += [match_id for rule, (match_id, _) in known.items() if rule not in current]
        for match in item.matches:
            if match.rule not in known:
                fresh.append((item.entry_id, old[item.entry_id].story_id, match))
                continue
            match_id, silent = known[match.rule]
            restated.append(
                {
                    "match": match_id,
                    "hits": _stored_hits(match),
                    "terms": list(match.terms),
                    "fields": list(match.fields),
                }
            )
            if not silent and match.rule in delivering.on_change:
                notices.append((match_id, match.rule, revision))
    if restated:
        conn.execute(
            update(matches)
            .where(matches.c.id == bindparam("match"))
            .values(hits=bindparam("hits"), terms=bindparam("terms"), fields=bindparam("fields")),
            restated,
        )
    if cleared:
        conn.execute(update(matches).where(matches.c.id.in_(cleared)).values(hits=[]))
    queue(conn, notices, delivering, now)
    return insert_matches(conn, fresh, delivering, now)


def _stored_hits(match: Match) -> list[list[Any]]:
    """Evidence as the matches table holds it: [[field, start, end, term], ...]."""
    return [[h.field, h.start, h.end, h.term] for h in match.hits]
