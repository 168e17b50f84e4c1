"""The SQL store on a real SQLite file and on the real PostgreSQL: migrations, entries stored
once under concurrent writers, matches and deliveries in one transaction."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config as AlembicConfig
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

from watcher.adapters.children import child_environment
from watcher.adapters.sql.database import connect
from watcher.adapters.sql.schema import HEAD, MIGRATIONS, migrate, migrate_apart, upgrade
from watcher.adapters.sql.store import SqlStore
from watcher.adapters.sql.tables import metadata
from watcher.core.errors import StoreError, WriteConflict
from watcher.core.model import (
    Delivering,
    Entry,
    FeedSchedule,
    FetchResult,
    Hit,
    Match,
    NewItem,
    QuietFetch,
    SaveCounts,
)
from watcher.core.settings import Feed
from watcher.core.views import DigestQuery

NOW = datetime(2025, 9, 15, 12, 0, tzinfo=UTC)
DAY = timedelta(days=1)
URL = "https://news.example/rss"


def open_store(url: str) -> SqlStore:
    store = SqlStore(connect(url))
    migrate(store.engine)
    store.feeds.sync_feeds([Feed(URL, "News", timedelta(minutes=15))], NOW)
    return store


def item(key: str, rules: tuple[str, ...] = ()) -> NewItem:
    entry = Entry(key=key, title=f"title {key}", link=None, summary="s")
    return NewItem(entry, tuple(Match(rule, (Hit("kw", "title", 0, 5),)) for rule in rules))


def save(store: SqlStore, items: list[NewItem], targets: dict[str, list[str]]) -> SaveCounts:
    return store.entries.save_success(
        URL, FETCHED, "T", None, items, [], Delivering(targets), None, NOW
    )


FETCHED = FetchResult(URL, 200, b"...", etag='"e1"', last_modified="Mon, 15 Sep 2025 10:00:00 GMT")


def test_migrations_match_the_tables(database_url: str) -> None:
    """The Alembic migrations create exactly the schema in tables.py, and rerunning is a no-op."""
    engine = connect(database_url)
    upgrade(engine)
    upgrade(engine)
    with engine.connect() as conn:
        diff = differences(conn)
    engine.dispose()
    assert diff == []


def differences(conn: sa.Connection) -> list[object]:
    """What alembic finds between the database and tables.py, leaving out what tables.py
    creates on other dialects only (an index given ``ddl_if(dialect=...)``): ``create_all``
    honours that, alembic's comparison does not."""

    def include(obj: object, *_: object) -> bool:
        condition = getattr(obj, "_ddl_if", None)
        return condition is None or condition.dialect in (None, conn.dialect.name)

    context = MigrationContext.configure(conn, opts={"include_object": include})
    return list(compare_metadata(context, metadata))


def schema_of(url: str) -> dict[str, object]:
    """Everything the inspector tells of each table: columns (type, nullability, default),
    primary key, indexes, unique constraints, foreign keys and (SQLite) whether it has rowids."""
    engine = connect(url)
    with engine.connect() as conn:
        seen = sa.inspect(conn)
        schema: dict[str, object] = {
            table: (
                sorted(  # in name order: a migration adds a column at the end of its table
                    (c["name"], str(c["type"]), c["nullable"], str(c.get("default")))
                    for c in seen.get_columns(table)
                ),
                seen.get_pk_constraint(table)["constrained_columns"],
                sorted(
                    (i["name"], i["column_names"], i["unique"]) for i in seen.get_indexes(table)
                ),
                sorted(tuple(u["column_names"]) for u in seen.get_unique_constraints(table)),
                sorted(
                    (f["constrained_columns"], f["referred_table"], f["referred_columns"])
                    for f in seen.get_foreign_keys(table)
                ),
                seen.get_table_options(table).get("sqlite_with_rowid"),
            )
            for table in sorted(seen.get_table_names())
        }
        schema["version"] = conn.scalar(sa.text("SELECT version_num FROM alembic_version"))
    engine.dispose()
    return schema


