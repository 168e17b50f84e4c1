"""Retention on a real SQLite file and on the real PostgreSQL, in batches small enough that
the daemon's watchdog is fed between them (issue 21)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from watcher.adapters.sql import upkeep
from watcher.adapters.sql.database import connect
from watcher.adapters.sql.schema import migrate
from watcher.adapters.sql.store import SqlStore
from watcher.core.model import Clustering, Delivering, Entry, FetchResult, NewItem
from watcher.core.settings import Feed

NOW = datetime(2025, 9, 15, 12, 0, tzinfo=UTC)
URL = "https://news.example/rss"


def test_retention_runs_in_batches_with_progress_between(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Twelve entries past retention, pruned five at a time: every body and band row goes,
    ``progress`` is called after each batch (a transaction of its own), and the entry seen
    since keeps its body and bands."""
    monkeypatch.setattr(upkeep, "PRUNE_BATCH", 5)
    store = SqlStore(connect(database_url))
    migrate(store.engine)
    store.feeds.sync_feeds([Feed(URL, "News", timedelta(minutes=15))], NOW)
    fetched = FetchResult(URL, 200, b"...")
    cluster = Clustering(0.8, timedelta(days=2))

    def stored(key: str, band: int) -> NewItem:
        entry = Entry(key=key, title=f"title {key}", link=None, summary="a body")
        return NewItem(entry, (), (key,), (), (band,))

    old = [stored(f"old{n}", n) for n in range(12)]
    store.entries.save_success(URL, fetched, "T", None, old, [], Delivering({}), cluster, NOW)
    later = NOW + timedelta(days=30)
    fresh = [stored("fresh", 99)]
    store.entries.save_success(URL, fetched, "T", None, fresh, [], Delivering({}), cluster, later)
    calls: list[int] = []

    report = store.upkeep.prune(
        later + timedelta(hours=1), timedelta(days=10), timedelta(days=2),
        lambda: calls.append(1), vacuum=False,
    )  # fmt: skip

    assert (report.bodies, report.bands) == (12, 12)
    assert len(calls) >= 12 // 5 * 2  # at least two batches of each kind
    with store.engine.connect() as conn:
        kept = conn.execute(sa.text("SELECT key FROM entries WHERE summary <> ''")).scalars()
        bands = conn.execute(sa.text("SELECT band FROM story_bands")).scalars()
        assert (list(kept), list(bands)) == (["fresh"], [99])
    store.engine.dispose()
