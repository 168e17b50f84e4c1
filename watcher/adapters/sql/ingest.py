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

from sqlalchemy import Column, Connection, Table, bindparam, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite

from watcher.adapters.sql.tables import (
    deliveries,
    entries,
    entry_keys,
    matches,
    revisions,
    stories,
    story_bands,
    story_keys,
    story_rules,
)
from watcher.core.clustering import jaccard, shingles
from watcher.core.identity import content_hash
from watcher.core.model import Clustering, Delivering, Entry, Match, NewItem, SeenAgain

_BATCH = 500  # bound the size of IN (...) lists
_PER_BAND = 20  # the most recent stories compared for each band: bounds the work per entry


def upsert(conn: Connection, table: Any) -> Any:
    """The dialect's INSERT, which knows ON CONFLICT."""
    if conn.dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


def insert_new_rows(
    conn: Connection,
    table: Table,
    unique: Sequence[Column[Any]],
    rows: list[dict[str, Any]],
    returning: Sequence[Column[Any]] = (),
) -> list[Any]:
    """Insert ``rows`` (dicts with the same keys), skipping those whose ``unique`` columns
    are already there (none: every row); with ``returning``, those columns of the rows
    inserted.

    These are the many small rows of new entries (the entries, their keys, story keys and
    bands: a dozen for each entry), so they go straight to the driver, each value through its
    column type's bind processor: SQLAlchemy's per-row parameter handling cost as much as the
    inserts themselves. SQLite and PostgreSQL spell ON CONFLICT and RETURNING alike.
    """
    if not rows:
        return []
    dialect = conn.dialect
    quote = dialect.identifier_preparer.quote
    names = list(rows[0])
    mark = "?" if dialect.paramstyle == "qmark" else "%s"
    one_row = f"({', '.join([mark] * len(names))})"
    # Identifiers only, from our own table definitions (table.c[name] below checks them).
    head = f"INSERT INTO {quote(table.name)} ({', '.join(quote(n) for n in names)}) VALUES "  # noqa: S608
    tail = f" ON CONFLICT ({', '.join(quote(c.name) for c in unique)}) DO NOTHING" if unique else ""
    params = list(
        zip(
            *(_bound(table.c[name], [row[name] for row in rows], dialect) for name in names),
            strict=True,
        )
    )
    if not returning:
        conn.exec_driver_sql(head + one_row + tail, params)
        return []
    tail += f" RETURNING {', '.join(quote(c.name) for c in returning)}"
    found: list[Any] = []
    for batch in batches(params):
        sql = head + ", ".join([one_row] * len(batch)) + tail
        found += conn.exec_driver_sql(sql, tuple(v for row in batch for v in row)).all()
    return found


def _bound(column: Column[Any], values: list[Any], dialect: Any) -> list[Any]:
    """``values`` of ``column`` as the driver takes them. Many rows of one insert share a
    value (a timestamp, a feed id), and hashable ones are converted once each."""
    process = column.type.bind_processor(dialect)
    if process is None:
        return values
    done: dict[Any, Any] = {}
    bound: list[Any] = []
    for value in values:
        if value is None:
            bound.append(None)
        elif value.__hash__ is None:  # a list (JSON)
            bound.append(process(value))
        else:
            if value not in done:
                done[value] = process(value)
            bound.append(done[value])
    return bound


def batches(values: Sequence[Any]) -> list[Sequence[Any]]:
    return [values[i : i + _BATCH] for i in range(0, len(values), _BATCH)]


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
    _record_stories(conn, stored, now)
    if conn.dialect.name == "postgresql":  # SQLite has one writer: nobody to race with
        stored = _join_concurrent_stories(conn, stored)
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