def test_a_new_database_gets_the_schema_the_migrations_make(
    database_url: str, other_database_url: str
) -> None:
    """An empty database is given the current tables at once, stamped at HEAD, without
    alembic: the same columns, types, defaults, keys and indexes as every migration from the
    first one gives."""
    fresh, migrated = connect(database_url), connect(other_database_url)
    migrate(fresh)
    upgrade(migrated)
    fresh.dispose()
    migrated.dispose()
    assert schema_of(database_url) == schema_of(other_database_url)
    assert schema_of(database_url)["version"] == HEAD


def older_schema(url: str, revision: str) -> None:
    """The database at an older ``revision``, as alembic leaves it."""
    config = AlembicConfig()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url)
    engine = connect(url)
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, revision)
    engine.dispose()


def test_a_daemon_migrates_in_a_child_and_never_imports_alembic(database_url: str) -> None:
    """``migrate_apart`` (the daemon's) leaves the schema at HEAD, like ``migrate``, without
    alembic ever entering this process: a daemon would keep its 10 MB for months. (From an
    older schema: a new database needs no migration at all.)"""
    older_schema(database_url, "0015")
    probe = (
        "import sys\n"
        "from watcher.adapters.sql.database import connect\n"
        "from watcher.adapters.sql.schema import migrate_apart\n"
        "engine = connect(sys.stdin.read())\n"
        "migrate_apart(engine)\n"
        "migrate_apart(engine)\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'alembic', 'mako'}))\n"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", probe],
        input=database_url,
        capture_output=True,
        text=True,
        check=True,
        env=child_environment(),
    ).stdout
    assert loaded.strip() == "[]"
    engine = connect(database_url)
    with engine.connect() as conn:
        assert conn.scalar(sa.text("SELECT version_num FROM alembic_version")) == HEAD
        assert differences(conn) == []
    engine.dispose()


def test_a_migration_that_fails_in_the_child_says_why(tmp_path: Path) -> None:
    """A migration the child cannot do (a revision alembic does not know) is a StoreError
    with alembic's reason."""
    engine = connect(f"sqlite:///{tmp_path / 'w.db'}")
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE alembic_version (version_num VARCHAR(32))"))
        conn.execute(sa.text("INSERT INTO alembic_version VALUES ('9999')"))
    with pytest.raises(StoreError, match=r"^cannot migrate the database: .*9999"):
        migrate_apart(engine)
    engine.dispose()


def test_entries_are_stored_once(database_url: str) -> None:
    """Saving the same entries again inserts nothing and queues nothing."""
    store = open_store(database_url)
    targets = {"tiktok": ["desk", "slack"]}
    first = save(store, [item("a", ("tiktok",)), item("b")], targets)
    again = save(store, [item("a", ("tiktok",)), item("b")], targets)
    assert (first.new_entries, first.new_matches) == (2, 1)
    assert (again.new_entries, again.new_matches) == (0, 0)
    known = store.entries.known(URL, [["a"], ["b"], ["c"]])
    assert [k is not None for k in known] == [True, True, False]
    alerts = store.outbox.due_alerts(NOW, 10)
    assert sorted(a.target for a in alerts) == ["desk", "slack"]
    assert alerts[0].entry.title == "title a"
    store.engine.dispose()


def test_an_entrys_categories_are_stored_and_read_back(database_url: str) -> None:
    """Categories (a JSON list) survive the multi-row insert on both databases: on
    PostgreSQL with SQLAlchemy 2.1 a list reached the driver raw and was refused as JSON, and
    every entry of a feed with categories failed to store."""
    store = open_store(database_url)
    tagged = [
        NewItem(Entry(key=f"t{n}", title=f"title {n}", link=None, tags=("Economy", "Asia")), ())
        for n in range(3)
    ]
    assert save(store, tagged, {}).new_entries == 3
    with store.engine.connect() as conn:
        stored = conn.execute(sa.text("SELECT tags FROM entries")).scalars().all()
    store.engine.dispose()
    assert [json.loads(t) if isinstance(t, str) else t for t in stored] == [["Economy", "Asia"]] * 3


