"""Entries as a fetch finds them: which stored entry each incoming one is, and storing what the
fetch brought (see ingest) in one transaction with the feed's new state."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import (
    Connection,
    bindparam,
    select,
)

from watcher.adapters.sql.bulk import Among, ListOf, among
from watcher.adapters.sql.database import Database
from watcher.adapters.sql.feeds import feed_update, healthy
from watcher.adapters.sql.ingest import insert_new
from watcher.adapters.sql.revisions import update_known
from watcher.adapters.sql.tables import (
    entries,
    entry_keys,
    feeds,
    matches,
)
from watcher.core.model import (
    Clustering,
    Delivering,
    FeedSave,
    FetchResult,
    KnownEntry,
    NewItem,
    SaveCounts,
    SeenAgain,
)

# What a fetch's triage asks of the store, for every feed that changed: built once (building
# a statement cost more than running it). One row a stored entry that holds one of the keys
# in the feed, with all its keys and rules: a row a key, rule or entry from four statements
# cost 2 ms a feed of the writer's CPU, and three times that in waits for the GIL, one for
# every row.
_KNOWN = select(
    entries.c.id,
    entries.c.content_hash,
    entries.c.revision,
    entries.c.pruned_at,
    select(ListOf(entry_keys.c.key))
    .where(entry_keys.c.entry_id == entries.c.id)
    .scalar_subquery()
    .label("key_list"),
    select(ListOf(matches.c.rule))
    .where(matches.c.entry_id == entries.c.id)
    .scalar_subquery()
    .label("rule_list"),
).where(
    entries.c.id.in_(
        select(entry_keys.c.entry_id)
        .join(feeds, feeds.c.id == entry_keys.c.feed_id)
        .where(feeds.c.url == bindparam("url"), Among(entry_keys.c.key, "keys"))
    )
)


class SqlEntries:
    """Which stored entry each incoming one is, and storing what a fetch brought."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def known(self, url: str, keys: Sequence[Sequence[str]]) -> list[KnownEntry | None]:
        wanted = list({key for entry_keys_ in keys for key in entry_keys_})
        found: dict[int, KnownEntry] = {}
        with self.db.writing() as conn:
            for batch in among(wanted):
                for row in conn.execute(_KNOWN, {"url": url, "keys": list(batch)}).all():
                    found[row.id] = KnownEntry(
                        row.id, frozenset(row.key_list), row.content_hash, row.revision,
                        row.pruned_at is not None, frozenset(row.rule_list),
                    )  # fmt: skip
        # The keys of an entry are all its feed's ((feed, key) is unique): an incoming entry
        # is the stored entry named by its first key that names one.
        owner = {key: entry for entry in found.values() for key in entry.keys}
        return [
            next((owner[key] for key in entry_keys_ if key in owner), None) for entry_keys_ in keys
        ]

    def save_success(
        self,
        url: str,
        fetched: FetchResult,
        title: str,
        warning: str | None,
        items: Sequence[NewItem],
        again: Sequence[SeenAgain],
        delivering: Delivering,
        clustering: Clustering | None,
        now: datetime,
        next_fetch: datetime | None = None,
        hint: timedelta | None = None,
    ) -> SaveCounts:
        save = FeedSave(url, fetched, title, warning, items, again, now, next_fetch, hint)
        return self.save_successes([save], delivering, clustering)[0]

    def save_successes(
        self, saves: Sequence[FeedSave], delivering: Delivering, clustering: Clustering | None
    ) -> list[SaveCounts]:
        if not saves:
            return []
        with self.db.writing() as conn:
            feed_ids = [_update_feed(conn, save) for save in saves]
            # One moment for the batch's new entries: the last fetch's (they are moments apart).
            now = max(save.at for save in saves)
            fresh = insert_new(
                conn,
                [(feed_id, save.items) for feed_id, save in zip(feed_ids, saves, strict=True)],
                delivering,
                clustering,
                now,
            )
            counts = []
            for feed_id, save, (new_entries, new_matches) in zip(
                feed_ids, saves, fresh, strict=True
            ):
                changed, rematched = update_known(conn, feed_id, save.again, delivering, save.at)
                counts.append(
                    SaveCounts(new_entries, new_matches + rematched, changed, save.churned)
                )
            return counts


def _update_feed(conn: Connection, save: FeedSave) -> int:
    """Record the feed's new state; its id."""
    fetched = save.fetched
    values = {
        "title": save.title or None,
        "etag": fetched.etag,
        "last_modified": fetched.last_modified,
        "last_status": "ok",
        "last_http_status": fetched.status,
        "last_warning": save.warning,
        **healthy(save.at, save.next_fetch, fetched),
        "body_hash": fetched.body_hash,
        "feed_hint": int(save.hint.total_seconds()) if save.hint else None,
    }
    new = {f"new_{k}": v for k, v in values.items()}
    params = {"feed_url": save.url, "churned": save.churned, **new}
    feed_id: int = conn.execute(feed_update(tuple(values)), params).scalar_one()
    return feed_id