def assign_stories(
    conn: Connection, items: Sequence[NewItem], clustering: Clustering | None, now: datetime
) -> list[int]:
    """Each new entry's story: the story of its link (or URL guid), else of a near-duplicate
    seen within the window, else a new one."""
    by_key = _stories_by_key(conn, [key for item in items for key in item.story_keys])
    candidates = _band_candidates(conn, items, clustering, now) if clustering else {}
    story_of: list[int] = []
    fresh = 0
    recent: list[tuple[int, NewItem, set[int]]] = []  # this batch, for each other
    for item in items:
        story = next((by_key[k] for k in item.story_keys if k in by_key), None)
        if story is None and clustering is not None:
            story = _nearest(item, candidates, recent, clustering.threshold)
        if story is None:
            fresh += 1
            story = -fresh  # a placeholder until the new stories have ids
        story_of.append(story)
        by_key.update(dict.fromkeys(item.story_keys, story))
        recent.append((story, item, set(item.bands)))
    if fresh:
        # New stories are empty and alike: any new id serves any placeholder, so the ids need
        # not come back in order (asking for the order made SQLite insert them one by one).
        rows = [{"created_at": now}] * fresh
        created = [row.id for row in insert_new_rows(conn, stories, (), rows, [stories.c.id])]
        story_of = [created[-s - 1] if s < 0 else s for s in story_of]
    return story_of


_STORIES_OF_KEYS = select(story_keys.c.key, story_keys.c.story_id).where(
    story_keys.c.key.in_(bindparam("keys", expanding=True))
)


def _stories_by_key(conn: Connection, keys: Sequence[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    for batch in batches(list(dict.fromkeys(keys))):
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


def _band_candidates(
    conn: Connection, items: Sequence[NewItem], clustering: Clustering, now: datetime
) -> dict[int, list[tuple[int, frozenset[str]]]]:
    """Band → (story, words) of the most recent stories within the window that share it."""
    wanted = list({band for item in items for band in item.bands})
    found: dict[int, list[tuple[int, frozenset[str]]]] = {}
    words: dict[int, frozenset[str]] = {}  # each story's words, computed once
    for batch in batches(wanted):
        rows = conn.execute(
            _RECENT_BY_BAND, {"bands": list(batch), "since": now - clustering.window}
        )
        for row in rows:
            if row.story_id not in words:
                words[row.story_id] = shingles(row.title, row.summary)
            found.setdefault(row.band, []).append((row.story_id, words[row.story_id]))
    return found


def _nearest(
    item: NewItem,
    candidates: dict[int, list[tuple[int, frozenset[str]]]],
    recent: list[tuple[int, NewItem, set[int]]],
    threshold: float,
) -> int | None:
    """The story of the most similar candidate at or above the threshold."""
    pool = {c for band in item.bands for c in candidates.get(band, ())}
    pool |= {(story, _words(other)) for story, other, bands in recent if bands & set(item.bands)}
    if not pool:
        return None
    # The words are worked out again here, for the few entries with candidates, rather than
    # carried from the parser processes for every entry.
    own = _words(item)
    best, best_score = None, threshold
    for story, words in pool:
        score = jaccard(own, words)
        if score >= best_score:
            best, best_score = story, score
    return best


def _words(item: NewItem) -> frozenset[str]:
    return shingles(item.entry.title, item.entry.summary)


def _join_concurrent_stories(
    conn: Connection, stored: list[tuple[int, int, NewItem]]
) -> list[tuple[int, int, NewItem]]:
    """Another worker may have given a link its story first, in a transaction this one's key
    insert waited for (and then skipped). An entry whose key belongs to another story joins
    it, so that one story, and one alert per rule, comes of it."""
    owners = _stories_by_key(conn, [key for _, _, item in stored for key in item.story_keys])
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


def _record_stories(
    conn: Connection, stored: Sequence[tuple[int, int, NewItem]], now: datetime
) -> None:
    # In key order, so that two writers inserting the same keys wait for each other rather
    # than deadlock.
    keys = sorted(
        ({"key": k, "story_id": story} for _, story, item in stored for k in item.story_keys),
        key=lambda row: str(row["key"]),
    )
    insert_new_rows(conn, story_keys, [story_keys.c.key], keys)
    bands = [
        {"band": band, "story_id": story, "entry_id": entry_id, "seen_at": now}
        for entry_id, story, item in stored
        for band in item.bands
    ]
    insert_new_rows(conn, story_bands, [story_bands.c.band, story_bands.c.story_id], bands)


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