def test_concurrent_writers_store_one_entry(database_url: str) -> None:
    """Two writers saving the same new entry at once: one row, one match, one delivery."""
    stores = [open_store(database_url) for _ in range(2)]
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def write(store: SqlStore) -> None:
        try:
            barrier.wait()
            for n in range(20):
                save(store, [item(f"e{n}", ("tiktok",))], {"tiktok": ["desk"]})
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(s,)) for s in stores]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with stores[0].engine.connect() as conn:
        counts = [
            conn.scalar(sa.text(f"SELECT count(*) FROM {table}"))
            for table in ("entries", "matches", "deliveries")
        ]
    assert counts == [20, 20, 20]
    for store in stores:
        store.engine.dispose()


def test_feed_state_and_validators(database_url: str) -> None:
    """A success stores the server's validators; a failure records its reason, count and next
    try."""
    store = open_store(database_url)
    assert store.feeds.validators([URL]) == {URL: store.feeds.validators([URL])[URL]}
    store.entries.save_success(
        URL, FETCHED, "News title", "malformed feed: x", [item("a")], [], Delivering({}), None, NOW
    )
    validators = store.feeds.validators([URL])[URL]
    assert (validators.etag, validators.last_modified) == ('"e1"', "Mon, 15 Sep 2025 10:00:00 GMT")
    later, retry = NOW + timedelta(minutes=1), NOW + timedelta(minutes=31)
    store.feeds.save_failure(URL, "HTTP 500 Internal Server Error", 500, later, retry)
    store.feeds.save_failure(
        URL, "HTTP 500 Internal Server Error", 500, retry, retry + (retry - later)
    )
    [status] = store.reports.feed_statuses()
    assert status.last_status == "failed" and status.last_error == "HTTP 500 Internal Server Error"
    assert status.entries == 1 and status.warning == "malformed feed: x"
    assert status.name == "News" and status.last_fetch == retry
    assert (status.failures, status.failing_since, status.paused) == (2, later, False)
    assert store.feeds.schedules()[URL] == FeedSchedule(retry + (retry - later), 2, False)
    store.feeds.save_failure(URL, "HTTP 410 Gone", 410, retry, None, paused=True)
    assert store.feeds.schedules()[URL].paused
    assert store.feeds.resume("News", retry) == [URL]
    assert store.feeds.schedules()[URL] == FeedSchedule(retry, 0, False)
    store.feeds.save_quiet([QuietFetch(URL, FetchResult(URL, 304, None), retry, retry + DAY)])
    assert store.feeds.schedules()[URL] == FeedSchedule(retry + DAY, 0, False)
    store.engine.dispose()


def test_feeds_removed_from_config_are_kept_but_marked(database_url: str) -> None:
    """A feed taken out of the config keeps its entries and is marked as not configured."""
    store = open_store(database_url)
    save(store, [item("a")], {})
    store.feeds.sync_feeds([Feed("https://other.example/rss", None, timedelta(minutes=5))], NOW)
    statuses = {s.url: s for s in store.reports.feed_statuses()}
    assert statuses[URL].configured is False and statuses[URL].entries == 1
    assert statuses["https://other.example/rss"].configured is True
    store.engine.dispose()


def test_syncing_the_config_writes_only_what_differs(database_url: str) -> None:
    """Every start and reload syncs the config's feeds. An unchanged config writes nothing
    (on a shared database a write to every feed's row would wait on the workers' own); a
    renamed, added, removed or re-declared feed is written, and only it."""
    store = open_store(database_url)
    written: list[str] = []

    @sa.event.listens_for(store.engine, "before_cursor_execute")
    def note(_c: object, _cur: object, statement: str, *_rest: object) -> None:
        if statement.lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE")):
            written.append(statement)

    other, gone = "https://other.example/rss", "https://gone.example/rss"
    store.feeds.sync_feeds([Feed(URL, "News", DAY), Feed(gone, None, DAY)], NOW)
    written.clear()
    store.feeds.sync_feeds([Feed(URL, "News", DAY), Feed(gone, None, DAY)], NOW)
    assert written == []

    store.feeds.sync_feeds([Feed(URL, "Wire", DAY), Feed(other, None, DAY, category="Asia")], NOW)
    assert len(written) == 2  # the upsert of the two, the mark of the one gone
    statuses = {status.url: status for status in store.reports.feed_statuses()}
    assert statuses[URL].name == "Wire" and statuses[other].configured
    assert statuses[gone].configured is False
    written.clear()
    store.feeds.sync_feeds([Feed(URL, "Wire", DAY), Feed(other, None, DAY, category="Asia")], NOW)
    assert written == []
    store.engine.dispose()


