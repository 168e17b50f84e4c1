"""The fetch policy across cycles, on a virtual clock: where a feed is fetched from after
redirects, when it is fetched next after 429s and refresh hints, and what a hostile document
does to a run (nothing, to the other feeds)."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import os
import resource
import signal
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.conftest import write_config
from tests.servers import FeedServer, rss
from watcher.adapters.sql.store import SqlStore
from watcher.app import App, load, open_app
from watcher.core.errors import ParseError, WriteConflict
from watcher.core.model import CycleReport, FeedSchedule, ParsedFeed
from watcher.core.redact import Redactor

NOW = datetime(2025, 9, 15, 12, 0, tzinfo=UTC)
FEED = rss("Wire", [("a", "TikTok deal", "x")])


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> datetime:
        return self.now


def open_watcher(tmp_path: Path, urls: list[str], extra: str = "") -> tuple[App, Clock]:
    config = write_config(tmp_path / "w.toml", urls, extra=extra)
    clock = Clock()
    redactor = Redactor()
    return open_app(load(str(config), redactor), redactor, clock=clock), clock


def cycle(app: App) -> CycleReport:
    async def run() -> CycleReport:
        async with app.fetcher() as fetcher:
            return await app.service(fetcher).run_cycle(app.config.feeds)

    return asyncio.run(run())


def schedule(app: App, url: str) -> FeedSchedule:
    return app.store.feeds.schedules()[url]


def test_three_permanent_redirects_in_a_row_move_the_feed(
    tmp_path: Path, feed_server: FeedServer
) -> None:
    """301 on three fetches to one place: from then on the feed is fetched there, its old
    URL kept as its name and `watcher feeds` showing where it went."""
    new = feed_server.serve("/new.xml", FEED)
    old = feed_server.serve("/old.xml", b"", status=301, headers={"Location": "/new.xml"})
    app, _ = open_watcher(tmp_path, [old])
    for expected_seen in (1, 2):
        cycle(app)
        assert schedule(app, old).redirects_seen == expected_seen
        assert schedule(app, old).moved_to is None
    cycle(app)
    assert schedule(app, old).moved_to == new
    requests = len(feed_server.requests)
    report = cycle(app)
    assert [seen.path for seen in feed_server.requests[requests:]] == ["/new.xml"]
    assert report.outcomes[0].url == old and report.outcomes[0].status == "not-modified"
    [status] = app.store.reports.feed_statuses()
    assert (status.url, status.moved_to) == (old, new)


def test_a_temporary_redirect_never_moves_the_feed(tmp_path: Path, feed_server: FeedServer) -> None:
    """A 302 is followed each time but never counted toward moving the feed."""
    feed_server.serve("/new.xml", FEED)
    old = feed_server.serve("/old.xml", b"", status=302, headers={"Location": "/new.xml"})
    app, _ = open_watcher(tmp_path, [old])
    for _ in range(4):
        cycle(app)
    assert schedule(app, old).moved_to is None and schedule(app, old).redirects_seen == 0
    assert feed_server.requests[-2].path == "/old.xml"


def test_a_redirect_that_changes_its_mind_starts_the_count_again(
    tmp_path: Path, feed_server: FeedServer
) -> None:
    """A permanent redirect to a new place starts the count of three again."""
    feed_server.serve("/a.xml", FEED)
    feed_server.serve("/b.xml", FEED)
    old = feed_server.serve("/old.xml", b"", status=301, headers={"Location": "/a.xml"})
    app, _ = open_watcher(tmp_path, [old])
    cycle(app)
    cycle(app)
    feed_server.serve("/old.xml", b"", status=301, headers={"Location": "/b.xml"})
    cycle(app)
    assert schedule(app, old).redirects_seen == 1 and schedule(app, old).moved_to is None


@pytest.mark.parametrize(
    ("retry_after", "wait"),
    [("5400", timedelta(minutes=90)), ("Mon, 15 Sep 2025 16:00:00 GMT", timedelta(hours=4))],
    ids=["seconds", "http-date"],
)
def test_429_retry_after_pushes_the_next_fetch_out(
    tmp_path: Path, feed_server: FeedServer, retry_after: str, wait: timedelta
) -> None:
    """On the virtual clock: the next fetch is exactly where the server asked, and the feed
    is held back until then."""
    url = feed_server.serve("/busy", "slow down", status=429, headers={"Retry-After": retry_after})
    app, clock = open_watcher(tmp_path, [url])
    cycle(app)
    state = schedule(app, url)
    assert state.next_fetch == NOW + wait and state.failures == 1
    assert state.held_back(NOW + wait - timedelta(seconds=1))
    assert not state.held_back(NOW + wait)
    clock.now = NOW + wait
    feed_server.serve("/busy", FEED)
    assert cycle(app).outcomes[0].status == "ok"
    assert schedule(app, url).failures == 0


def test_a_feed_and_its_server_set_how_often_it_is_read(
    tmp_path: Path, feed_server: FeedServer
) -> None:
    """<ttl>60</ttl> puts the next fetch an hour out (±5 %), though the interval is 15
    minutes; the server's max-age on a later 304 counts too, within max_interval."""
    body = FEED.replace("<title>Wire</title>", "<title>Wire</title><ttl>60</ttl>")
    url = feed_server.serve("/ttl.xml", body, headers={"Cache-Control": "max-age=10800"})
    plain = feed_server.serve("/plain.xml", FEED)
    app, clock = open_watcher(tmp_path, [url, plain], extra='max_interval = "2h"')
    cycle(app)
    waits = {u: schedule(app, u).next_fetch - NOW for u in (url, plain)}  # type: ignore[operator]
    assert timedelta(minutes=114) <= waits[url] <= timedelta(minutes=126)  # max-age, capped
    assert timedelta(minutes=14) <= waits[plain] <= timedelta(minutes=16)
    feed_server.serve("/ttl.xml", body)  # no Cache-Control now: the stored <ttl> still counts
    clock.now += timedelta(hours=3)
    assert cycle(app).outcomes[0].status == "not-modified"
    wait = schedule(app, url).next_fetch - clock.now  # type: ignore[operator]
    assert timedelta(minutes=57) <= wait <= timedelta(minutes=63)


