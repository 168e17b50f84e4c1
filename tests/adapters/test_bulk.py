"""Statements over many values: cut into runs of few distinct lengths, so that the prepared
statements a long-lived connection keeps stop growing (issue 16)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa
from hypothesis import given
from hypothesis import strategies as st

from watcher.adapters.sql.bulk import Among, among, batches
from watcher.adapters.sql.database import connect
from watcher.adapters.sql.schema import migrate
from watcher.adapters.sql.store import SqlStore
from watcher.adapters.sql.tables import stories, story_keys
from watcher.core.settings import Feed

NOW = datetime(2025, 9, 15, 12, 0, tzinfo=UTC)


@given(st.lists(st.integers(), max_size=3000))
def test_runs_keep_every_value_in_order_in_powers_of_two(values: list[int]) -> None:
    """Every value once, in order, in runs of 1, 2, 4 … 512 values, each run as long as the
    values left allow."""
    runs = batches(values)
    assert [v for run in runs for v in run] == values
    assert all(len(run) in {2**n for n in range(10)} for run in runs)
    assert [len(run) for run in runs] == sorted((len(run) for run in runs), reverse=True)


@given(st.lists(st.integers(), max_size=3000))
def test_lists_to_look_among_are_padded_to_powers_of_two(values: list[int]) -> None:
    """Runs of at most 512 values in order, each padded to the least power of two that holds
    it by naming its last value again: as few lengths as ``batches``, and one statement for
    up to 512 values (a feed's 75 keys: one look-up, where ``batches`` made four)."""
    runs = among(values)
    assert len(runs) == -(-len(values) // 512)
    for n, run in enumerate(runs):
        given_ = values[n * 512 : (n + 1) * 512]
        assert list(run[: len(given_)]) == given_
        assert set(run[len(given_) :]) <= {given_[-1]}
        assert len(run) in {2**k for k in range(10)} and len(run) < 2 * len(given_)


def test_reading_any_number_of_feeds_prepares_few_statements(tmp_path: Path) -> None:
    """A cycle reads the validators and schedules of the feeds due, however many: over every
    count from 1 to 300 the database sees at most ten statement texts for each, where one per
    count kept SQLite's statement cache growing in a quiet daemon for hours."""
    store = SqlStore(connect(f"sqlite:///{tmp_path / 'w.db'}"))
    migrate(store.engine)
    urls = [f"https://news.example/{n}.xml" for n in range(300)]
    store.feeds.sync_feeds([Feed(url, None, timedelta(minutes=5)) for url in urls], NOW)
    texts: set[str] = set()

    def seen(conn, cursor, statement, parameters, context, executemany) -> None:  # type: ignore[no-untyped-def]
        texts.add(statement)

    sa.event.listen(store.engine, "before_cursor_execute", seen)
    for count in range(1, 301):
        store.feeds.validators(urls[:count])
        store.feeds.schedules(urls[:count])
    store.engine.dispose()
    assert 2 <= len(texts) <= 20


def test_among_finds_the_rows_of_a_list_as_one_array_on_postgresql(database_url: str) -> None:
    """``Among``: the rows whose column is one of a list, whatever the list holds (quotes,
    none, hundreds); SQLite is given an IN list, PostgreSQL one array, so that the statement
    psycopg sees has one parameter however long the list."""
    engine = connect(database_url)
    migrate(engine)
    keys = ["url:a", "url:it's", 'url:"q"', "url:\\", *(f"url:{n}" for n in range(600))]
    statements: list[str] = []
    sa.event.listen(engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
    query = sa.select(story_keys.c.key).where(Among(story_keys.c.key, "keys"))
    with engine.begin() as conn:
        story = conn.scalar(sa.insert(stories).values(created_at=NOW).returning(stories.c.id))
        conn.execute(sa.insert(story_keys), [{"key": k, "story_id": story} for k in keys[::2]])
        statements.clear()
        for wanted in (keys[:4], keys, [], ["url:none"]):
            found = {row.key for row in conn.execute(query, {"keys": wanted})}
            assert found == set(wanted) & set(keys[::2])
    engine.dispose()
    if database_url.startswith("postgresql"):
        assert all(s.count("%(keys)s") == 1 and "ANY" in s for s in statements)
    else:
        assert all(" IN (" in s and "= 1" not in s for s in statements if "?" in s)
