"""``watcher run`` under a stand-in for systemd: a real process, a real notify socket, real
signals. READY only once migrated, a heartbeat that follows the loop's progress, STATUS,
reload on SIGHUP, STOPPING and exit 0 on SIGTERM; the HTTP health check and metrics."""

from __future__ import annotations

import itertools
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import free_port, write_config
from tests.servers import FeedServer, rss
from watcher.adapters.sql.schema import HEAD
from watcher.daemon.lifecycle import Heartbeat


@dataclass
class FakeSystemd:
    """The notify socket's end of the protocol: every datagram the service sends, with the
    time it came and the schema revision the database had at that moment."""

    path: Path
    database: Path
    messages: list[tuple[float, dict[str, str], str | None]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(str(self.path))
        self.sock.settimeout(0.2)
        self._running = True
        self._thread = threading.Thread(target=self._receive, daemon=True)
        self._thread.start()

    def _receive(self) -> None:
        while self._running:
            try:
                data = self.sock.recv(4096)
            except TimeoutError:
                continue
            except OSError:
                return
            fields = dict(line.split("=", 1) for line in data.decode().splitlines())
            with self.lock:
                self.messages.append((time.monotonic(), fields, self._revision()))

    def _revision(self) -> str | None:
        try:
            with sqlite3.connect(self.database) as db:
                row = db.execute("select version_num from alembic_version").fetchone()
        except sqlite3.Error:
            return None
        return str(row[0]) if row else None

    def sent(self, key: str) -> list[tuple[float, dict[str, str], str | None]]:
        with self.lock:
            return [m for m in self.messages if key in m[1]]

    def cycled(self) -> bool:
        """Whether a STATUS has reported a finished cycle."""
        return any("last cycle" in fields["STATUS"] for _, fields, _ in self.sent("STATUS"))

    def close(self) -> None:
        self._running = False
        self._thread.join()
        self.sock.close()


@pytest.fixture
def systemd(tmp_path: Path) -> Iterator[FakeSystemd]:
    fake = FakeSystemd(tmp_path / "notify.sock", tmp_path / "w.db")
    yield fake
    fake.close()


@dataclass
class Daemon:
    process: subprocess.Popen[str]
    log: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self.log.append(line)

    def logged(self, text: str) -> bool:
        return any(text in line for line in list(self.log))


def wait_for(condition: Callable[[], object], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not true within {timeout}s")
        time.sleep(0.05)


@pytest.fixture
def start_daemon(tmp_path: Path, systemd: FakeSystemd) -> Iterator[Callable[..., Daemon]]:
    started: list[Daemon] = []

    def start(config: Path, *faults: str, **env: str) -> Daemon:
        environ = {
            **os.environ,
            "PYTHONUNBUFFERED": "1",
            "NOTIFY_SOCKET": str(systemd.path),
            "WATCHDOG_USEC": "2000000",
            **env,
        }
        environ.pop("WATCHER_CONFIG", None)
        entry = ["-m", "tests.faulty", *faults] if faults else ["-m", "watcher"]
        process = subprocess.Popen(
            [sys.executable, *entry, "run", "--config", str(config)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=environ,
        )
        daemon = Daemon(process)
        started.append(daemon)
        return daemon

    yield start
    for daemon in started:
        if daemon.process.poll() is None:
            daemon.process.kill()
        daemon.process.communicate()


class CountingSupervisor:
    """Only what Heartbeat uses of a Supervisor: its period, and the beats it receives."""

    watchdog = 2.0

    def __init__(self) -> None:
        self.beats = 0

    def heartbeat(self) -> None:
        self.beats += 1


def test_the_loop_naps_until_half_a_period_after_the_last_beat_not_after_now() -> None:
    """A cycle that ended just too soon after a beat to send one must not add a whole nap to
    the gap: the sleep ends half a watchdog period after the last beat."""
    supervisor = CountingSupervisor()
    heartbeat = Heartbeat(supervisor)  # type: ignore[arg-type]
    assert heartbeat.nap == 0  # never beaten: beat at once
    heartbeat.beat()
    assert 0.9 < heartbeat.nap <= 1.0
    time.sleep(0.3)
    heartbeat.beat()  # progress within a quarter period: no beat sent
    assert supervisor.beats == 1
    assert heartbeat.nap <= 0.7


def test_ready_after_migration_heartbeat_status_and_clean_stop(
    tmp_path: Path,
    feed_server: FeedServer,
    systemd: FakeSystemd,
    start_daemon: Callable[..., Daemon],
) -> None:
    """Under systemd: READY after the migration, heartbeats while polling, a status line, and a
    clean exit on SIGTERM."""
    url = feed_server.serve("/f.xml", rss("Wire", [("a", "TikTok deal talks resume", "")]))
    config = write_config(tmp_path / "w.toml", [url], extra='interval = "1s"')
    daemon = start_daemon(config)
    wait_for(lambda: len(systemd.sent("WATCHDOG")) >= 4, 20)

    ready = systemd.sent("READY")
    assert len(ready) == 1
    first_at, _, revision = ready[0]
    assert revision == HEAD  # the schema was migrated before READY=1
    assert systemd.messages[0][1].get("READY") == "1"  # nothing came before it
    beats = [at for at, _, _ in systemd.sent("WATCHDOG")]
    assert all(at >= first_at for at in beats)
    gaps = [later - earlier for earlier, later in itertools.pairwise(beats)]
    assert max(gaps) <= 1.5  # within half of WATCHDOG_USEC (2 s), with room for a slow CI
    statuses = [fields["STATUS"] for _, fields, _ in systemd.sent("STATUS")]
    assert any(s.startswith("1 feed, 0 failing; last cycle ") for s in statuses), statuses
    assert any("1 new, 1 match; 1 pending delivery" in s for s in statuses), statuses
    assert statuses[-1].endswith("; 0 pending deliveries")  # the console printed it since

    daemon.process.send_signal(signal.SIGTERM)
    assert daemon.process.wait(timeout=15) == 0
    assert systemd.sent("STOPPING")
    assert systemd.sent("STOPPING")[0][0] >= beats[-1] - 0.01


def test_a_stalled_loop_stops_the_heartbeat_and_fails_the_health_check(
    tmp_path: Path,
    feed_server: FeedServer,
    systemd: FakeSystemd,
    start_daemon: Callable[..., Daemon],
) -> None:
    """A loop that hangs stops its heartbeats, and /healthz turns 503 while /metrics still
    answers."""
    url = feed_server.serve("/f.xml", rss("Wire", [("a", "TikTok deal talks resume", "")]))
    port = free_port()
    extra = f'interval = "1s"\nhttp = "127.0.0.1:{port}"'
    config = write_config(tmp_path / "w.toml", [url], extra=extra)
    daemon = start_daemon(config, "--stall-after", "3")
    base = f"http://127.0.0.1:{port}"
    wait_for(systemd.cycled, 20)
    healthy = httpx.get(f"{base}/healthz")
    assert healthy.status_code == 200 and healthy.json()["status"] == "ok"

    metrics = httpx.get(f"{base}/metrics")
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(metrics.text)
        for s in family.samples
    }
    assert samples[("feedwatcher_fetches_total", (("outcome", "ok"),))] >= 1
    assert samples[("feedwatcher_entries_total", (("kind", "new"),))] == 1
    assert samples[("feedwatcher_matches_total", (("rule", "tiktok"),))] == 1
    assert samples[("feedwatcher_fetch_seconds_count", ())] >= 1
    assert samples[("feedwatcher_cycle_seconds_count", ())] >= 1

    wait_for(lambda: daemon.logged("the scheduler loop stalls"), 20)
    time.sleep(1.0)  # a beat already on its way may still arrive
    beats = len(systemd.sent("WATCHDOG"))
    time.sleep(2.5)  # longer than WATCHDOG_USEC: systemd would restart the service now
    assert len(systemd.sent("WATCHDOG")) == beats
    stalled = httpx.get(f"{base}/healthz")
    assert stalled.status_code == 503
    assert stalled.json()["status"] == "stalled"
    assert stalled.json()["seconds_since_last_pass"] > stalled.json()["limit_seconds"]

    daemon.process.send_signal(signal.SIGTERM)
    assert daemon.process.wait(timeout=15) == 0


def test_sighup_applies_a_valid_config_and_keeps_the_old_one_when_invalid(
    tmp_path: Path,
    feed_server: FeedServer,
    systemd: FakeSystemd,
    start_daemon: Callable[..., Daemon],
) -> None:
    """A feed added by a reload is fetched without a restart; a rule added by it applies to
    new entries only; an invalid file is refused with its reason and polling goes on."""
    first = feed_server.serve("/a.xml", rss("Wire", [("a", "Madrid talks open", "")]))
    second = feed_server.serve("/b.xml", rss("Post", [("b", "Madrid talks close", "")]))
    config = write_config(tmp_path / "w.toml", [first], extra='interval = "1s"')
    daemon = start_daemon(config)
    wait_for(systemd.cycled, 20)

    rules = {"tiktok": ["TikTok"], "madrid": ["Madrid"]}
    write_config(config, [first, second], rules=rules, extra='interval = "1s"')
    daemon.process.send_signal(signal.SIGHUP)
    wait_for(lambda: feed_server.hits("/b.xml") >= 1, 20)
    wait_for(lambda: daemon.logged("reloaded: 2 feeds, 2 rules"), 10)
    reloading = systemd.sent("RELOADING")
    assert len(reloading) == 1 and reloading[0][1]["MONOTONIC_USEC"].isdigit()
    assert systemd.sent("READY")[-1][0] > reloading[0][0]  # READY=1 again after reloading

    config.write_text(config.read_text() + "\n[[rules]]\nname = 'broken'\n", encoding="utf-8")
    daemon.process.send_signal(signal.SIGHUP)
    wait_for(lambda: daemon.logged("reload refused"), 10)
    refused = next(line for line in daemon.log if "reload refused" in line)
    assert "rules[2]" in refused and str(config) in refused
    hits = feed_server.hits("/a.xml")
    wait_for(lambda: feed_server.hits("/a.xml") > hits, 10)  # still polling, on the old config

    daemon.process.send_signal(signal.SIGTERM)
    out, _ = daemon.process.communicate(timeout=15)
    assert daemon.process.returncode == 0
    assert "Madrid talks close" in out  # the new rule on a new entry
    assert "Madrid talks open" not in out  # ...not on the entry stored before it existed


def test_sigterm_gives_a_fetch_in_flight_its_grace_then_exits_0(
    tmp_path: Path,
    feed_server: FeedServer,
    systemd: FakeSystemd,
    start_daemon: Callable[..., Daemon],
) -> None:
    """A feed still dripping when SIGTERM comes is cut after stop_timeout; the exit is clean."""
    url = feed_server.serve("/slow.xml", rss("Slow", []), drip=0.5)
    extra = 'interval = "1s"\nstop_timeout = "1s"\ntimeout = "60s"'
    config = write_config(tmp_path / "w.toml", [url], extra=extra)
    daemon = start_daemon(config)
    wait_for(lambda: feed_server.hits("/slow.xml") >= 1, 20)
    time.sleep(0.5)
    daemon.process.send_signal(signal.SIGTERM)
    started = time.monotonic()
    assert daemon.process.wait(timeout=15) == 0
    assert time.monotonic() - started < 8
    assert daemon.logged("waiting up to 1.0s for the fetches in flight")
    assert systemd.sent("STOPPING")


def test_feeds_and_rules_added_from_the_cli_apply_without_a_restart(
    tmp_path: Path,
    feed_server: FeedServer,
    systemd: FakeSystemd,
    start_daemon: Callable[..., Daemon],
) -> None:
    """A feed or a rule added from the CLI is picked up by the running daemon without a restart."""
    first = feed_server.serve("/a.xml", rss("Wire", [("a", "Madrid talks open", "")]))
    added = feed_server.serve("/b.xml", rss("Post", [("b", "Madrid talks close", "")]))
    config = write_config(tmp_path / "w.toml", [first], extra='interval = "1s"')
    daemon = start_daemon(config)
    wait_for(systemd.cycled, 20)
    environ = {k: v for k, v in os.environ.items() if k != "WATCHER_CONFIG"}

    def watcher(*args: str) -> None:
        command = [sys.executable, "-m", "watcher", *args, "--config", str(config)]
        subprocess.run(command, check=True, capture_output=True, env=environ)

    watcher("rules", "add", "madrid", "Madrid")
    wait_for(lambda: daemon.logged("reloaded: 1 feeds, 2 rules"), 20)
    watcher("feeds", "add", added)
    wait_for(lambda: feed_server.hits("/b.xml") >= 2, 20)  # the check, then the daemon

    def sent() -> int:
        with sqlite3.connect(tmp_path / "w.db") as db:
            query = "select count(*) from deliveries where status = 'sent'"
            return int(db.execute(query).fetchone()[0])

    wait_for(lambda: sent() == 1, 20)
    daemon.process.send_signal(signal.SIGTERM)
    out, _ = daemon.process.communicate(timeout=15)
    assert "Madrid talks close" in out  # the added rule, on the added feed
    assert "Madrid talks open" not in out  # stored before the rule existed


def test_the_daemon_waits_out_a_locked_database(
    tmp_path: Path,
    feed_server: FeedServer,
    systemd: FakeSystemd,
    start_daemon: Callable[..., Daemon],
) -> None:
    """Another process holds the SQLite database locked past the busy timeout: the daemon
    says so (log, systemd status), keeps running, and stores what came meanwhile once the
    lock is gone."""
    items = [("a", "TikTok deal talks resume", "")]
    url = feed_server.serve("/f.xml", rss("Wire", items))
    config = write_config(tmp_path / "w.toml", [url], extra='interval = "1s"')
    daemon = start_daemon(config)
    wait_for(systemd.cycled, 20)
    holder = sqlite3.connect(tmp_path / "w.db", isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    feed_server.serve("/f.xml", rss("Wire", [*items, ("b", "ByteDance names new chief", "")]))
    wait_for(lambda: daemon.logged("database unavailable since"), 40)
    assert any("database unavailable" in f["STATUS"] for _, f, _ in systemd.sent("STATUS"))
    assert daemon.process.poll() is None
    holder.execute("ROLLBACK")
    holder.close()

    def stored() -> int:
        with sqlite3.connect(tmp_path / "w.db") as db:
            return int(db.execute("select count(*) from entries").fetchone()[0])

    def sent() -> int:
        with sqlite3.connect(tmp_path / "w.db") as db:
            query = "select count(*) from deliveries where status = 'sent'"
            return int(db.execute(query).fetchone()[0])

    wait_for(lambda: stored() == 2, 40)
    wait_for(lambda: sent() == 2, 40)  # delivered beside the loop: wait before stopping
    daemon.process.send_signal(signal.SIGTERM)
    out, _ = daemon.process.communicate(timeout=15)
    assert daemon.process.returncode == 0
    assert out.count("ByteDance names new chief") == 1
    assert not daemon.logged("Traceback") and not daemon.logged("never retrieved"), "".join(
        daemon.log
    )
