"""Near-duplicates stored by two workers at the same instant, on the real PostgreSQL: one
story and one alert, whichever transaction comes second (issue 21)."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from watcher.adapters.sql.database import connect
from watcher.adapters.sql.schema import migrate
from watcher.adapters.sql.store import SqlStore
from watcher.core.clustering import bands, shingles, signature
from watcher.core.model import Clustering, Delivering, Entry, FetchResult, Hit, Match, NewItem
from watcher.core.settings import Feed

NOW = datetime(2025, 9, 15, 12, 0, tzinfo=UTC)
FEEDS = ["https://one.example/rss", "https://two.example/rss"]
CLUSTER = Clustering(0.5, timedelta(hours=48))


def near_duplicate(key: str, title: str) -> NewItem:
    """An entry with no link (nothing but its words ties it to the other) matching a rule."""
    entry = Entry(key=key, title=title, link=None, summary="Negotiators met in Madrid on Sunday.")
    words = shingles(entry.title, entry.summary)
    match = Match("trade", (Hit("China", "title", 7, 12),))
    return NewItem(entry, (match,), (key,), (), tuple(bands(signature(words))))


@pytest.mark.postgres
def test_near_duplicates_written_at_once_by_two_workers_make_one_story(postgres_url: str) -> None:
    """The first worker's transaction has stored its entry but not committed when the second
    stores a near-duplicate: the second waits for the first's commit, finds its bands, and
    joins its story, so one alert is queued (without the wait: two stories, two alerts)."""
    stores = [SqlStore(connect(postgres_url)) for _ in range(2)]
    migrate(stores[0].engine)
    stores[0].feeds.sync_feeds([Feed(url, None, timedelta(hours=1)) for url in FEEDS], NOW)
    fetched = [FetchResult(url, 200, b"...") for url in FEEDS]
    delivering = Delivering({"trade": ["desk"]})
    first = near_duplicate("a", "US and China resume trade talks in Madrid")
    second = near_duplicate("b", "US, China resume trade talks in Madrid")
    finished = threading.Event()

    def write_second() -> None:
        stores[1].entries.save_success(
            FEEDS[1], fetched[1], "T", None, [second], [], delivering, CLUSTER, NOW
        )
        finished.set()

    with stores[0].together():
        stores[0].entries.save_success(
            FEEDS[0], fetched[0], "T", None, [first], [], delivering, CLUSTER, NOW
        )
        other = threading.Thread(target=write_second)
        other.start()
        time.sleep(1.0)
        waited = not finished.is_set()
    other.join(30)
    with stores[0].engine.connect() as conn:
        stories = conn.scalar(sa.text("SELECT count(DISTINCT story_id) FROM entries"))
        alerts = conn.scalar(sa.text("SELECT count(*) FROM deliveries"))
    for store in stores:
        store.engine.dispose()
    assert finished.is_set() and waited
    assert (stories, alerts) == (1, 1)