def test_min_interval_above_max_interval_is_a_config_error(tmp_path: Path) -> None:
    """A feed whose min_interval is above its max_interval is a config error at that key."""
    config = write_config(
        tmp_path / "w.toml", ["https://a.example/rss"], extra='min_interval = "2h"'
    )
    with pytest.raises(Exception, match=r"feeds\[0\]\.min_interval: 2h is longer than"):
        load(str(config), Redactor())


QUADRATIC = (
    '<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY a "'
    + "x" * 40_000
    + '">]><rss version="2.0"><channel><title>Q</title><item><title>'
    + "&a;" * 30_000
    + "</title></item></channel></rss>"
)


def test_a_quadratic_blowup_document_harms_nothing(tmp_path: Path, feed_server: FeedServer) -> None:
    """160 KB that feedparser would expand to 1.2 GB: its DOCTYPE is removed, the entities
    stay unexpanded, and the other feeds of the run are read as usual."""
    assert 100_000 < len(QUADRATIC) < 200_000
    hostile = feed_server.serve("/q.xml", QUADRATIC)
    good = feed_server.serve("/good.xml", FEED)
    app, _ = open_watcher(tmp_path, [hostile, good])
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    outcomes = {o.url: o for o in cycle(app).outcomes}
    assert outcomes[good].status == "ok" and outcomes[good].new_entries == 1
    assert outcomes[hostile].status in ("ok", "failed")
    stored = [
        s.entry.title for s in app.store.reports.stored_entries(None) if s.feed_url == hostile
    ]
    assert all(len(title) < 200_000 for title in stored)
    grown_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
    assert grown_kb < 300_000  # far below what expanding the entities would take


def hog(url: str, body: bytes, content_type: str | None, tracking: Sequence[str]) -> ParsedFeed:
    """A parser that wants 4 GiB: the worker's memory limit stops it."""
    blocks = [bytearray(1 << 28) for _ in range(16)]
    raise ParseError(url, f"unreachable: {len(blocks)}")


def test_a_parse_that_runs_out_of_memory_fails_that_feed_only(
    tmp_path: Path, feed_server: FeedServer
) -> None:
    """Documents are parsed in worker processes limited to 1 GiB; a parse that wants more
    fails its own feed and the run goes on (with a fresh pool for the next cycle)."""
    urls = [feed_server.serve(f"/f{n}.xml", FEED) for n in range(8)]  # enough for the pool
    app, _ = open_watcher(tmp_path, urls)

    async def run(parser: Callable[..., ParsedFeed]) -> CycleReport:
        async with app.fetcher() as fetcher:
            service = app.service(fetcher)
            service.parsers.parser = parser
            return await service.run_cycle(app.config.feeds)

    report = asyncio.run(run(hog))
    assert {o.status for o in report.outcomes} == {"failed"}
    assert {o.error for o in report.outcomes} == {"the parser ran out of memory or crashed on it"}


def crash(url: str, body: bytes, content_type: str | None, tracking: Sequence[str]) -> ParsedFeed:
    """A parser whose process dies (as under the kernel's OOM killer, or a crash in C)."""
    os.kill(os.getpid(), signal.SIGKILL)
    raise ParseError(url, "unreachable")


