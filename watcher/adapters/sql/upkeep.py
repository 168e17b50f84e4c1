"""Upkeep: pruning old entry bodies and rows, and the database's size."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import (
    select,
    tuple_,
    update,
)

from watcher.adapters.sql.bulk import among
from watcher.adapters.sql.database import Database
from watcher.adapters.sql.tables import (
    entries,
    revisions,
    story_bands,
)
from watcher.core.views import (
    PruneReport,
)

PRUNE_BATCH = 5000  # rows a transaction: well under a second on a large store


class SqlUpkeep:
    """Pruning old entry bodies and rows, and the database's size."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def prune(
        self,
        now: datetime,
        retention: timedelta | None,
        window: timedelta,
        progress: Callable[[], None] = lambda: None,
        vacuum: bool = True,
    ) -> PruneReport:
        """Remove the bodies and revisions of entries older than ``retention`` (their identity
        keys, titles and links stay, so they are never new again) and the near-duplicate
        index past the clustering window.

        In batches of ``PRUNE_BATCH`` rows, each its own transaction, calling ``progress``
        after each: on a large store the daemon's loop (and its watchdog) would otherwise
        wait for one long transaction, and other workers for its locks. ``vacuum``: SQLite
        gives the freed pages back to the file system (a copy of the whole file, which the
        daemon skips: SQLite reuses free pages for the entries to come)."""
        before = self.database_size()
        bodies = old_revisions = bands = 0
        if retention is not None:
            after: int | None = 0  # the batches walk the entries by id: one pass in all
            while after is not None:
                after, pruned, dropped = self._prune_bodies(now, now - retention, after)
                bodies, old_revisions = bodies + pruned, old_revisions + dropped
                progress()
        key = tuple_(story_bands.c.band, story_bands.c.story_id)
        past = select(story_bands.c.band, story_bands.c.story_id).where(
            story_bands.c.seen_at < now - window
        )
        while True:
            with self.db.engine.begin() as conn:
                gone = conn.execute(
                    story_bands.delete().where(key.in_(past.limit(PRUNE_BATCH)))
                ).rowcount
            bands += gone
            progress()
            if gone < PRUNE_BATCH:
                break
        if (
            vacuum
            and self.db.engine.dialect.name == "sqlite"
            and (bodies or old_revisions or bands)
        ):
            with self.db.engine.connect() as conn:
                conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("VACUUM")
        return PruneReport(bodies, old_revisions, bands, before, self.database_size())

    def _prune_bodies(
        self, now: datetime, cutoff: datetime, after: int
    ) -> tuple[int | None, int, int]:
        """One batch of the entries after id ``after`` first seen before ``cutoff`` and not
        pruned yet: (the last id looked at, None at the end; entries pruned; revisions
        removed)."""
        with self.db.engine.begin() as conn:
            ids = list(
                conn.scalars(
                    select(entries.c.id)
                    .where(
                        entries.c.id > after,
                        entries.c.first_seen_at < cutoff,
                        entries.c.pruned_at.is_(None),
                    )
                    .order_by(entries.c.id)
                    .limit(PRUNE_BATCH)
                )
            )
            dropped = pruned = 0
            for batch in among(ids):
                dropped += conn.execute(
                    revisions.delete().where(revisions.c.entry_id.in_(batch))
                ).rowcount
                pruned += conn.execute(
                    update(entries)
                    .where(entries.c.id.in_(batch))
                    .values(summary="", content="", pruned_at=now)
                ).rowcount
        return (ids[-1] if len(ids) == PRUNE_BATCH else None), pruned, dropped

    def database_size(self) -> int | None:
        """The database's size in bytes (SQLite: the file; PostgreSQL: the database)."""
        with self.db.engine.connect() as conn:
            if self.db.engine.dialect.name == "sqlite":
                pages = conn.exec_driver_sql("PRAGMA page_count").scalar()
                size = conn.exec_driver_sql("PRAGMA page_size").scalar()
                return int(pages or 0) * int(size or 0)
            if self.db.engine.dialect.name == "postgresql":
                return int(
                    conn.exec_driver_sql("SELECT pg_database_size(current_database())").scalar()
                    or 0
                )
        return None
