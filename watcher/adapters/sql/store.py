"""The store: one front over the database's parts, each a class of its own (feeds, rules,
entries, outbox, reports, upkeep, coordination) sharing one ``Database``. Callers reach a part
by name (``store.outbox.due_alerts(…)``) and are typed by the port they need.

SQLite (the default) runs in WAL mode with a busy timeout; PostgreSQL works through
``postgresql+psycopg://``. New rows go in with ``INSERT … ON CONFLICT DO NOTHING`` on unique
identities, never check-then-insert, so two writers cannot store one entry twice.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from datetime import timedelta

from sqlalchemy import Engine

from watcher.adapters.sql.coordination import SqlCoordination
from watcher.adapters.sql.database import Database
from watcher.adapters.sql.entries import SqlEntries
from watcher.adapters.sql.feeds import SqlFeeds
from watcher.adapters.sql.outbox import SqlOutbox
from watcher.adapters.sql.reports import SqlReports
from watcher.adapters.sql.rules import SqlRules
from watcher.adapters.sql.upkeep import SqlUpkeep


class SqlStore:
    """Every part of the store over one engine.

    On PostgreSQL the store is ``cooperative``: several worker processes share it, so due
    deliveries are claimed (``FOR UPDATE SKIP LOCKED``, then leased by pushing their next
    attempt ``lease`` ahead) before they are sent, and batch and digest sends take an advisory
    lock. SQLite serves one process (``watcher run`` holds a lock file), which needs neither.
    """

    def __init__(self, engine: Engine, lease: timedelta = timedelta(seconds=60)) -> None:
        self.db = Database(engine, lease)
        self.feeds = SqlFeeds(self.db)
        self.rules = SqlRules(self.db)
        self.entries = SqlEntries(self.db)
        self.outbox = SqlOutbox(self.db)
        self.reports = SqlReports(self.db)
        self.upkeep = SqlUpkeep(self.db)
        self.coordination = SqlCoordination(self.db)

    @property
    def engine(self) -> Engine:
        return self.db.engine

    @property
    def cooperative(self) -> bool:
        return self.db.cooperative

    @property
    def lease(self) -> timedelta:
        return self.db.lease

    def together(self) -> AbstractContextManager[None]:
        """This thread's writes inside the block share one transaction (Database.together)."""
        return self.db.together()
