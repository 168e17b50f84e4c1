"""The database: SQLAlchemy engine set-up, migrations, and every query feed-watcher makes.

SQLite (the default) runs in WAL mode with a busy timeout; PostgreSQL works through
``postgresql+psycopg://``. New rows go in with ``INSERT … ON CONFLICT DO NOTHING`` on unique
identities, never check-then-insert, so two writers cannot store one entry twice.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config as AlembicConfig
from sqlalchemy import (
    Connection,
    Engine,
    Row,
    case,
    create_engine,
    event,
    func,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url

from watcher.adapters.tables import UTCDateTime, deliveries, entries, feeds, matches
from watcher.config import Feed
from watcher.model import (
    Alert,
    DigestRow,
    Entry,
    FeedStatus,
    FetchResult,
    Hit,
    StoredEntry,
    Validators,
)
from watcher.ports import NewItem, SaveCounts

MIGRATIONS = Path(__file__).parent / "migrations"
_KEY_BATCH = 500  # bound the size of IN (...) lists


def connect(url: str) -> Engine:
    """An engine for ``url``; SQLite files get their directory, WAL and a busy timeout."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def migrate(engine: Engine) -> None:
    """Bring the schema up to date (a no-op when it already is)."""
    config = AlembicConfig()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


def masked_database_url(url: str) -> str:
    """The database URL with its password hidden."""
    return make_url(url).render_as_string(hide_password=True)


def database_password(url: str) -> str | None:
    """The password in a database URL, so that it can be kept out of logs."""
    password = make_url(url).password
    return None if password is None else str(password)


def _insert(connection: Connection, table: Any) -> Any:
    """The dialect's INSERT, which knows ON CONFLICT."""
    if connection.dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


