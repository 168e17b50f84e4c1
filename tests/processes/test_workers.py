"""Several ``watcher run`` processes on one PostgreSQL: each feed fetched once a round, each
alert sent once, a killed worker's feeds taken over when its leases lapse. And the other side:
one process per SQLite file."""

from __future__ import annotations

import collections
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.conftest import write_config
from tests.servers import FeedServer, rss

Start = Callable[[Path], subprocess.Popen[str]]


@pytest.fixture
def start_worker() -> Iterator[Start]:
    started: list[subprocess.Popen[str]] = []

    def start(config: Path) -> subprocess.Popen[str]:
        env = {k: v for k, v in os.environ.items() if k != "WATCHER_CONFIG"}
        process = subprocess.Popen(
            [sys.executable, "-m", "watcher", "run", "--config", str(config)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
        )  # fmt: skip
        started.append(process)
        return process

    yield start
    for process in started:
        if process.poll() is None:
            process.kill()
        process.communicate()


def farm(server: FeedServer, count: int, delay: float = 0.0) -> tuple[list[str], set[str]]:
    """``count`` feeds of one item each; every tenth item is about TikTok (an alert)."""
    urls, alerts = [], set()
    for n in range(count):
        title = f"TikTok story {n}" if n % 10 == 0 else f"Weather report {n}"
        if n % 10 == 0:
            alerts.add(title)
        items = [(f"g{n}", title, f"Body {n} " + "word " * (n % 7))]
        urls.append(server.serve(f"/f/{n}.xml", rss(f"Outlet {n}", items), delay=delay))
    return urls, alerts


def hits_by_path(server: FeedServer) -> collections.Counter[str]:
    return collections.Counter(seen.path for seen in list(server.requests))


def settle(server: FeedServer, expected: int, timeout: float) -> collections.Counter[str]:
    """Wait until every feed was fetched at least ``expected`` times and the server has been
    quiet for two seconds; the counts by path."""
    deadline = time.monotonic() + timeout
    last, quiet_since = -1, time.monotonic()
    while time.monotonic() < deadline:
        counts = hits_by_path(server)
        total = sum(counts.values())
        if total != last:
            last, quiet_since = total, time.monotonic()
        done = counts and min(counts.values()) >= expected and len(counts) == len(server.routes)
        if done and time.monotonic() - quiet_since >= 2:
            return counts
        time.sleep(0.2)
    raise AssertionError(f"round not finished in {timeout}s: {sum(hits_by_path(server).values())}")


def stop_all(workers: list[subprocess.Popen[str]]) -> list[str]:
    """SIGTERM each; every one exits 0; their standard outputs (the console alerts)."""
    for worker in workers:
        worker.send_signal(signal.SIGTERM)
    outputs = []
    for worker in workers:
        out, err = worker.communicate(timeout=30)
        assert worker.returncode == 0, err[-2000:]
        outputs.append(out)
    return outputs


def alerts_in(outputs: list[str]) -> collections.Counter[str]:
    return collections.Counter(
        line.split("] ", 1)[1].split(" (")[0].split(" — ")[0]
        for out in outputs
        for line in out.splitlines()
        if "TikTok story" in line
    )


@pytest.mark.postgres
def test_three_workers_fetch_each_feed_once_a_round_and_alert_once(
    tmp_path: Path, feed_server: FeedServer, postgres_url: str, start_worker: Start
) -> None:
    """Three workers on one PostgreSQL fetch each of 2,000 feeds once a round and print each alert
    once."""
    urls, alerts = farm(feed_server, 2000)
    extra = 'interval = "1h"\nconcurrency = 20\nper_host = 20\nlease = "10s"'
    config = write_config(tmp_path / "w.toml", urls, database=postgres_url, extra=extra)
    workers = [start_worker(config) for _ in range(3)]

    first = settle(feed_server, 1, timeout=240)
    assert set(first.values()) == {1}, collections.Counter(first.values())

    # Round 2: every feed due again; SIGHUP wakes the sleeping workers at once.
    engine = sa.create_engine(postgres_url)
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE feeds SET next_fetch_at = now()"))
        busy = conn.execute(sa.text("SELECT count(*) FROM workers")).scalar_one()
    engine.dispose()
    assert busy == 3
    for worker in workers:
        worker.send_signal(signal.SIGHUP)
    second = settle(feed_server, 2, timeout=240)
    assert set(second.values()) == {2}, collections.Counter(second.values())

    outputs = stop_all(workers)
    assert sum(1 for out in outputs if "TikTok story" in out) >= 2  # the work was shared
    sent = alerts_in(outputs)
    assert set(sent) == alerts and set(sent.values()) == {1}


@pytest.mark.postgres
def test_a_killed_workers_feeds_are_taken_over(
    tmp_path: Path, feed_server: FeedServer, postgres_url: str, start_worker: Start
) -> None:
    """SIGKILL one of three workers while it holds leases: the others fetch its feeds once the
    leases lapse. Nothing is lost; a feed it had fetched but not recorded may be fetched (and
    its alert sent) twice, never more."""
    urls, alerts = farm(feed_server, 300, delay=0.1)
    extra = 'interval = "1h"\nconcurrency = 10\nper_host = 30\nlease = "2s"'
    config = write_config(tmp_path / "w.toml", urls, database=postgres_url, extra=extra)
    workers = [start_worker(config) for _ in range(3)]
    victim = workers[0]
    engine = sa.create_engine(postgres_url)
    holding = sa.text("SELECT count(*) FROM feeds WHERE lease_owner LIKE :me")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with engine.connect() as conn:
                held = conn.execute(holding, {"me": f"%:{victim.pid}"}).scalar_one()
        except sa.exc.ProgrammingError:  # not migrated yet
            held = 0
        if held:
            break
        time.sleep(0.05)
    assert held, "the victim never claimed a feed"
    victim.kill()
    printed, _ = victim.communicate()  # what it sent before it died

    counts = settle(feed_server, 1, timeout=120)
    assert max(counts.values()) <= 2
    assert sum(1 for n in counts.values() if n == 2) <= held
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM entries")).scalar_one() == 300
        stale = conn.execute(sa.text("SELECT count(*) FROM feeds WHERE lease_owner IS NOT NULL"))
        assert stale.scalar_one() == 0
    engine.dispose()
    sent = alerts_in([printed, *stop_all(workers[1:])])
    assert set(sent) == alerts and set(sent.values()) <= {1, 2}


@pytest.mark.postgres
def test_a_slow_feed_holds_back_no_other(
    tmp_path: Path, feed_server: FeedServer, postgres_url: str, start_worker: Start
) -> None:
    """A worker claims more feeds as its fetches finish, not batch by batch: while one server
    takes 8 s to answer, the other feeds, due every 2 s, go on being fetched."""
    urls, _ = farm(feed_server, 10)
    slow = feed_server.serve("/slow.xml", rss("Slow", [("s", "Slow story", "")]), delay=8.0)
    extra = 'interval = "2s"\nmax_interval = "2s"\nconcurrency = 4\nper_host = 10\nlease = "30s"'
    config = write_config(tmp_path / "w.toml", [*urls, slow], database=postgres_url, extra=extra)
    start_worker(config)
    deadline = time.monotonic() + 60
    while not any(seen.path == "/slow.xml" for seen in list(feed_server.requests)):
        assert time.monotonic() < deadline, "the slow feed was never fetched"
        time.sleep(0.05)
    began = next(seen.at for seen in list(feed_server.requests) if seen.path == "/slow.xml")
    time.sleep(max(0.0, began + 8.5 - time.monotonic()))
    meanwhile = collections.Counter(
        seen.path
        for seen in list(feed_server.requests)
        if began + 3 <= seen.at <= began + 7.5 and seen.path != "/slow.xml"
    )
    assert len(meanwhile) == 10, meanwhile  # every other feed, while the slow one took its time


@pytest.mark.postgres
def test_workers_show_in_status(
    tmp_path: Path, feed_server: FeedServer, postgres_url: str, start_worker: Start
) -> None:
    """watcher status lists each live worker."""
    urls, _ = farm(feed_server, 5)
    config = write_config(tmp_path / "w.toml", urls, database=postgres_url, extra='lease = "3s"')
    workers = [start_worker(config) for _ in range(2)]
    settle(feed_server, 1, timeout=60)
    env = {k: v for k, v in os.environ.items() if k != "WATCHER_CONFIG"}
    shown = subprocess.run(
        [sys.executable, "-m", "watcher", "status", "--config", str(config)],
        capture_output=True, text=True, env=env, check=True,
    ).stdout  # fmt: skip
    assert "Workers: 2" in shown
    for worker in workers:
        assert f":{worker.pid}: alive, last heartbeat " in shown
    stop_all(workers)
    after = subprocess.run(
        [sys.executable, "-m", "watcher", "status", "--config", str(config)],
        capture_output=True, text=True, env=env, check=True,
    ).stdout  # fmt: skip
    assert "Workers: none running" in after  # a clean stop unregisters


def test_a_second_process_on_one_sqlite_file_is_refused(
    tmp_path: Path, feed_server: FeedServer, start_worker: Start
) -> None:
    """A second watcher run on the same SQLite file is refused, naming the process that holds it."""
    url = feed_server.serve("/f.xml", rss("Wire", [("a", "TikTok", "")]))
    config = write_config(tmp_path / "w.toml", [url], extra='interval = "1h"')
    first = start_worker(config)
    deadline = time.monotonic() + 30
    while not feed_server.hits("/f.xml") and time.monotonic() < deadline:
        time.sleep(0.05)
    env = {k: v for k, v in os.environ.items() if k != "WATCHER_CONFIG"}
    for args in (["run"], ["run", "--once"]):
        second = subprocess.run(
            [sys.executable, "-m", "watcher", *args, "--config", str(config)],
            capture_output=True, text=True, env=env, timeout=60, check=False,
        )  # fmt: skip
        assert second.returncode == 1
        assert f"is in use by another `watcher run` (pid {first.pid})" in second.stderr
        assert "PostgreSQL" in second.stderr
    first.send_signal(signal.SIGTERM)
    assert first.wait(timeout=15) == 0
    again = subprocess.run(
        [sys.executable, "-m", "watcher", "run", "--once", "--config", str(config)],
        capture_output=True, text=True, env=env, timeout=60, check=False,
    )  # fmt: skip
    assert again.returncode == 0, again.stderr  # the lock went with the first process


@pytest.mark.postgres
def test_db_migrate_copies_sqlite_into_postgresql(
    tmp_path: Path, feed_server: FeedServer, postgres_url: str
) -> None:
    """Everything stored in SQLite arrives in PostgreSQL, which then carries on: new entries
    get new ids, and nothing is notified twice."""
    url = feed_server.serve("/f.xml", rss("Wire", [("a", "TikTok deal", ""), ("b", "Rain", "")]))
    config = write_config(tmp_path / "w.toml", [url])
    env = {k: v for k, v in os.environ.items() if k != "WATCHER_CONFIG"}

    def watcher(*args: str, config: Path = config) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "watcher", *args, "--config", str(config)],
            capture_output=True, text=True, env=env, timeout=120, check=False,
        )  # fmt: skip

    assert watcher("run", "--once").returncode == 0
    before = watcher("digest", "--format", "json").stdout
    password_url = postgres_url.replace("postgres@", "postgres:s3cret@")
    copied = watcher("db", "migrate", "--to", password_url)
    assert copied.returncode == 0, copied.stderr
    assert "copied " in copied.stdout and "(1 feed, 2 entries, 1 delivery)" in copied.stdout
    assert "s3cret" not in copied.stdout + copied.stderr
    again = watcher("db", "migrate", "--to", postgres_url)
    assert again.returncode == 1 and "already holds feeds" in again.stderr

    moved = write_config(tmp_path / "pg.toml", [url], database=postgres_url)
    after = watcher("digest", "--format", "json", config=moved).stdout
    assert stories(after) == stories(before)
    items = [("c", "ByteDance news", ""), ("a", "TikTok deal", "")]
    feed_server.serve("/f.xml", rss("Wire", items))
    later = watcher("run", "--once", config=moved)
    assert later.returncode == 0, later.stderr
    assert "1 new entry, 0 changed, 1 new match; 1 notification sent" in later.stderr
    assert later.stdout.count("ByteDance news") == 1 and "TikTok deal" not in later.stdout


