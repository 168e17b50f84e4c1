"""``watcher run`` as a real process: polls each feed on its interval, notices new items,
and stops cleanly on SIGTERM and SIGINT."""

from __future__ import annotations

import os
import selectors
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import write_config
from tests.servers import FeedServer, rss


def read_line(process: subprocess.Popen[str], timeout: float) -> str:
    """The next line of the daemon's stdout, or fail after ``timeout`` seconds."""
    assert process.stdout is not None
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        if not selector.select(timeout):
            raise AssertionError(f"no output within {timeout}s")
    return process.stdout.readline()


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_daemon_polls_and_stops_cleanly(
    tmp_path: Path, feed_server: FeedServer, sig: signal.Signals
) -> None:
    """The daemon reports the first match, then a new item published later, and exits 0 soon
    after the signal."""
    items = [("a", "TikTok deal talks resume", "")]
    url = feed_server.serve("/f.xml", rss("Wire", items))
    config = write_config(tmp_path / "w.toml", [url], extra='interval = "1s"')
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    env.pop("WATCHER_CONFIG", None)
    with subprocess.Popen(
        [sys.executable, "-m", "watcher", "run", "--config", str(config)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    ) as process:
        try:
            assert "TikTok deal talks resume" in read_line(process, 20)
            items.append(("b", "ByteDance names new TikTok chief", ""))
            feed_server.serve("/f.xml", rss("Wire", items))
            assert "ByteDance names new TikTok chief" in read_line(process, 10)
            assert feed_server.hits("/f.xml") >= 2
            process.send_signal(sig)
            started = time.monotonic()
            assert process.wait(timeout=10) == 0
            assert time.monotonic() - started < 5
        finally:
            if process.poll() is None:
                process.kill()
        out, log = process.communicate()
    assert f"received {sig.name}, stopping" in log and "stopped" in log
    assert out == ""  # nothing was reported twice