def test_two_workers_storing_one_syndicated_story_make_one_story_and_one_alert(
    database_url: str,
) -> None:
    """Two outlets carry the same stories (same links), written at the same moment by two
    workers: each story once, and one alert for it, whichever transaction waited."""
    other = "https://other.example/rss"
    stores = [open_store(database_url) for _ in range(2)]
    stores[0].feeds.sync_feeds([Feed(URL, None, DAY), Feed(other, None, DAY)], NOW)
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def write(store: SqlStore, feed: str) -> None:
        try:
            barrier.wait()
            for n in range(30):
                entry = Entry(key=f"k{n}", title=f"TikTok story {n}", link=f"https://x.example/{n}")
                match = Match("tiktok", (Hit("TikTok", "title", 0, 6),))
                new = NewItem(entry, (match,), story_keys=(f"https://x.example/{n}",))
                store.entries.save_success(
                    feed, FETCHED, "T", None, [new], [], Delivering({"tiktok": ["desk"]}), None,
                    NOW,
                )  # fmt: skip
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [
        threading.Thread(target=write, args=pair) for pair in zip(stores, (URL, other), strict=True)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with stores[0].engine.connect() as conn:
        entries = conn.scalar(sa.text("SELECT count(*) FROM entries"))
        stories = conn.scalar(sa.text("SELECT count(DISTINCT story_id) FROM entries"))
        alerts = conn.scalar(sa.text("SELECT count(*) FROM deliveries"))
    assert (entries, stories, alerts) == (60, 30, 30)
    for store in stores:
        store.engine.dispose()


def test_delivery_lifecycle(database_url: str) -> None:
    """Pending → failed attempt (retry later) → sent; exhausted attempts end as failed."""
    store = open_store(database_url)
    save(store, [item("a", ("r",))], {"r": ["desk", "slack"]})
    desk, slack = sorted(store.outbox.due_alerts(NOW, 10), key=lambda a: a.target)
    store.outbox.mark_failed_attempt(desk.delivery_id, "refused", NOW + timedelta(minutes=1), NOW)
    store.outbox.mark_failed_attempt(slack.delivery_id, "gone", None, NOW)
    assert store.outbox.due_alerts(NOW, 10) == []
    assert store.outbox.due_targets(NOW + timedelta(minutes=1)) == ["desk"]
    [retry] = store.outbox.due_alerts(NOW + timedelta(minutes=1), 10)
    assert retry.target == "desk" and retry.attempts == 1
    assert store.outbox.due_alerts(NOW + timedelta(minutes=1), 10, target="slack") == []
    store.outbox.mark_sent(retry.delivery_id, NOW)
    assert store.outbox.delivery_counts() == {"sent": 1, "failed": 1}
    store.engine.dispose()


def test_digest_order_and_filters(database_url: str) -> None:
    """The digest lists matches newest first, filtered by rule, time and count."""
    store = open_store(database_url)
    entries = [
        NewItem(
            Entry(key=k, title=k, link=None, published=NOW - timedelta(hours=h)),
            (Match(rule, (Hit("x", "title", 0, 1),)),),
        )
        for k, h, rule in (("old", 5, "a"), ("new", 1, "b"), ("mid", 3, "a"))
    ]
    save(store, entries, {})
    assert [r.title for r in store.reports.digest(DigestQuery())] == ["new", "mid", "old"]
    assert [r.title for r in store.reports.digest(DigestQuery(rules=("a",)))] == ["mid", "old"]
    assert [r.title for r in store.reports.digest(DigestQuery(limit=1))] == ["new"]
    assert store.reports.digest(DigestQuery(since=NOW + timedelta(seconds=1))) == []
    store.engine.dispose()


@pytest.mark.parametrize("pragma", ["journal_mode", "synchronous", "busy_timeout"])
def test_sqlite_pragmas(tmp_path, pragma: str) -> None:  # type: ignore[no-untyped-def]
    """SQLite runs in WAL mode, synchronous=NORMAL, with a busy timeout."""
    engine = connect(f"sqlite:///{tmp_path / 'x.db'}")
    with engine.connect() as conn:
        value = conn.exec_driver_sql(f"PRAGMA {pragma}").scalar()
    engine.dispose()
    assert value == {"journal_mode": "wal", "synchronous": 1, "busy_timeout": 10000}[pragma]


def test_upgrade_from_the_first_schema_keeps_matches(database_url: str) -> None:
    """A database created by 0001 upgrades in place: its matches stay (with empty evidence),
    its deliveries stay, its entries get identity keys and stories."""
    from alembic import command
    from alembic.config import Config as AlembicConfig

    from watcher.adapters.sql.schema import MIGRATIONS

    engine = connect(database_url)
    config = AlembicConfig()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "0001")
        conn.execute(
            sa.text(
                "INSERT INTO feeds (id, url, configured, created_at)"
                " VALUES (1, 'u', 1, '2025-01-01')"
            )
        )
        conn.execute(
            sa.text(
                "INSERT INTO entries (id, feed_id, key, title, summary, content, author, tags,"
                " first_seen_at) VALUES (1, 1, 'k', 't', '', '', '', '[]', '2025-01-01')"
            )
        )
        conn.execute(
            sa.text(
                "INSERT INTO matches (entry_id, rule, terms, fields, matched_at)"
                " VALUES (1, 'r', '[\"x\"]', '[\"title\"]', '2025-01-01')"
            )
        )
        conn.execute(
            sa.text(
                "INSERT INTO deliveries (match_id, target, status, attempts, next_attempt_at,"
                " created_at) VALUES (1, 'desk', 'sent', 1, '2025-01-01', '2025-01-01')"
            )
        )
    migrate(engine)
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT rule, hits FROM matches")).all()
        kept = conn.execute(sa.text("SELECT target, status, revision FROM deliveries")).all()
        keys = conn.execute(sa.text("SELECT key FROM entry_keys")).scalars().all()
        claimed = conn.execute(sa.text("SELECT rule FROM story_rules")).scalars().all()
    engine.dispose()
    assert [tuple(row) for row in kept] == [("desk", "sent", 0)]
    assert keys == ["k"] and claimed == ["r"]
    assert [(rule, json.loads(hits) if isinstance(hits, str) else hits) for rule, hits in rows] == [
        ("r", [])
    ]