def stories(digest: str) -> list[tuple[int, str, str, list[str]]]:
    return [
        (s["id"], s["rule"], s["title"], [d["status"] for d in s["deliveries"]])
        for s in json.loads(digest)["stories"]
    ]


@pytest.mark.postgres
def test_a_timer_run_leaves_the_feeds_another_worker_holds(
    tmp_path: Path, feed_server: FeedServer, postgres_url: str
) -> None:
    """``run --once`` on a database shared with daemons leases its feeds as a worker does:
    the feeds another worker holds are named as skipped and not fetched (not even with
    --force); the run's own leases and worker row are gone when it ends, the other's stay."""
    from datetime import UTC, datetime

    from watcher.adapters.sql.database import connect
    from watcher.adapters.sql.store import SqlStore

    urls, _ = farm(feed_server, 4)
    config = write_config(tmp_path / "w.toml", urls, database=postgres_url)
    env = {k: v for k, v in os.environ.items() if k != "WATCHER_CONFIG"}
    once = [sys.executable, "-m", "watcher", "run", "--once", "--force", "--config", str(config)]
    subprocess.run(once, capture_output=True, text=True, env=env, check=True)
    store = SqlStore(connect(postgres_url))
    held = store.coordination.claim_listed("daemon:1", urls[:2], datetime.now(UTC))
    assert sorted(held) == sorted(urls[:2])

    second = subprocess.run(once, capture_output=True, text=True, env=env, check=True)

    hits = hits_by_path(feed_server)
    assert [hits[f"/f/{n}.xml"] for n in range(4)] == [1, 1, 2, 2]
    assert second.stderr.count("another worker holds it") == 2
    with store.engine.connect() as conn:
        owners: dict[str, str | None] = dict(
            conn.execute(sa.text("SELECT url, lease_owner FROM feeds")).all()
        )
        workers = conn.execute(sa.text("SELECT id FROM workers")).scalars().all()
    store.engine.dispose()
    assert owners == {url: ("daemon:1" if url in urls[:2] else None) for url in urls}
    assert workers == []