class SqlStore:
    """The Store port over SQLAlchemy, plus the queries the CLI reads."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    # --- feeds -------------------------------------------------------------------------

    def sync_feeds(self, configured: Sequence[Feed], now: datetime) -> None:
        """Make the feeds table agree with the config: add new feeds, update names, and
        mark feeds no longer configured (their entries stay)."""
        urls = [feed.url for feed in configured]
        with self.engine.begin() as conn:
            if configured:
                stmt = _insert(conn, feeds)
                stmt = stmt.on_conflict_do_update(
                    index_elements=[feeds.c.url],
                    set_={"name": stmt.excluded.name, "configured": 1},
                )
                conn.execute(
                    stmt,
                    [
                        {"url": f.url, "name": f.name, "configured": 1, "created_at": now}
                        for f in configured
                    ],
                )
            conn.execute(update(feeds).where(feeds.c.url.not_in(urls)).values(configured=0))

    def validators(self, urls: Sequence[str]) -> dict[str, Validators]:
        out: dict[str, Validators] = {}
        with self.engine.connect() as conn:
            for batch in _batches(urls):
                rows = conn.execute(
                    select(feeds.c.url, feeds.c.etag, feeds.c.last_modified).where(
                        feeds.c.url.in_(batch)
                    )
                )
                out.update({row.url: Validators(row.etag, row.last_modified) for row in rows})
        return out

    def last_fetches(self) -> dict[str, datetime]:
        """When each feed was last attempted, for the daemon's schedule after a restart."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(feeds.c.url, feeds.c.last_fetch_at).where(feeds.c.last_fetch_at.is_not(None))
            )
            return {row.url: row.last_fetch_at for row in rows}

    def save_not_modified(self, url: str, now: datetime) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                update(feeds)
                .where(feeds.c.url == url)
                .values(
                    last_fetch_at=now,
                    last_ok_at=now,
                    last_status="not-modified",
                    last_http_status=304,
                    last_error=None,
                )
            )

    def save_failure(self, url: str, reason: str, http_status: int | None, now: datetime) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                update(feeds)
                .where(feeds.c.url == url)
                .values(
                    last_fetch_at=now,
                    last_status="failed",
                    last_http_status=http_status,
                    last_error=reason,
                )
            )

    # --- entries and matches -------------------------------------------------------------

    def unseen_keys(self, url: str, keys: Sequence[str]) -> set[str]:
        unseen = set(keys)
        with self.engine.connect() as conn:
            feed_id = conn.scalar(select(feeds.c.id).where(feeds.c.url == url))
            if feed_id is None:
                return unseen
            for batch in _batches(list(unseen)):
                unseen -= set(
                    conn.scalars(
                        select(entries.c.key).where(
                            entries.c.feed_id == feed_id, entries.c.key.in_(batch)
                        )
                    )
                )
        return unseen

    def save_success(
        self,
        url: str,
        fetched: FetchResult,
        title: str,
        warning: str | None,
        items: Sequence[NewItem],
        targets: Mapping[str, Sequence[str]],
        now: datetime,
    ) -> SaveCounts:
        with self.engine.begin() as conn:
            feed_id = conn.execute(
                update(feeds)
                .where(feeds.c.url == url)
                .values(
                    title=title or None,
                    etag=fetched.etag,
                    last_modified=fetched.last_modified,
                    last_fetch_at=now,
                    last_ok_at=now,
                    last_status="ok",
                    last_http_status=fetched.status,
                    last_error=None,
                    last_warning=warning,
                )
                .returning(feeds.c.id)
            ).scalar_one()
            if not items:
                return SaveCounts(0, 0)
            entry_ids = self._insert_entries(conn, feed_id, items, now)
            match_count = self._insert_matches(conn, entry_ids, items, targets, now)
            return SaveCounts(len(entry_ids), match_count)

    def _insert_entries(
        self, conn: Connection, feed_id: int, items: Sequence[NewItem], now: datetime
    ) -> dict[str, int]:
        stmt = (
            _insert(conn, entries)
            .on_conflict_do_nothing(index_elements=[entries.c.feed_id, entries.c.key])
            .returning(entries.c.id, entries.c.key)
        )
        rows = conn.execute(stmt, [_entry_row(feed_id, item.entry, now) for item in items])
        return {row.key: row.id for row in rows}

    def _insert_matches(
        self,
        conn: Connection,
        entry_ids: Mapping[str, int],
        items: Sequence[NewItem],
        targets: Mapping[str, Sequence[str]],
        now: datetime,
    ) -> int:
        # Only entries this transaction inserted get matches: a concurrent writer that stored
        # an entry first also matched and queued it.
        rows = [
            {
                "entry_id": entry_ids[item.entry.key],
                "rule": match.rule,
                "terms": list(match.terms),
                "fields": list(match.fields),
                "hits": [[h.field, h.start, h.end, h.term] for h in match.hits],
                "matched_at": now,
            }
            for item in items
            if item.entry.key in entry_ids
            for match in item.matches
        ]
        if not rows:
            return 0
        stmt = (
            _insert(conn, matches)
            .on_conflict_do_nothing(index_elements=[matches.c.entry_id, matches.c.rule])
            .returning(matches.c.id, matches.c.rule)
        )
        inserted = conn.execute(stmt, rows).all()
        pending = [
            {
                "match_id": row.id,
                "target": target,
                "status": "pending",
                "attempts": 0,
                "next_attempt_at": now,
                "created_at": now,
            }
            for row in inserted
            for target in targets.get(row.rule, ())
        ]
        if pending:
            conn.execute(
                _insert(conn, deliveries).on_conflict_do_nothing(
                    index_elements=[deliveries.c.match_id, deliveries.c.target]
                ),
                pending,
            )
        return len(inserted)

    # --- deliveries ----------------------------------------------------------------------

    def due_alerts(
        self, now: datetime, limit: int, exclude_targets: Sequence[str] = ()
    ) -> list[Alert]:
        query = (
            _alert_select()
            .where(deliveries.c.status == "pending", deliveries.c.next_attempt_at <= now)
            .order_by(deliveries.c.id)
            .limit(limit)
        )
        if exclude_targets:
            query = query.where(deliveries.c.target.not_in(exclude_targets))
        with self.engine.connect() as conn:
            return [_alert(row) for row in conn.execute(query)]

    def mark_sent(self, delivery_id: int, now: datetime) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                update(deliveries)
                .where(deliveries.c.id == delivery_id)
                .values(
                    status="sent",
                    sent_at=now,
                    attempts=deliveries.c.attempts + 1,
                    last_error=None,
                )
            )

    def mark_failed_attempt(
        self, delivery_id: int, reason: str, retry_at: datetime | None, now: datetime
    ) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                update(deliveries)
                .where(deliveries.c.id == delivery_id)
                .values(
                    status="pending" if retry_at else "failed",
                    attempts=deliveries.c.attempts + 1,
                    last_error=reason,
                    next_attempt_at=retry_at or now,
                )
            )

    # --- reading for the CLI -------------------------------------------------------------

    def digest(
        self, since: datetime | None, rules: Sequence[str], limit: int | None
    ) -> list[DigestRow]:
        """Stored matches, newest first (by publication time, else update, else first sight)."""
        when = _entry_time()
        query = (
            select(
                matches.c.id.label("match_id"),
                entries.c.id.label("entry_id"),
                when.label("time"),
                matches.c.rule,
                matches.c.hits,
                entries.c.title,
                entries.c.link,
                entries.c.summary,
                _display_name().label("feed_name"),
            )
            .join(entries, matches.c.entry_id == entries.c.id)
            .join(feeds, entries.c.feed_id == feeds.c.id)
            .order_by(when.desc(), matches.c.id.desc())
        )
        if since is not None:
            query = query.where(matches.c.matched_at >= since)
        if rules:
            query = query.where(matches.c.rule.in_(rules))
        if limit is not None:
            query = query.limit(limit)
        with self.engine.connect() as conn:
            return [
                DigestRow(
                    match_id=row.match_id,
                    entry_id=row.entry_id,
                    time=row.time,
                    rule=row.rule,
                    hits=_hits(row.hits),
                    title=row.title,
                    link=row.link,
                    feed_name=row.feed_name,
                    summary=row.summary,
                )
                for row in conn.execute(query)
            ]

    def rule_counts(self, now: datetime) -> dict[str, tuple[int, int]]:
        """Matches per rule found in the last 24 hours and the last 7 days."""
        day = now - timedelta(days=1)
        query = (
            select(
                matches.c.rule,
                func.sum(case((matches.c.matched_at >= day, 1), else_=0)),
                func.count(),
            )
            .where(matches.c.matched_at >= now - timedelta(days=7))
            .group_by(matches.c.rule)
        )
        with self.engine.connect() as conn:
            return {str(row[0]): (int(row[1] or 0), int(row[2])) for row in conn.execute(query)}

    def stored_entries(self, since: datetime | None) -> Iterator[StoredEntry]:
        """Stored entries first seen since ``since``, newest first, read in batches."""
        query = (
            select(
                entries,
                _display_name().label("feed_name"),
                feeds.c.url.label("feed_url"),
                _entry_time().label("time"),
            )
            .join(feeds, entries.c.feed_id == feeds.c.id)
            .order_by(entries.c.first_seen_at.desc(), entries.c.id.desc())
            .execution_options(yield_per=500)
        )
        if since is not None:
            query = query.where(entries.c.first_seen_at >= since)
        with self.engine.connect() as conn:
            for row in conn.execute(query):
                yield StoredEntry(row.id, _entry(row), row.feed_name, row.feed_url, row.time)

    def feed_statuses(self) -> list[FeedStatus]:
        counts = (
            select(entries.c.feed_id, func.count().label("n"))
            .group_by(entries.c.feed_id)
            .subquery()
        )
        query = (
            select(
                feeds,
                _display_name().label("display"),
                func.coalesce(counts.c.n, 0).label("n"),
            )
            .outerjoin(counts, counts.c.feed_id == feeds.c.id)
            .order_by(feeds.c.configured.desc(), feeds.c.id)
        )
        with self.engine.connect() as conn:
            return [
                FeedStatus(
                    url=row.url,
                    name=row.display,
                    configured=bool(row.configured),
                    last_fetch=row.last_fetch_at,
                    last_status=row.last_status,
                    entries=row.n,
                    last_error=row.last_error,
                    warning=row.last_warning,
                )
                for row in conn.execute(query)
            ]

    def delivery_counts(self) -> dict[str, int]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(deliveries.c.status, func.count()).group_by(deliveries.c.status)
            )
            return {str(row[0]): int(row[1]) for row in rows}