@pytest.mark.parametrize("together", [False, True], ids=["feed by feed", "in one batch"])
def test_stories_across_feeds(database_url: str, together: bool) -> None:
    """On both databases: the same link makes one story; so do near-duplicate words within the
    window (not without clustering); a story notifies once per rule, later matches are silent.
    The same whether the feeds are stored one by one or in one batch (the writer's), where
    each feed's counts are its own and an entry key two feeds share names two entries."""
    from watcher.core.clustering import bands, shingles, signature
    from watcher.core.model import Clustering, FeedSave

    other, third = "https://other.example/rss", "https://third.example/rss"
    store = open_store(database_url)
    feeds = [Feed(URL, "A", timedelta(1)), Feed(other, "B", timedelta(1)), Feed(third, "C", DAY)]
    store.feeds.sync_feeds(feeds, NOW)
    headline, lead = "TikTok deal framework agreed ahead of deadline", "Negotiators agreed it."

    def story_item(key: str, link: str | None, near: bool) -> NewItem:
        if near:
            entry = Entry(key=key, title=headline, link=link, summary=lead)
        else:
            entry = Entry(key=key, title=f"TikTok {key}", link=link)
        words = shingles(entry.title, entry.summary)
        return NewItem(
            entry,
            (Match("tiktok", (Hit("TikTok", "title", 0, 6),)),),
            (key,),
            (f"url:{link}",) if link else (),
            tuple(bands(signature(words))),
        )

    cluster = Clustering(0.8, timedelta(hours=48))
    delivering = Delivering({"tiktok": ["desk"]})
    saves = [
        FeedSave(URL, FETCHED, "T", None, [story_item("a", "https://n.example/x", False),
                 story_item("c", None, True), story_item("same", None, False)], [], NOW),
        FeedSave(other, FETCHED, "T", None, [story_item("b", "https://n.example/x", False),
                 story_item("d", None, True)], [], NOW),
        FeedSave(third, FETCHED, "T", None, [story_item("same", None, False)], [], NOW),
    ]  # fmt: skip
    if together:
        counts = store.entries.save_successes(saves, delivering, cluster)
    else:
        counts = [store.entries.save_successes([save], delivering, cluster)[0] for save in saves]
    assert [(c.new_entries, c.new_matches) for c in counts] == [(3, 3), (2, 2), (1, 1)]
    with store.engine.connect() as conn:
        stories: dict[str, int] = dict(
            conn.execute(sa.text("SELECT key, story_id FROM entries WHERE key != 'same'")).all()
        )
        same = conn.execute(
            sa.text(
                "SELECT f.url, e.story_id, m.silent FROM entries e JOIN feeds f ON f.id = e.feed_id"
                " JOIN matches m ON m.entry_id = e.id WHERE key = 'same' ORDER BY f.url"
            )
        ).all()
        silent: dict[str, int] = dict(
            conn.execute(
                sa.text(
                    "SELECT e.key, m.silent FROM matches m JOIN entries e ON e.id = m.entry_id"
                    " WHERE e.key != 'same'"
                )
            ).all()
        )
    assert stories["a"] == stories["b"] and stories["c"] == stories["d"]
    assert stories["a"] != stories["c"]
    assert silent == {"a": 0, "b": 1, "c": 0, "d": 1}
    # One key in two feeds names two entries; alike in words, they are one story.
    assert [url for url, _, _ in same] == sorted([URL, third])
    assert same[0].story_id == same[1].story_id and {same[0].silent, same[1].silent} == {0, 1}
    assert len(store.outbox.due_alerts(NOW, 10)) == 3
    store.engine.dispose()


