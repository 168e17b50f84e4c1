"""Rules added from the command line (``watcher rules add``), kept beside the config's."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import (
    delete,
    select,
)

from watcher.adapters.sql.bulk import upsert
from watcher.adapters.sql.database import Database
from watcher.adapters.sql.tables import (
    cli_rules,
)


class SqlRules:
    """Rules added from the command line."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def cli_rules(self) -> list[tuple[str, str, tuple[str, ...] | None]]:
        """(name, query, notify) of each rule added by `watcher rules add`, oldest first."""
        query = select(cli_rules.c.name, cli_rules.c.query, cli_rules.c.notify).order_by(
            cli_rules.c.created_at, cli_rules.c.name
        )
        with self.db.engine.connect() as conn:
            return [
                (name, text, tuple(notify) if notify is not None else None)
                for name, text, notify in conn.execute(query)
            ]

    def add_rule(self, name: str, query: str, notify: Sequence[str] | None, now: datetime) -> bool:
        """Store a rule; False if one of that name was added before."""
        with self.db.engine.begin() as conn:
            stmt = upsert(conn, cli_rules).values(
                name=name,
                query=query,
                notify=list(notify) if notify is not None else None,
                created_at=now,
            )
            return bool(conn.execute(stmt.on_conflict_do_nothing()).rowcount)

    def remove_rule(self, name: str) -> bool:
        with self.db.engine.begin() as conn:
            return bool(conn.execute(delete(cli_rules).where(cli_rules.c.name == name)).rowcount)
