"""Statements over many values: cut into runs of few distinct lengths, so that the prepared
statements a long-lived connection keeps stop growing (issue 16)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa
from hypothesis import given
from hypothesis import strategies as st

from watcher.adapters.sql.bulk import batches
from watcher.adapters.sql.database import connect
from watcher.adapters.sql.schema import migrate
from watcher.adapters.sql.store import SqlStore
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
