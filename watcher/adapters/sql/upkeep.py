"""Upkeep: pruning old entry bodies and rows, and the database's size."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import (
    select,
    update,
)

from watcher.adapters.sql.database import Database
from watcher.adapters.sql.tables import (
    entries,
    revisions,
    story_bands,
)
from watcher.core.views import (
    PruneReport,
)


class SqlUpkeep:
    """Pruning old entry bodies and rows, and the database's size."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def prune(self, now: datetime, retention: timedelta | None, window: timedelta) -> PruneReport:
        """Remove the bodies and revisions of entries older than ``retention`` (their identity
        keys, titles and links stay, so they are never new again) and the near-duplicate
        index past the clustering window."""
        before = self.database_size()
        with self.db.engine.begin() as conn:
            bodies = old_revisions = 0
            if retention is not None:
                old = (
                    select(entries.c.id)
                    .where(entries.c.first_seen_at < now - retention, entries.c.pruned_at.is_(None))
                    .scalar_subquery()
                )
                old_revisions = conn.execute(
                    revisions.delete().where(revisions.c.entry_id.in_(old))
                ).rowcount
                bodies = conn.execute(
                    update(entries)
                    .where(entries.c.id.in_(old))
                    .values(summary="", content="", pruned_at=now)
                ).rowcount
            bands = conn.execute(
                story_bands.delete().where(story_bands.c.seen_at < now - window)
            ).rowcount
        if self.db.engine.dialect.name == "sqlite" and (bodies or old_revisions or bands):
            with self.db.engine.connect() as conn:
                conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("VACUUM")
        return PruneReport(bodies, old_revisions, bands, before, self.database_size())

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