def _entry_time() -> Any:
    """When an entry happened: published, else updated, else first seen."""
    return func.coalesce(
        entries.c.published, entries.c.updated, entries.c.first_seen_at, type_=UTCDateTime()
    )


def _display_name() -> Any:
    return func.coalesce(feeds.c.name, feeds.c.title, feeds.c.url)


def _alert_select() -> Any:
    return (
        select(
            deliveries.c.id.label("delivery_id"),
            deliveries.c.target,
            deliveries.c.attempts,
            matches.c.rule,
            matches.c.hits,
            entries,
            _display_name().label("feed_name"),
            feeds.c.url.label("feed_url"),
        )
        .join(matches, deliveries.c.match_id == matches.c.id)
        .join(entries, matches.c.entry_id == entries.c.id)
        .join(feeds, entries.c.feed_id == feeds.c.id)
    )


def _entry(row: Row[Any]) -> Entry:
    return Entry(
        key=row.key,
        title=row.title,
        link=row.link,
        guid=row.guid,
        published=row.published,
        updated=row.updated,
        summary=row.summary,
        content=row.content,
        author=row.author,
        tags=tuple(row.tags),
    )


def _alert(row: Row[Any]) -> Alert:
    entry = _entry(row)
    return Alert(
        delivery_id=row.delivery_id,
        target=row.target,
        rule=row.rule,
        hits=_hits(row.hits),
        entry=entry,
        feed_name=row.feed_name,
        feed_url=row.feed_url,
        attempts=row.attempts,
    )


def _hits(stored: list[list[Any]]) -> tuple[Hit, ...]:
    return tuple(Hit(term, field, start, end) for field, start, end, term in stored)


def _entry_row(feed_id: int, entry: Entry, now: datetime) -> dict[str, Any]:
    return {
        "feed_id": feed_id,
        "key": entry.key,
        "guid": entry.guid,
        "title": entry.title,
        "link": entry.link,
        "published": entry.published,
        "updated": entry.updated,
        "summary": entry.summary,
        "content": entry.content,
        "author": entry.author,
        "tags": list(entry.tags),
        "first_seen_at": now,
    }


def _batches(values: Sequence[str]) -> list[Sequence[str]]:
    return [values[i : i + _KEY_BATCH] for i in range(0, len(values), _KEY_BATCH)]