def test_the_head_revision_is_the_newest_migration() -> None:
    """``migrate`` skips alembic when the schema is at HEAD: HEAD must be alembic's head."""
    config = AlembicConfig()
    config.set_main_option("script_location", str(MIGRATIONS))
    assert ScriptDirectory.from_config(config).get_current_head() == HEAD


@pytest.mark.postgres
def test_a_deadlock_between_workers_becomes_a_write_conflict(postgres_url: str) -> None:
    """Two workers' transactions that lock two feeds in opposite orders: PostgreSQL gives
    one up, and the store says so with WriteConflict (which the service retries)."""
    stores = [open_store(postgres_url) for _ in range(2)]
    stores[0].feeds.sync_feeds(
        [Feed(URL, None, DAY), Feed("https://b.example/rss", None, DAY)], NOW
    )
    barrier = threading.Barrier(2, timeout=10)
    raised: list[BaseException] = []

    def lock(store: SqlStore, first: str, second: str) -> None:
        try:
            with store.together(), store.db.writing() as conn:
                for n, url in enumerate((first, second)):
                    conn.execute(sa.text("UPDATE feeds SET title = 'x' WHERE url = :u"), {"u": url})
                    if n == 0:
                        barrier.wait()
        except BaseException as exc:  # reported below
            raised.append(exc)

    urls = (URL, "https://b.example/rss")
    threads = [
        threading.Thread(target=lock, args=(stores[0], *urls)),
        threading.Thread(target=lock, args=(stores[1], *reversed(urls))),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(raised) == 1 and isinstance(raised[0], WriteConflict), raised
    assert "deadlock" in str(raised[0])
    for store in stores:
        store.engine.dispose()


@pytest.mark.postgres
def test_one_worker_at_a_time_sends_a_targets_batch_or_digest(postgres_url: str) -> None:
    """On PostgreSQL one worker at a time holds a target's batch lock; another target's is free."""
    stores = [open_store(postgres_url) for _ in range(2)]
    with (
        stores[0].coordination.exclusive("target:desk") as first,
        stores[1].coordination.exclusive("target:desk") as second,
    ):
        assert (first, second) == (True, False)
        with stores[1].coordination.exclusive("target:slack") as other:
            assert other  # another target's lock is free
    with stores[1].coordination.exclusive("target:desk") as later:
        assert later  # released with the block
    for store in stores:
        store.engine.dispose()


def test_sqlite_needs_no_exclusive_lock(tmp_path: Path) -> None:
    """On SQLite (one process) the exclusive block always runs."""
    store = open_store(f"sqlite:///{tmp_path / 'w.db'}")
    with (
        store.coordination.exclusive("target:desk") as first,
        store.coordination.exclusive("target:desk") as second,
    ):
        assert first and second and not store.cooperative
    store.engine.dispose()


def test_claims_leases_and_the_next_due_feed(database_url: str) -> None:
    """Due feeds are claimed once until released or their lease lapses; the next wake-up is
    the soonest feed nobody holds, or a held one's lease end (its holder may have died)."""
    store = open_store(database_url)
    other = "https://other.example/rss"
    store.feeds.sync_feeds([Feed(URL, None, DAY), Feed(other, None, DAY)], NOW)
    assert store.coordination.next_due_at(NOW) == NOW  # never fetched: due now
    assert sorted(store.coordination.claim_feeds("a:1", NOW, 10)) == sorted([URL, other])
    assert store.coordination.claim_feeds("b:2", NOW, 10) == []  # held by a:1
    assert store.coordination.next_due_at(NOW) == NOW + store.lease  # free if a:1 dies
    store.feeds.save_quiet([QuietFetch(URL, FetchResult(URL, 304, None), NOW, NOW + DAY)])
    store.coordination.release_feeds("a:1", [URL])
    assert store.coordination.next_due_at(NOW) == NOW + store.lease  # other, still held
    lapsed = NOW + store.lease + timedelta(seconds=1)
    assert store.coordination.claim_feeds("b:2", lapsed, 10) == [other]  # a:1's lease on it lapsed
    store.coordination.release_feeds("b:2")  # a clean stop hands everything back
    claimed = store.coordination.claim_feeds("c:3", NOW + DAY, 10)
    assert sorted(claimed) == sorted([URL, other])  # other was never fetched: still due
    later = NOW + 3 * DAY
    store.feeds.save_quiet([QuietFetch(u, FetchResult(u, 304, None), NOW, later) for u in claimed])
    assert store.coordination.next_due_at(NOW + DAY) == later  # held, but due after the lease
    store.engine.dispose()


def test_a_feeds_lease_ends_with_the_transaction_that_records_it(database_url: str) -> None:
    """Recording a fetch (new entries, nothing new, or a failure) ends that feed's lease at
    once, not at the end of the worker's batch; feeds not yet recorded stay held."""
    store = open_store(database_url)
    feeds = [URL, "https://b.example/rss", "https://c.example/rss", "https://d.example/rss"]
    store.feeds.sync_feeds([Feed(url, None, DAY) for url in feeds], NOW)
    assert len(store.coordination.claim_feeds("a:1", NOW, 10)) == 4
    save(store, [item("k1")], {})
    store.feeds.save_quiet([QuietFetch(feeds[1], FetchResult(feeds[1], 304, None), NOW, NOW)])
    store.feeds.save_failure(feeds[2], "refused", None, NOW, NOW)
    with store.engine.connect() as conn:
        held = conn.execute(sa.text("SELECT url FROM feeds WHERE lease_owner IS NOT NULL"))
        assert held.scalars().all() == [feeds[3]]
    assert sorted(store.coordination.claim_feeds("b:2", NOW, 10)) == sorted(feeds[:3])
    store.engine.dispose()


def test_an_unreachable_database_is_store_unavailable() -> None:
    """Nothing listens on port 1: the store says StoreUnavailable (which the daemon waits
    out), with the driver's reason and no SQLAlchemy exception above the adapter."""
    from watcher.core.errors import StoreUnavailable

    store = SqlStore(connect("postgresql+psycopg://nobody@127.0.0.1:1/none?connect_timeout=2"))
    try:
        with pytest.raises(StoreUnavailable, match=r"127\.0\.0\.1"):
            store.feeds.schedules()
    finally:
        store.engine.dispose()


def test_a_database_url_that_cannot_be_used_is_a_store_error() -> None:
    """An unknown database scheme is the store's own error, saying the URL cannot be used."""
    from watcher.core.errors import StoreError

    with pytest.raises(StoreError, match="cannot use the database URL"):
        connect("nosuchdb://x")
