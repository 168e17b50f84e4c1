"""The database: SQLAlchemy engine set-up, migrations, and every query feed-watcher makes.

SQLite (the default) runs in WAL mode with a busy timeout; PostgreSQL works through
``postgresql+psycopg://``. New rows go in with ``INSERT … ON CONFLICT DO NOTHING`` on unique
identities, never check-then-insert, so two writers cannot store one entry twice.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import hashlib
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Connection,
    Engine,
    Integer,
    Row,
    bindparam,
    case,
    create_engine,
    delete,
    event,
    func,
    insert,
    inspect,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.engine import ExceptionContext, make_url
from sqlalchemy.exc import (
    ArgumentError,
    DBAPIError,
    InterfaceError,
    NoSuchModuleError,
    OperationalError,
)
from sqlalchemy.sql.elements import BindParameter, ColumnElement

from watcher.adapters.sql.ingest import batches, insert_new, update_known, upsert
from watcher.adapters.sql.tables import (
    UTCDateTime,
    cli_rules,
    cycles,
    deliveries,
    entries,
    entry_keys,
    feeds,
    matches,
    metadata,
    revisions,
    story_bands,
    target_state,
    workers,
)
from watcher.core.errors import StoreError, StoreUnavailable, WriteConflict
from watcher.core.model import (
    Alert,
    Clustering,
    CycleRecord,
    Delivering,
    Entry,
    FeedSchedule,
    FetchResult,
    Hit,
    KnownEntry,
    Match,
    NewItem,
    QuietFetch,
    SaveCounts,
    SeenAgain,
    Validators,
)
from watcher.core.redact import mask_feed_url as shown
from watcher.core.redact import mask_feed_urls
from watcher.core.settings import Feed
from watcher.core.views import (
    GAVE_UP,
    DeliveryMark,
    DeliveryRow,
    DigestQuery,
    DigestRow,
    EntryDetail,
    FeedStatus,
    PruneReport,
    Revision,
    SentRecord,
    StoredEntry,
    StoryMember,
    WorkerRow,
)

MIGRATIONS = Path(__file__).parent / "migrations"
_CONFLICTS = ("40P01", "40001")  # PostgreSQL: deadlock detected, serialization failure
_CYCLES_KEPT = 100


def connect(url: str) -> Engine:
    """An engine for ``url``; SQLite files get their directory, WAL and a busy timeout. What
    the driver raises through it comes out as the project's own errors (``_our_error``)."""
    try:
        parsed = make_url(url)
        if parsed.get_backend_name() == "sqlite":
            if parsed.database and parsed.database != ":memory:":
                Path(parsed.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
            engine = create_engine(url)
            event.listen(engine, "connect", _sqlite_pragmas)
        else:
            engine = create_engine(url, pool_pre_ping=True)
    except (ArgumentError, NoSuchModuleError, ImportError) as exc:
        raise StoreError(f"cannot use the database URL: {exc}") from None
    event.listen(engine, "handle_error", _our_error)
    return engine


def _our_error(context: ExceptionContext) -> StoreError | None:
    """A driver's error as StoreUnavailable (unreachable, locked), WriteConflict (a deadlock or
    serialization failure between workers) or StoreError; the first line of its reason."""
    original = context.original_exception
    reason = (str(original).strip().splitlines() or [type(original).__name__])[0]
    if getattr(original, "sqlstate", None) in _CONFLICTS:
        return WriteConflict(reason)
    if isinstance(context.sqlalchemy_exception, (OperationalError, InterfaceError)):
        return StoreUnavailable(reason)
    if isinstance(context.sqlalchemy_exception, DBAPIError):
        return StoreError(reason)
    return None


def database_exists(url: str) -> bool:
    """False for an SQLite file not created yet (looking must not create it); True otherwise."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return True
    return Path(str(parsed.database)).expanduser().exists()


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


HEAD = "0012"  # the newest migration; tests/test_store.py checks it against alembic's


def migrate(engine: Engine) -> None:
    """Bring the schema up to date (a no-op when it already is). Alembic is imported only
    when there is work for it: it costs a quarter of a second, and every `watcher run --once`
    from a timer would pay it."""
    if _revision(engine) == HEAD:
        return
    from alembic import command
    from alembic.config import Config as AlembicConfig

    config = AlembicConfig()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.connect() as connection:
        sqlite_db = connection.dialect.name == "sqlite"
        if sqlite_db:
            # SQLite changes a table by copying it and dropping the old one; with foreign keys
            # enforced, that drop would cascade into every table that refers to it.
            connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
            connection.commit()  # end SQLAlchemy's autobegun transaction (SQLite began none)
        try:
            with connection.begin():
                if connection.dialect.name == "postgresql":
                    # Workers starting together: one migrates while the others wait here,
                    # then find the schema at its head and have nothing to do.
                    lock = text("SELECT pg_advisory_xact_lock(:k)")
                    connection.execute(lock, {"k": _lock_key("migrate")})
                config.attributes["connection"] = connection
                command.upgrade(config, "head")
        finally:
            if sqlite_db:
                connection.exec_driver_sql("PRAGMA foreign_keys=ON")
                connection.commit()


def _revision(engine: Engine) -> str | None:
    """The schema's alembic revision; None for an empty database."""
    with engine.connect() as connection:
        if not inspect(connection).has_table("alembic_version"):
            return None
        revision = connection.scalar(text("SELECT version_num FROM alembic_version"))
        return None if revision is None else str(revision)


def copy_database(
    source: Engine, target: Engine, progress: Callable[[str, int], None] | None = None
) -> dict[str, int]:
    """Copy every row of ``source`` into ``target``, which is migrated first and must hold no
    feeds yet (so that nothing is merged by accident); rows per table. Tables go parents
    first, and PostgreSQL's id sequences are moved past the copied ids."""
    migrate(source)
    migrate(target)
    with target.connect() as conn:
        if conn.scalar(select(func.count()).select_from(feeds)):
            raise ValueError("the target database already holds feeds: copy into an empty one")
    copied: dict[str, int] = {}
    with source.connect() as reading, target.begin() as writing:
        for table in metadata.sorted_tables:
            count = 0
            rows = reading.execution_options(yield_per=2000).execute(select(table))
            for chunk in rows.mappings().partitions():
                writing.execute(insert(table), [dict(row) for row in chunk])
                count += len(chunk)
                if progress is not None:
                    progress(table.name, len(chunk))
            copied[table.name] = count
        if writing.dialect.name == "postgresql":
            for table in metadata.sorted_tables:
                if "id" in table.c and isinstance(table.c.id.type, Integer):
                    highest = select(func.max(table.c.id)).scalar_subquery()
                    sequence = func.pg_get_serial_sequence(table.name, "id")
                    writing.execute(
                        select(func.setval(sequence, func.coalesce(highest, 0) + 1, False))
                    )
    return copied


def masked_database_url(url: str) -> str:
    """The database URL with its password hidden."""
    return make_url(url).render_as_string(hide_password=True)


def database_password(url: str) -> str | None:
    """The password in a database URL, so that it can be kept out of logs."""
    password = make_url(url).password
    return None if password is None else str(password)


# What a fetch's triage asks of the store, for every feed that changed: built once (building
# a statement cost more than running it).
_IDS: BindParameter[Any] = bindparam("ids", expanding=True)
_FEED_ID = select(feeds.c.id).where(feeds.c.url == bindparam("url"))
_OWNERS = select(entry_keys.c.key, entry_keys.c.entry_id).where(
    entry_keys.c.feed_id == bindparam("feed_id"),
    entry_keys.c.key.in_(bindparam("keys", expanding=True)),
)
_KEYS_OF = select(entry_keys.c.entry_id, entry_keys.c.key).where(entry_keys.c.entry_id.in_(_IDS))
_RULES_OF = select(matches.c.entry_id, matches.c.rule).where(matches.c.entry_id.in_(_IDS))
_STATE_OF = select(
    entries.c.id, entries.c.content_hash, entries.c.revision, entries.c.pruned_at
).where(entries.c.id.in_(_IDS))


class SqlStore:
    """The Store port over SQLAlchemy, plus the queries the CLI reads.

    On PostgreSQL the store is ``cooperative``: several worker processes share it, so due
    deliveries are claimed (``FOR UPDATE SKIP LOCKED``, then leased by pushing their next
    attempt ``lease`` ahead) before they are sent, and batch and digest sends take an advisory
    lock. SQLite serves one process (``watcher run`` holds a lock file), which needs neither.
    """

    def __init__(self, engine: Engine, lease: timedelta = timedelta(seconds=60)) -> None:
        self.engine = engine
        self._shared = threading.local()  # a transaction shared by a thread's writes
        self.cooperative = engine.dialect.name == "postgresql"
        self.lease = lease

    @contextlib.contextmanager
    def together(self) -> Iterator[None]:
        """This thread's writes inside the block share one transaction: one commit for many
        feeds' worth (each feed's entries and deliveries stay atomic, just not alone). A
        collision with another worker's transaction raises WriteConflict."""
        with self.engine.begin() as conn:
            self._shared.conn = conn
            try:
                yield
            finally:
                self._shared.conn = None

    @contextlib.contextmanager
    def _writing(self) -> Iterator[Connection]:
        """The shared transaction if the caller is inside ``together``, else a new one."""
        shared: Connection | None = getattr(self._shared, "conn", None)
        if shared is not None:
            yield shared
            return
        with self.engine.begin() as conn:
            yield conn

    # --- feeds -------------------------------------------------------------------------

    def sync_feeds(self, configured: Sequence[Feed], now: datetime) -> None:
        """Make the feeds table agree with the config: add new feeds, update names, and
        mark feeds no longer configured (their entries stay)."""
        urls = [feed.url for feed in configured]
        with self.engine.begin() as conn:
            if configured:
                stmt = upsert(conn, feeds)
                stmt = stmt.on_conflict_do_update(
                    index_elements=[feeds.c.url],
                    set_={"name": stmt.excluded.name, "configured": 1, "origin": "config"},
                )
                conn.execute(
                    stmt,
                    [
                        {"url": f.url, "name": f.name, "configured": 1, "created_at": now}
                        for f in configured
                    ],
                )
            conn.execute(
                update(feeds)
                .where(feeds.c.url.not_in(urls), feeds.c.origin == "config")
                .values(configured=0)
            )

    def feed_urls(self) -> list[str]:
        """Every feed the database knows, configured or not."""
        with self.engine.connect() as conn:
            return list(conn.scalars(select(feeds.c.url)))

    def cli_feeds(self) -> list[tuple[str, str | None, timedelta | None]]:
        """The feeds added from the command line and not removed: (url, name, interval)."""
        query = (
            select(feeds.c.url, feeds.c.name, feeds.c.interval_seconds)
            .where(feeds.c.origin == "cli", feeds.c.configured == 1)
            .order_by(feeds.c.id)
        )
        with self.engine.connect() as conn:
            return [
                (url, name, timedelta(seconds=seconds) if seconds else None)
                for url, name, seconds in conn.execute(query)
            ]

    def add_feeds(
        self, added: Sequence[tuple[str, str | None, timedelta | None]], now: datetime
    ) -> list[str]:
        """Add (url, name, interval) feeds from the command line; the URLs already known (from
        the config, or added before and not removed) are left as they are and returned."""
        with self.engine.begin() as conn:
            known = {
                url
                for (url,) in conn.execute(
                    select(feeds.c.url).where(
                        feeds.c.url.in_([url for url, _, _ in added]), feeds.c.configured == 1
                    )
                )
            }
            for url, name, interval in added:
                if url in known:
                    continue
                values = {
                    "name": name,
                    "configured": 1,
                    "origin": "cli",
                    "interval_seconds": int(interval.total_seconds()) if interval else None,
                }
                stmt = upsert(conn, feeds).values(url=url, created_at=now, **values)
                conn.execute(stmt.on_conflict_do_update(index_elements=[feeds.c.url], set_=values))
        return sorted(known)

    # --- rules added from the command line ----------------------------------------------

    def cli_rules(self) -> list[tuple[str, str, tuple[str, ...] | None]]:
        """(name, query, notify) of each rule added by `watcher rules add`, oldest first."""
        query = select(cli_rules.c.name, cli_rules.c.query, cli_rules.c.notify).order_by(
            cli_rules.c.created_at, cli_rules.c.name
        )
        with self.engine.connect() as conn:
            return [
                (name, text, tuple(notify) if notify is not None else None)
                for name, text, notify in conn.execute(query)
            ]

    def add_rule(self, name: str, query: str, notify: Sequence[str] | None, now: datetime) -> bool:
        """Store a rule; False if one of that name was added before."""
        with self.engine.begin() as conn:
            stmt = upsert(conn, cli_rules).values(
                name=name,
                query=query,
                notify=list(notify) if notify is not None else None,
                created_at=now,
            )
            return bool(conn.execute(stmt.on_conflict_do_nothing()).rowcount)

    def remove_rule(self, name: str) -> bool:
        with self.engine.begin() as conn:
            return bool(conn.execute(delete(cli_rules).where(cli_rules.c.name == name)).rowcount)

    def remove_feed(self, url_or_name: str, purge: bool) -> tuple[str, str] | None:
        """Stop polling a feed added from the command line (its entries stay unless
        ``purge``). Returns (url, origin), or None when no such feed is watched; a feed of the
        config file is returned untouched, with origin "config"."""
        with self.engine.begin() as conn:
            row = conn.execute(
                select(feeds.c.id, feeds.c.url, feeds.c.origin).where(
                    or_(feeds.c.url == url_or_name, _display_name() == url_or_name),
                    feeds.c.configured == 1,
                )
            ).first()
            if row is None or row.origin != "cli":
                return None if row is None else (row.url, row.origin)
            if purge:
                conn.execute(delete(feeds).where(feeds.c.id == row.id))
            else:
                conn.execute(update(feeds).where(feeds.c.id == row.id).values(configured=0))
            return row.url, row.origin

    def validators(self, urls: Sequence[str]) -> dict[str, Validators]:
        out: dict[str, Validators] = {}
        with self.engine.connect() as conn:
            for batch in batches(urls):
                rows = conn.execute(
                    select(
                        feeds.c.url, feeds.c.etag, feeds.c.last_modified, feeds.c.body_hash
                    ).where(feeds.c.url.in_(batch))
                )
                out.update(
                    {
                        row.url: Validators(row.etag, row.last_modified, row.body_hash)
                        for row in rows
                    }
                )
        return out

    def schedules(self, urls: Sequence[str] | None = None) -> dict[str, FeedSchedule]:
        """Where each fetched feed stands (of ``urls`` only, when given): next fetch, failures
        in a row, paused."""
        with self.engine.connect() as conn:
            if urls is None:
                return self._schedules(conn, None)
            found: dict[str, FeedSchedule] = {}
            for batch in batches(list(urls)):
                found.update(self._schedules(conn, batch))
            return found

    def _schedules(self, conn: Connection, urls: Sequence[str] | None) -> dict[str, FeedSchedule]:
        query = select(
            feeds.c.url,
            feeds.c.next_fetch_at,
            feeds.c.failures,
            feeds.c.paused_at,
            feeds.c.last_ok_at,
            feeds.c.feed_hint,
            feeds.c.redirect_to,
            feeds.c.redirects_seen,
            feeds.c.moved_to,
        ).where(feeds.c.last_fetch_at.is_not(None))
        if urls is not None:
            query = query.where(feeds.c.url.in_(urls))
        return {
            row.url: FeedSchedule(
                row.next_fetch_at,
                row.failures,
                row.paused_at is not None,
                row.last_ok_at is not None,
                timedelta(seconds=row.feed_hint) if row.feed_hint else None,
                row.redirect_to,
                row.redirects_seen,
                row.moved_to,
            )
            for row in conn.execute(query)
        }

    def save_redirect(
        self, url: str, redirect_to: str | None, seen: int, moved_to: str | None
    ) -> None:
        """The permanent redirect a fetch met (None: none), on ``seen`` fetches in a row, and
        where the feed is fetched from now on."""
        with self._writing() as conn:
            conn.execute(
                update(feeds)
                .where(feeds.c.url == url)
                .values(redirect_to=redirect_to, redirects_seen=seen, moved_to=moved_to)
            )

    def resume(self, url_or_name: str, now: datetime) -> list[str]:
        """Un-pause the feeds with this URL or name and make them due now; their URLs."""
        with self.engine.begin() as conn:
            rows = conn.execute(
                update(feeds)
                .where((feeds.c.url == url_or_name) | (_display_name() == url_or_name))
                .values(paused_at=None, failures=0, failing_since=None, next_fetch_at=now)
                .returning(feeds.c.url)
            )
            return [row.url for row in rows]

    def save_quiet(self, fetches: Sequence[QuietFetch]) -> None:
        """Record fetches that brought nothing new, in one transaction: a 304 changes only
        times and status; a 200 with the body read last time also its validators."""
        not_modified = [f for f in fetches if f.fetched.not_modified]
        unchanged = [f for f in fetches if not f.fetched.not_modified]
        by_url = feeds.c.url == bindparam("feed_url")
        with self._writing() as conn:
            if not_modified:
                conn.execute(
                    update(feeds).where(by_url).values(_quiet_columns("not-modified")),
                    [_quiet_params(f) for f in not_modified],
                )
            if unchanged:
                conn.execute(
                    update(feeds)
                    .where(by_url)
                    .values(
                        etag=bindparam("new_etag"),
                        last_modified=bindparam("new_last_modified"),
                        **_quiet_columns("unchanged"),
                    ),
                    [
                        _quiet_params(f)
                        | {"new_etag": f.fetched.etag, "new_last_modified": f.fetched.last_modified}
                        for f in unchanged
                    ],
                )

    def save_failure(
        self,
        url: str,
        reason: str,
        http_status: int | None,
        now: datetime,
        next_fetch: datetime | None = None,
        paused: bool = False,
    ) -> None:
        """A failed fetch: counted, with the reason; tried again at ``next_fetch`` (or, paused,
        only after ``watcher feeds resume``)."""
        with self._writing() as conn:
            conn.execute(
                update(feeds)
                .where(feeds.c.url == url)
                .values(
                    last_fetch_at=now,
                    last_status="failed",
                    last_http_status=http_status,
                    last_error=reason,
                    failures=feeds.c.failures + 1,
                    failing_since=func.coalesce(feeds.c.failing_since, now),
                    next_fetch_at=next_fetch,
                    paused_at=now if paused else None,
                )
            )

    # --- entries and matches -------------------------------------------------------------

    def known(self, url: str, keys: Sequence[Sequence[str]]) -> list[KnownEntry | None]:
        wanted = list({key for entry_keys_ in keys for key in entry_keys_})
        with self._writing() as conn:
            feed_id = conn.scalar(_FEED_ID, {"url": url})
            if feed_id is None or not wanted:
                return [None] * len(keys)
            owner: dict[str, int] = {}
            for batch in batches(wanted):
                rows = conn.execute(_OWNERS, {"feed_id": feed_id, "keys": list(batch)})
                owner.update({row.key: row.entry_id for row in rows})
            ids = list(set(owner.values()))
            found = self._known_entries(conn, ids)
        # An entry is the stored entry named by its first key that names one.
        return [
            next((found[owner[key]] for key in entry_keys_ if key in owner), None)
            for entry_keys_ in keys
        ]

    def _known_entries(self, conn: Connection, ids: Sequence[int]) -> dict[int, KnownEntry]:
        keys: dict[int, set[str]] = {}
        rules: dict[int, set[str]] = {}
        rows: dict[int, Any] = {}
        for batch in batches(ids):
            wanted = {"ids": list(batch)}
            for row in conn.execute(_KEYS_OF, wanted):
                keys.setdefault(row.entry_id, set()).add(row.key)
            for row in conn.execute(_RULES_OF, wanted):
                rules.setdefault(row.entry_id, set()).add(row.rule)
            for entry in conn.execute(_STATE_OF, wanted):
                rows[entry.id] = entry
        return {
            entry_id: KnownEntry(
                entry_id,
                frozenset(keys.get(entry_id, ())),
                row.content_hash,
                row.revision,
                row.pruned_at is not None,
                frozenset(rules.get(entry_id, ())),
            )
            for entry_id, row in rows.items()
        }

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
        churned = sum(1 for item in again if item.churned)
        with self._writing() as conn:
            values = {
                "title": title or None,
                "etag": fetched.etag,
                "last_modified": fetched.last_modified,
                "last_status": "ok",
                "last_http_status": fetched.status,
                "last_warning": warning,
                **_healthy(now, next_fetch, fetched),
                "body_hash": fetched.body_hash,
                "feed_hint": int(hint.total_seconds()) if hint else None,
            }
            feed_id = conn.execute(
                _feed_update(tuple(values)),
                {"feed_url": url, "churned": churned, **{f"new_{k}": v for k, v in values.items()}},
            ).scalar_one()
            new_entries, new_matches = insert_new(conn, feed_id, items, delivering, clustering, now)
            changed, rematched = update_known(conn, feed_id, again, delivering, now)
            return SaveCounts(new_entries, new_matches + rematched, changed, churned)

    # --- deliveries ----------------------------------------------------------------------

    def due_targets(self, now: datetime) -> list[str]:
        with self.engine.connect() as conn:
            return list(
                conn.scalars(
                    select(deliveries.c.target)
                    .where(deliveries.c.status == "pending", deliveries.c.next_attempt_at <= now)
                    .distinct()
                    .order_by(deliveries.c.target)
                )
            )

    def due_alerts(
        self,
        now: datetime,
        limit: int,
        target: str | None = None,
        after: int = 0,
        claim: bool = True,
    ) -> list[Alert]:
        """Pending deliveries whose time has come, oldest first. When cooperative (and
        ``claim``) they are claimed for this process: another worker sees them again only
        after ``lease`` (if this one died before recording the send: the documented single
        repeat)."""
        due = (deliveries.c.status == "pending") & (deliveries.c.next_attempt_at <= now)
        if target is not None:
            due &= deliveries.c.target == target
        if after:
            due &= deliveries.c.id > after
        query = _alert_select().order_by(deliveries.c.id)
        with self.engine.begin() as conn:
            if self.cooperative and claim:
                claimable = (
                    select(deliveries.c.id)
                    .where(due)
                    .order_by(deliveries.c.id)
                    .limit(limit)
                    .with_for_update(skip_locked=True)
                )
                claimed = conn.execute(
                    update(deliveries)
                    .where(deliveries.c.id.in_(claimable.scalar_subquery()))
                    .values(next_attempt_at=now + self.lease)
                    .returning(deliveries.c.id)
                ).scalars()
                query = query.where(deliveries.c.id.in_(list(claimed)))
            else:
                query = query.where(due).limit(limit)
            rows = conn.execute(query).all()
            members = self._story_members_of(conn, [r.story_id for r in rows if r.story_id])
        return [
            replace(
                _alert(row),
                sources=_sources(shown(row.feed_name), members.get(row.story_id, ()))[1:],
            )
            for row in rows
        ]

    def target_sent(self, target: str) -> datetime | None:
        """When a batch or digest target last sent."""
        with self.engine.connect() as conn:
            value = conn.scalar(
                select(target_state.c.last_sent_at).where(target_state.c.target == target)
            )
            return value

    def set_target_sent(self, target: str, when: datetime) -> None:
        with self.engine.begin() as conn:
            stmt = upsert(conn, target_state).values(target=target, last_sent_at=when)
            conn.execute(
                stmt.on_conflict_do_update(
                    index_elements=[target_state.c.target],
                    set_={"last_sent_at": stmt.excluded.last_sent_at},
                )
            )

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
    # What is read here is shown to people (and sent to targets): a feed's URL, and its name
    # where that falls back to the URL, come out with their credentials masked.

    def digest(self, wanted: DigestQuery) -> list[DigestRow]:
        """Stored matches, newest first (by publication time, else update, else first sight),
        one per rule and story, with the story's entries and the match's deliveries."""
        when = _entry_time()
        query = (
            select(
                matches.c.id.label("match_id"),
                entries.c.id.label("entry_id"),
                when.label("time"),
                matches.c.rule,
                matches.c.hits,
                matches.c.terms,
                entries.c.title,
                entries.c.link,
                entries.c.summary,
                entries.c.revision,
                _display_name().label("feed_name"),
                feeds.c.url.label("feed_url"),
                entries.c.story_id,
            )
            .join(entries, matches.c.entry_id == entries.c.id)
            .join(feeds, entries.c.feed_id == feeds.c.id)
            .where(matches.c.silent == 0)  # a story shows once, through its first match
            .order_by(when.desc(), matches.c.id.desc())
        )
        if wanted.since is not None:
            query = query.where(matches.c.matched_at >= wanted.since)
        if wanted.until is not None:
            query = query.where(matches.c.matched_at < wanted.until)
        if wanted.rules:
            query = query.where(matches.c.rule.in_(wanted.rules))
        if wanted.feeds:
            query = query.where(
                or_(feeds.c.url.in_(wanted.feeds), _display_name().in_(wanted.feeds))
            )
        if wanted.changed:
            query = query.where(entries.c.revision > 0)
        if wanted.limit is not None:
            query = query.limit(wanted.limit)
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
            members = self._story_members_of(conn, [r.story_id for r in rows if r.story_id])
            sent = self._deliveries_of(conn, [r.match_id for r in rows])
        return [
            DigestRow(
                match_id=row.match_id,
                entry_id=row.entry_id,
                time=row.time,
                rule=row.rule,
                hits=_hits(row.hits),
                title=row.title,
                link=row.link,
                feed_name=shown(row.feed_name),
                summary=row.summary,
                story_id=row.story_id,
                sources=_sources(shown(row.feed_name), members.get(row.story_id, ())),
                feed_url=shown(row.feed_url),
                revision=row.revision,
                members=members.get(row.story_id, ()),
                deliveries=sent.get(row.match_id, ()),
                matched_terms=tuple(row.terms),
            )
            for row in rows
        ]

    def _story_members_of(
        self, conn: Connection, story_ids: Sequence[int]
    ) -> dict[int, tuple[StoryMember, ...]]:
        """Each story's entries, in the order they were first seen."""
        found: dict[int, list[StoryMember]] = {}
        for batch in batches(list(set(story_ids))):
            rows = conn.execute(
                select(
                    entries.c.story_id,
                    entries.c.id,
                    entries.c.title,
                    entries.c.link,
                    _display_name().label("name"),
                    _entry_time().label("time"),
                )
                .join(feeds, entries.c.feed_id == feeds.c.id)
                .where(entries.c.story_id.in_(batch))
                .order_by(entries.c.first_seen_at, entries.c.id)
            )
            for row in rows:
                found.setdefault(row.story_id, []).append(
                    StoryMember(row.id, row.title, row.link, shown(row.name), row.time)
                )
        return {story: tuple(members) for story, members in found.items()}

    def _deliveries_of(
        self, conn: Connection, match_ids: Sequence[int]
    ) -> dict[int, tuple[DeliveryMark, ...]]:
        found: dict[int, list[DeliveryMark]] = {}
        for batch in batches(list(set(match_ids))):
            rows = conn.execute(
                select(
                    deliveries.c.match_id,
                    deliveries.c.target,
                    deliveries.c.status,
                    deliveries.c.attempts,
                    deliveries.c.sent_at,
                    deliveries.c.revision,
                )
                .where(deliveries.c.match_id.in_(batch))
                .order_by(deliveries.c.id)
            )
            for row in rows:
                found.setdefault(row.match_id, []).append(
                    DeliveryMark(row.target, row.status, row.attempts, row.sent_at, row.revision)
                )
        return {match: tuple(marks) for match, marks in found.items()}

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
                    url=shown(row.url),
                    name=shown(row.display),
                    configured=bool(row.configured),
                    last_fetch=row.last_fetch_at,
                    last_status=row.last_status,
                    entries=row.n,
                    last_error=row.last_error and mask_feed_urls(row.last_error),
                    warning=row.last_warning,
                    guid_churn=row.guid_churn,
                    failures=row.failures,
                    failing_since=row.failing_since,
                    next_fetch=row.next_fetch_at,
                    paused=row.paused_at is not None,
                    moved_to=row.moved_to and shown(row.moved_to),
                    last_bytes=row.last_bytes,
                    last_duration_ms=row.last_duration_ms,
                )
                for row in conn.execute(query)
            ]

    def entry_detail(self, entry_id: int) -> EntryDetail | None:
        """An entry with its revisions, matches, deliveries and story, or None."""
        with self.engine.connect() as conn:
            row = conn.execute(
                select(entries, _display_name().label("feed_name"), feeds.c.url.label("feed_url"))
                .join(feeds, entries.c.feed_id == feeds.c.id)
                .where(entries.c.id == entry_id)
            ).first()
            if row is None:
                return None
            history = conn.execute(
                select(revisions)
                .where(revisions.c.entry_id == entry_id)
                .order_by(revisions.c.number)
            ).all()
            found = conn.execute(
                select(matches).where(matches.c.entry_id == entry_id).order_by(matches.c.id)
            ).all()
            sent = conn.execute(
                select(deliveries, matches.c.rule)
                .join(matches, deliveries.c.match_id == matches.c.id)
                .where(matches.c.entry_id == entry_id)
                .order_by(deliveries.c.id)
            ).all()
            members = self._story_members(conn, row.story_id, entry_id)
        return EntryDetail(
            entry_id=row.id,
            entry=_entry(row),
            feed_name=shown(row.feed_name),
            feed_url=shown(row.feed_url),
            first_seen=row.first_seen_at,
            revision=row.revision,
            pruned=row.pruned_at is not None,
            revisions=tuple(Revision(r.number, r.seen_at, r.title, r.summary) for r in history),
            matches=tuple((Match(m.rule, _hits(m.hits)), bool(m.silent)) for m in found),
            deliveries=tuple(
                SentRecord(
                    d.rule, d.target, d.revision, d.status, d.attempts, d.sent_at, d.last_error
                )
                for d in sent
            ),
            story_id=row.story_id,
            story=members,
        )

    def _story_members(
        self, conn: Connection, story_id: int | None, but: int
    ) -> tuple[StoredEntry, ...]:
        if story_id is None:
            return ()
        rows = conn.execute(
            select(
                entries,
                _display_name().label("feed_name"),
                feeds.c.url.label("feed_url"),
                _entry_time().label("time"),
            )
            .join(feeds, entries.c.feed_id == feeds.c.id)
            .where(entries.c.story_id == story_id, entries.c.id != but)
            .order_by(entries.c.first_seen_at, entries.c.id)
        )
        return tuple(
            StoredEntry(r.id, _entry(r), shown(r.feed_name), shown(r.feed_url), r.time)
            for r in rows
        )

    def prune(self, now: datetime, retention: timedelta | None, window: timedelta) -> PruneReport:
        """Remove the bodies and revisions of entries older than ``retention`` (their identity
        keys, titles and links stay, so they are never new again) and the near-duplicate
        index past the clustering window."""
        before = self.database_size()
        with self.engine.begin() as conn:
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
        if self.engine.dialect.name == "sqlite" and (bodies or old_revisions or bands):
            with self.engine.connect() as conn:
                conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("VACUUM")
        return PruneReport(bodies, old_revisions, bands, before, self.database_size())

    def database_size(self) -> int | None:
        """The database's size in bytes (SQLite: the file; PostgreSQL: the database)."""
        with self.engine.connect() as conn:
            if self.engine.dialect.name == "sqlite":
                pages = conn.exec_driver_sql("PRAGMA page_count").scalar()
                size = conn.exec_driver_sql("PRAGMA page_size").scalar()
                return int(pages or 0) * int(size or 0)
            if self.engine.dialect.name == "postgresql":
                return int(
                    conn.exec_driver_sql("SELECT pg_database_size(current_database())").scalar()
                    or 0
                )
        return None

    def deliveries(self, statuses: Sequence[str], limit: int | None = None) -> list[DeliveryRow]:
        """Deliveries in these states, oldest first."""
        query = (
            select(
                deliveries,
                matches.c.rule,
                entries.c.id.label("entry_id"),
                entries.c.title,
            )
            .join(matches, deliveries.c.match_id == matches.c.id)
            .join(entries, matches.c.entry_id == entries.c.id)
            .where(deliveries.c.status.in_(statuses))
            .order_by(deliveries.c.id)
            .limit(limit)
        )
        with self.engine.connect() as conn:
            return [
                DeliveryRow(
                    row.id,
                    row.target,
                    row.status,
                    row.attempts,
                    row.next_attempt_at,
                    row.last_error,
                    row.rule,
                    row.entry_id,
                    row.title,
                    row.revision,
                )
                for row in conn.execute(query)
            ]

    def requeue(
        self, ids: Sequence[int] | None, now: datetime, targets: Sequence[str] | None = None
    ) -> int:
        """Make deliveries due now with a fresh set of attempts: the given ones (failed,
        orphaned or waiting to retry), or with ``ids=None`` every failed or orphaned one; with
        ``targets``, only those to these targets. Returns how many."""
        where: ColumnElement[bool] = deliveries.c.status.in_(GAVE_UP)
        if ids is not None:
            where = deliveries.c.id.in_(ids) & deliveries.c.status.in_((*GAVE_UP, "pending"))
        if targets is not None:
            where = where & deliveries.c.target.in_(targets)
        with self.engine.begin() as conn:
            return int(
                conn.execute(
                    update(deliveries)
                    .where(where)
                    .values(status="pending", attempts=0, next_attempt_at=now)
                ).rowcount
            )

    # --- several workers ----------------------------------------------------------------

    @contextlib.contextmanager
    def exclusive(self, name: str) -> Iterator[bool]:
        """Whether this process may do the job ``name`` now: on PostgreSQL, an advisory lock
        held for the block (False if another worker holds it); elsewhere always True."""
        if not self.cooperative:
            yield True
            return
        key = _lock_key(name)
        with self.engine.connect() as conn:
            mine = bool(conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": key}).scalar())
            conn.commit()
            try:
                yield mine
            finally:
                if mine:
                    conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
                    conn.commit()

    def claim_feeds(self, worker: str, now: datetime, limit: int) -> list[str]:
        """Lease up to ``limit`` due feeds (never fetched, or their next fetch has come, not
        paused, not leased by a live worker) to ``worker`` until ``now + lease``; their URLs."""
        claimable = (
            select(feeds.c.id)
            .where(
                _unleased(now),
                or_(feeds.c.next_fetch_at.is_(None), feeds.c.next_fetch_at <= now),
            )
            .order_by(feeds.c.next_fetch_at.nulls_first(), feeds.c.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        with self.engine.begin() as conn:
            return list(
                conn.execute(
                    update(feeds)
                    .where(feeds.c.id.in_(claimable.scalar_subquery()))
                    .values(lease_owner=worker, lease_until=now + self.lease)
                    .returning(feeds.c.url)
                ).scalars()
            )

    def next_due_at(self, now: datetime) -> datetime | None:
        """When the soonest feed not leased by a live worker falls due (``now`` for one never
        fetched); None when there is none."""
        with self.engine.connect() as conn:
            soonest = conn.execute(
                select(feeds.c.next_fetch_at)
                .where(_unleased(now))
                .order_by(feeds.c.next_fetch_at.nulls_first())
                .limit(1)
            ).first()
        if soonest is None:
            return None
        due: datetime | None = soonest.next_fetch_at
        return due or now

    def release_feeds(self, worker: str, urls: Sequence[str] | None = None) -> None:
        """Give up ``worker``'s leases (all of them when ``urls`` is None)."""
        mine = feeds.c.lease_owner == worker
        with self.engine.begin() as conn:
            for batch in [None] if urls is None else batches(list(urls)):
                where = mine if batch is None else mine & feeds.c.url.in_(batch)
                conn.execute(update(feeds).where(where).values(lease_owner=None, lease_until=None))

    def heartbeat(self, worker: str, host: str, pid: int, now: datetime) -> None:
        """``worker`` is alive: its row is refreshed and its leases extended."""
        with self.engine.begin() as conn:
            stmt = upsert(conn, workers).values(
                id=worker, host=host, pid=pid, started_at=now, heartbeat_at=now
            )
            conn.execute(
                stmt.on_conflict_do_update(
                    index_elements=[workers.c.id], set_={"heartbeat_at": now}
                )
            )
            # Rows this worker's writer holds are skipped, not waited for (waiting could
            # deadlock with it); they are released as soon as it commits anyway.
            mine = (
                select(feeds.c.id)
                .where(feeds.c.lease_owner == worker, feeds.c.lease_until.is_not(None))
                .with_for_update(skip_locked=True)
            )
            conn.execute(
                update(feeds)
                .where(feeds.c.id.in_(mine.scalar_subquery()))
                .values(lease_until=now + self.lease)
            )

    def worker_gone(self, worker: str) -> None:
        """A clean stop: the worker's leases and row go at once."""
        self.release_feeds(worker)
        with self.engine.begin() as conn:
            conn.execute(delete(workers).where(workers.c.id == worker))

    def live_workers(self, now: datetime) -> list[WorkerRow]:
        """Workers heard from within two leases, with the feeds each holds now."""
        held = (
            select(feeds.c.lease_owner, func.count().label("n"))
            .where(feeds.c.lease_until > now)
            .group_by(feeds.c.lease_owner)
            .subquery()
        )
        query = (
            select(workers, func.coalesce(held.c.n, 0).label("held"))
            .outerjoin(held, held.c.lease_owner == workers.c.id)
            .where(workers.c.heartbeat_at >= now - 2 * self.lease)
            .order_by(workers.c.started_at)
        )
        with self.engine.connect() as conn:
            return [
                WorkerRow(r.id, r.host, r.pid, r.started_at, r.heartbeat_at, r.held)
                for r in conn.execute(query)
            ]

    # --- the daemon's own record -------------------------------------------------------

    def record_cycle(self, record: CycleRecord) -> None:
        """Keep the daemon's cycle for ``watcher status``; only the last ones are kept."""
        with self._writing() as conn:
            new_id = conn.execute(
                insert(cycles).values(dataclasses.asdict(record)).returning(cycles.c.id)
            ).scalar_one()
            conn.execute(delete(cycles).where(cycles.c.id <= new_id - _CYCLES_KEPT))

    def last_cycle(self) -> CycleRecord | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(cycles).order_by(cycles.c.id.desc()).limit(1)).first()
        if row is None:
            return None
        return CycleRecord(**{k: v for k, v in row._mapping.items() if k != "id"})

    def failing_feeds(self) -> int:
        """Configured feeds whose last fetch failed (paused ones included)."""
        with self.engine.connect() as conn:
            return int(
                conn.execute(
                    select(func.count())
                    .select_from(feeds)
                    .where(feeds.c.configured == 1, feeds.c.failures > 0)
                ).scalar_one()
            )

    def delivery_backlog(self) -> dict[str, dict[str, int]]:
        """Per target, how many deliveries are pending, failed for good, and orphaned (their
        target left the config)."""
        query = (
            select(deliveries.c.target, deliveries.c.status, func.count())
            .where(deliveries.c.status.in_(("pending", *GAVE_UP)))
            .group_by(deliveries.c.target, deliveries.c.status)
        )
        backlog: dict[str, dict[str, int]] = {}
        with self.engine.connect() as conn:
            for target, status, count in conn.execute(query):
                counts = backlog.setdefault(str(target), {"pending": 0, "failed": 0})
                counts[str(status)] = count
        return backlog

    def orphan_deliveries(self, targets: Sequence[str]) -> dict[str, int]:
        """Mark the pending deliveries to any target but ``targets`` (those the config has)
        orphaned, with the reason; how many, per target. Once: only pending ones change, and
        ``requeue`` brings them back should the target return."""
        absent = deliveries.c.status == "pending"
        if targets:
            absent &= deliveries.c.target.not_in(targets)
        with self.engine.begin() as conn:
            found = conn.execute(
                select(deliveries.c.target, func.count())
                .where(absent)
                .group_by(deliveries.c.target)
            ).all()
            for target, _ in found:
                conn.execute(
                    update(deliveries)
                    .where(absent & (deliveries.c.target == target))
                    .values(
                        status="orphaned",
                        last_error=f"target {target!r} is no longer in the config",
                    )
                )
        return {str(target): int(count) for target, count in found}

    def delivery_counts(self) -> dict[str, int]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(deliveries.c.status, func.count()).group_by(deliveries.c.status)
            )
            return {str(row[0]): int(row[1]) for row in rows}


def _quiet_columns(status: str) -> dict[str, Any]:
    """``_healthy`` as bound parameters, for many feeds in one statement."""
    return {
        "last_status": status,
        "last_http_status": bindparam("http_status"),
        **{column: bindparam(f"new_{column}") for column in _healthy(None, None, None)},
    }


def _quiet_params(fetch: QuietFetch) -> dict[str, Any]:
    healthy = _healthy(fetch.at, fetch.next_fetch, fetch.fetched)
    return {
        "feed_url": fetch.url,
        "http_status": fetch.fetched.status,
        **{f"new_{column}": value for column, value in healthy.items()},
    }


@functools.cache
def _feed_update(names: tuple[str, ...]) -> Any:
    """UPDATE of one feed (``feed_url``) setting ``names`` from ``new_<name>`` parameters and
    adding ``churned`` to its guid churn; returns its id. Built once for each set of names:
    building it for every feed cost more than running it."""
    values: dict[str, Any] = {
        name: bindparam(f"new_{name}", type_=feeds.c[name].type) for name in names
    }
    values["guid_churn"] = feeds.c.guid_churn + bindparam("churned")
    return (
        update(feeds)
        .where(feeds.c.url == bindparam("feed_url"))
        .values(values)
        .returning(feeds.c.id)
    )


def _healthy(
    now: datetime | None, next_fetch: datetime | None, fetched: FetchResult | None
) -> dict[str, Any]:
    """The feed state after a successful fetch."""
    duration = fetched.duration if fetched else None
    return {
        "last_bytes": len(fetched.body) if fetched and fetched.body is not None else None,
        "last_duration_ms": round(duration * 1000) if duration is not None else None,
        "last_fetch_at": now,
        "last_ok_at": now,
        "last_error": None,
        "failures": 0,
        "failing_since": None,
        "paused_at": None,
        "next_fetch_at": next_fetch,
    }


def _unleased(now: datetime) -> Any:
    """Watched feeds (configured, not paused) that no live worker holds."""
    return (
        (feeds.c.configured == 1)
        & feeds.c.paused_at.is_(None)
        & or_(feeds.c.lease_until.is_(None), feeds.c.lease_until < now)
    )


def _lock_key(name: str) -> int:
    """A stable signed 64-bit advisory-lock key for ``name``."""
    digest = hashlib.blake2b(f"feed-watcher:{name}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def _sources(first: str, members: Sequence[StoryMember]) -> tuple[str, ...]:
    """The feeds that reported a story, each once, the one shown first."""
    return tuple(dict.fromkeys((first, *(member.source for member in members))))


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
            deliveries.c.revision.label("delivery_revision"),
            matches.c.rule,
            matches.c.hits,
            entries,
            _display_name().label("feed_name"),
            feeds.c.url.label("feed_url"),
            revisions.c.title.label("previous_title"),
            revisions.c.summary.label("previous_summary"),
            revisions.c.content.label("previous_content"),
        )
        .join(matches, deliveries.c.match_id == matches.c.id)
        .join(entries, matches.c.entry_id == entries.c.id)
        .join(feeds, entries.c.feed_id == feeds.c.id)
        .outerjoin(
            revisions,
            (revisions.c.entry_id == entries.c.id) & (revisions.c.number == deliveries.c.revision),
        )
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
        feed_name=shown(row.feed_name),
        feed_url=shown(row.feed_url),
        attempts=row.attempts,
        revision=row.delivery_revision,
        previous=None
        if row.previous_title is None
        else Entry(
            key=row.key,
            title=row.previous_title,
            link=row.link,
            summary=row.previous_summary,
            content=row.previous_content,
        ),
    )


def _hits(stored: list[list[Any]]) -> tuple[Hit, ...]:
    return tuple(Hit(term, field, start, end) for field, start, end, term in stored)
