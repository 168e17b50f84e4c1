"""Known entries seen again: new keys when their guid churned, a new revision when their text
changed, and the evidence of every stored match restated for the new text."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, insert, select, update

from watcher.adapters.sql.bulk import among
from watcher.adapters.sql.ingest import add_keys, entry_row
from watcher.adapters.sql.matches import insert_matches, queue, stored_hits
from watcher.adapters.sql.tables import (
    entries,
    matches,
    revisions,
)
from watcher.core.model import Delivering, SeenAgain


def update_known(
    conn: Connection,
    feed_id: int,
    again: Sequence[SeenAgain],
    delivering: Delivering,
    now: datetime,
) -> tuple[int, int]:
    """Add the new keys of known entries and store their new versions; (changed, new matches)."""
    add_keys(conn, [(feed_id, item.entry_id, item.new_keys) for item in again if item.new_keys])
    changed = [item for item in again if item.changed is not None]
    if not changed:
        return 0, 0
    ids = [item.entry_id for item in changed]
    columns = (
        entries.c.id,
        entries.c.title,
        entries.c.summary,
        entries.c.content,
        entries.c.revision,
        entries.c.story_id,
        entries.c.first_seen_at,
    )
    old = {
        row.id: row
        for batch in among(ids)
        for row in conn.execute(select(*columns).where(entries.c.id.in_(batch)))
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
                    "hits": stored_hits(match),
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
    return len(insert_matches(conn, fresh, delivering, now))