@pytest.mark.postgres
def test_a_killed_worker_shows_as_gone_with_what_it_held(
    tmp_path: Path, feed_server: FeedServer, postgres_url: str, start_worker: Start
) -> None:
    """Seconds after a SIGKILL, ``watcher status`` and /metrics tell the dead worker from the
    live one by its heartbeat: "gone" once a lease has passed without one (its leases
    lapsed), never counted among the workers alive."""
    import httpx
    from prometheus_client.parser import text_string_to_metric_families

    from tests.conftest import free_port

    urls, _ = farm(feed_server, 5)
    extra = 'interval = "1h"\nlease = "2s"'
    port = free_port()
    survivor = start_worker(
        write_config(
            tmp_path / "a.toml", urls, database=postgres_url,
            extra=f'{extra}\nhttp = "127.0.0.1:{port}"',
        )
    )  # fmt: skip
    victim = start_worker(
        write_config(tmp_path / "b.toml", urls, database=postgres_url, extra=extra)
    )
    settle(feed_server, 1, timeout=60)
    env = {k: v for k, v in os.environ.items() if k != "WATCHER_CONFIG"}
    status = [sys.executable, "-m", "watcher", "status", "--config", str(tmp_path / "a.toml")]

    def states() -> dict[int, str]:
        shown = subprocess.run(
            [*status, "--format", "json"], capture_output=True, text=True, env=env, check=True
        ).stdout
        return {w["pid"]: w["state"] for w in json.loads(shown)["workers"]}

    deadline = time.monotonic() + 30
    while states() != {survivor.pid: "alive", victim.pid: "alive"}:
        assert time.monotonic() < deadline, states()
        time.sleep(0.2)
    victim.kill()
    victim.communicate()
    while states().get(victim.pid) != "gone":
        assert time.monotonic() < deadline + 30, states()
        time.sleep(0.2)
    shown = subprocess.run(status, capture_output=True, text=True, env=env, check=True).stdout
    assert "Workers: 1 alive, 1 gone" in shown
    assert f":{victim.pid}: gone, last heartbeat " in shown
    assert f":{survivor.pid}: alive, last heartbeat " in shown
    metrics = httpx.get(f"http://127.0.0.1:{port}/metrics").text
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(metrics)
        for s in family.samples
    }
    assert samples[("feedwatcher_workers", (("state", "alive"),))] == 1
    assert samples[("feedwatcher_workers", (("state", "gone"),))] == 1
    stop_all([survivor])
