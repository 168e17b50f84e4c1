"""Matches and the deliveries they queue: one match per entry and rule, one alert per story and
rule, one delivery per match (or change) and target."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, update

from watcher.adapters.sql.bulk import among, insert_new_rows, upsert
from watcher.adapters.sql.tables import (
    deliveries,
    matches,
    story_rules,
)
from watcher.core.model import Delivering, Match


def insert_matches(
    conn: Connection,
    found: Sequence[tuple[int, int | None, Match]],
    delivering: Delivering,
    now: datetime,
    backlog: frozenset[int] = frozenset(),
) -> list[int]:
    """Store (entry, story, match) triples; the first match of a story for a rule queues its
    deliveries, later ones are kept silent. Entries in ``backlog`` (entry ids) claim their
    story like any other but queue nothing: they were old news when first seen. Returns the
    entry of each match stored."""
    if not found:
        return []
    rows = [
        {
            "entry_id": entry_id,
            "rule": match.rule,
            "terms": list(match.terms),
            "fields": list(match.fields),
            "hits": stored_hits(match),
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
    for batch in among(silent):
        conn.execute(update(matches).where(matches.c.id.in_(batch)).values(silent=1))
    notify = [
        (row.id, row.rule, 0) for row in inserted if row.id in won and row.entry_id not in backlog
    ]
    queue(conn, notify, delivering, now)
    return [row.entry_id for row in inserted]


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


def stored_hits(match: Match) -> list[list[Any]]:
    """Evidence as the matches table holds it: [[field, start, end, term], ...]."""
    return [[h.field, h.start, h.end, h.term] for h in match.hits]