def test_a_daemon_replaces_its_parser_processes_after_one_dies(
    tmp_path: Path, feed_server: FeedServer
) -> None:
    """The daemon keeps its parser processes from cycle to cycle; when a parse kills one,
    that cycle's feeds fail alone and the next cycle has fresh processes."""
    urls = [feed_server.serve(f"/f{n}.xml", FEED) for n in range(2)]
    app, _ = open_watcher(tmp_path, urls)

    async def run() -> list[CycleReport]:
        async with app.fetcher() as fetcher:
            service = app.service(fetcher, keep_pool=True)
            normal = service.parsers.parser
            try:
                service.parsers.parser = crash
                reports = [await service.run_cycle(app.config.feeds)]
                service.parsers.parser = normal
                reports.append(await service.run_cycle(app.config.feeds))
            finally:
                service.close()
            return reports

    broken, fresh = asyncio.run(run())
    assert {o.error for o in broken.outcomes} == {"the parser ran out of memory or crashed on it"}
    assert {(o.status, o.new_entries) for o in fresh.outcomes} == {("ok", 1)}


def test_each_fetch_records_its_size_and_duration(tmp_path: Path, feed_server: FeedServer) -> None:
    """A fetch records the body's size and how long it took; a 304 records the time only."""
    url = feed_server.serve("/f.xml", FEED)
    app, _ = open_watcher(tmp_path, [url])
    cycle(app)
    [first] = app.store.reports.feed_statuses()
    assert first.last_bytes == len(FEED.encode()) and first.last_duration_ms is not None
    cycle(app)  # a 304 brings no body
    [second] = app.store.reports.feed_statuses()
    assert second.last_status == "not-modified" and second.last_bytes is None
    assert second.last_duration_ms is not None


def test_with_worker_processes_new_entries_are_matched_on_every_cycle(
    tmp_path: Path, feed_server: FeedServer
) -> None:
    """Eight feeds or more are parsed in worker processes: on a feed's first read they also
    match every entry; later the writer matches only the entries it has not seen."""
    urls = [
        feed_server.serve(f"/w{n}.xml", rss(f"W{n}", [(f"a{n}", "Quiet", "x")])) for n in range(8)
    ]
    app, clock = open_watcher(tmp_path, urls)
    first = cycle(app)
    assert sum(o.new_entries for o in first.outcomes) == 8
    feed_server.serve(
        "/w3.xml", rss("W3", [("a3", "Quiet", "x"), ("b3", "TikTok sale agreed", "y")])
    )
    clock.now += timedelta(hours=1)
    second = {o.url: o for o in cycle(app).outcomes}
    assert second[urls[3]].new_entries == 1 and second[urls[3]].new_matches == 1
    assert {o.status for u, o in second.items() if u != urls[3]} == {"not-modified"}


class ConflictingStore(SqlStore):
    """A store whose first group transactions collide with another worker's, as a deadlock
    on PostgreSQL would: the transaction is given up and WriteConflict raised."""

    conflicts = 2

    @contextlib.contextmanager
    def together(self) -> Iterator[None]:
        with super().together():
            yield
            if self.conflicts:
                self.conflicts -= 1
                raise WriteConflict("deadlock detected (a test)")


def test_a_write_conflict_is_retried_and_stores_each_entry_once(
    tmp_path: Path, feed_server: FeedServer
) -> None:
    """A transaction another worker collided with is done again, and every entry is stored once."""
    urls = [
        feed_server.serve(f"/{n}.xml", rss(f"Wire {n}", [(f"g{n}", f"TikTok {n}", "")]))
        for n in range(3)
    ]
    app, _ = open_watcher(tmp_path, urls)
    store = ConflictingStore(app.store.engine)
    app = dataclasses.replace(app, store=store)
    report = cycle(app)
    assert store.conflicts == 0  # both collisions happened
    assert [o.status for o in report.outcomes] == ["ok"] * 3
    assert report.new_entries == 3 and report.new_matches == 3
    with store.engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM deliveries")).scalar_one() == 3


def test_a_cycle_holds_a_bounded_number_of_feeds_whatever_their_number(
    tmp_path: Path, feed_server: FeedServer
) -> None:
    """A cycle does not make a task for every feed at once (5,000 of them held 8 MB): a fixed
    number of runners take the feeds in turn. The outcomes still come in the feeds' order."""
    urls = [feed_server.serve(f"/f{n}.xml", FEED) for n in range(300)]
    app, _ = open_watcher(tmp_path, urls, extra="per_host = 8")
    tasks_alive: list[int] = []

    async def run() -> CycleReport:
        async with app.fetcher() as fetcher:
            service = app.service(fetcher)
            service.on_progress = lambda: tasks_alive.append(len(asyncio.all_tasks()))
            return await service.run_cycle(app.config.feeds)

    report = asyncio.run(run())
    assert [outcome.url for outcome in report.outcomes] == urls
    assert {outcome.status for outcome in report.outcomes} == {"ok"}
    assert len(tasks_alive) == 300
    assert max(tasks_alive) <= 50  # 40 runners, the cycle's own task and a few helpers
