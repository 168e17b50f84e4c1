"""Crash safety: the daemon killed with SIGKILL between sending a message and recording it
loses nothing, and repeats only that one message after a restart."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from tests.conftest import SmtpSink, write_config
from tests.servers import FeedServer, rss


def daemon(config: Path, pause: float = 0) -> subprocess.Popen[bytes]:
    """``watcher run``, pausing ``pause`` seconds between sending a message and recording it
    (the fault is injected by the tests' own entry point, tests/faulty.py)."""
    env = {**os.environ}
    env.pop("WATCHER_CONFIG", None)
    command = ["run", "-q", "--config", str(config)]
    return subprocess.Popen(
        [sys.executable, "-m", "tests.faulty", "--pause-after-send", str(pause), *command],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
    )


def wait_for(condition: object, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return True
        time.sleep(0.05)
    return False


def test_sigkill_between_send_and_record(
    tmp_path: Path, feed_server: FeedServer, smtp_server: SmtpSink
) -> None:
    """Killed after the first email left but before it was recorded: after the restart every
    alert has arrived, the first one twice (the documented case), the others once."""
    items = [(f"g{n}", f"TikTok story {n}", "text") for n in range(3)]
    url = feed_server.serve("/f.xml", rss("Wire", items))
    desk = {"url": smtp_server.url(), "rate": "100/s"}
    config = write_config(
        tmp_path / "w.toml", [url], {"tiktok": ["TikTok"]}, {"desk": desk}, extra='interval = "1h"'
    )

    first = daemon(config, pause=30)
    try:
        assert wait_for(lambda: len(smtp_server.messages) == 1, 20)
        first.send_signal(signal.SIGKILL)  # in the pause: sent, not yet recorded
        first.wait(10)
    finally:
        if first.poll() is None:
            first.kill()
    assert restart_until(config, smtp_server, 4) == [
        "[tiktok] TikTok story 0",
        "[tiktok] TikTok story 0",
        "[tiktok] TikTok story 1",
        "[tiktok] TikTok story 2",
    ]


def test_sigkill_before_any_send_loses_nothing(
    tmp_path: Path, feed_server: FeedServer, smtp_server: SmtpSink
) -> None:
    """Killed while its SMTP server was down (nothing sent): after the restart each alert
    arrives exactly once."""
    items = [(f"g{n}", f"TikTok story {n}", "text") for n in range(2)]
    url = feed_server.serve("/f.xml", rss("Wire", items))
    desk = {"url": smtp_server.url(), "rate": "100/s", "retry_backoff": "0s"}
    config = write_config(
        tmp_path / "w.toml", [url], {"tiktok": ["TikTok"]}, {"desk": desk}, extra='interval = "1h"'
    )
    smtp_server.code = "451 try again later"
    first = daemon(config)
    try:
        db = tmp_path / "w.db"
        assert wait_for(lambda: db.exists() and _attempted(db), 20)
        first.send_signal(signal.SIGKILL)
        first.wait(10)
    finally:
        if first.poll() is None:
            first.kill()
    smtp_server.code = "250 OK"
    assert restart_until(config, smtp_server, 2) == [
        "[tiktok] TikTok story 0",
        "[tiktok] TikTok story 1",
    ]


def restart_until(config: Path, sink: SmtpSink, count: int) -> list[str]:
    """Start the daemon again, let ``count`` messages arrive in all (and a moment for any
    more), stop it with SIGTERM (exit 0), and return every subject received, sorted."""
    process = daemon(config)
    try:
        assert wait_for(lambda: len(sink.messages) >= count, 20)
        time.sleep(0.5)  # anything more would arrive now
        process.send_signal(signal.SIGTERM)
        assert process.wait(10) == 0
    finally:
        if process.poll() is None:
            process.kill()
    return sorted(str(message["Subject"]) for message in sink.messages)


def _attempted(db: Path) -> bool:
    try:
        with sqlite3.connect(db) as conn:
            row = conn.execute("SELECT max(attempts) FROM deliveries").fetchone()
    except sqlite3.Error:
        return False
    return bool(row and row[0])
