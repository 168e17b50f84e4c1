"""What operators read: ``watcher status``, the systemd STATUS line, the health rule, and log
lines fit for the journal."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from click.testing import Result

from tests.conftest import SmtpSink, write_config
from tests.servers import FeedServer, rss
from watcher.core.health import Health, Snapshot, status_line
from watcher.core.model import CycleRecord

NOON = datetime(2026, 9, 14, 12, 0, tzinfo=UTC)


def record(new_entries: int, new_matches: int) -> CycleRecord:
    return CycleRecord(NOON, NOON + timedelta(seconds=3), 3, 2, 0, 1, new_entries, 0, new_matches)


def test_status_line() -> None:
    """systemd's status line counts feeds, failures, the last cycle and pending deliveries, in words
    that agree with the numbers."""
    assert status_line(Snapshot(312, 3, 0, record(41, 2))) == (
        "312 feeds, 3 failing; last cycle 12:00:03, 41 new, 2 matches; 0 pending deliveries"
    )
    assert status_line(Snapshot(1, 0, 1, None)) == (
        "1 feed, 0 failing; no cycle yet; 1 pending delivery"
    )


def test_health_turns_stale_after_two_intervals() -> None:
    """/healthz is healthy until two of the shortest intervals pass without a completed pass."""
    health = Health(timedelta(minutes=5), started=1000.0)
    assert health.check(1000.0 + 600)[0]  # start-up counts as a pass
    assert not health.check(1000.0 + 601)[0]
    health.passed(1500.0, NOON, Snapshot(2, 1, 0, record(1, 0)))
    healthy, body = health.check(1500.0 + 599)
    assert healthy and body["status"] == "ok" and body["failing_feeds"] == 1
    healthy, body = health.check(1500.0 + 601)
    assert not healthy and body["status"] == "stalled" and body["limit_seconds"] == 600


def test_watcher_status_reports_feeds_deliveries_and_the_last_cycle(
    tmp_path: Path,
    feed_server: FeedServer,
    smtp_server: SmtpSink,
    run_cli: Callable[..., Result],
) -> None:
    """watcher status shows feeds by state with the reason of each in trouble, deliveries by target
    and the last cycle, as text and JSON."""
    good = feed_server.serve("/good.xml", rss("Wire", [("a", "TikTok deal talks resume", "")]))
    missing = feed_server.url("/missing.xml")
    smtp_server.code = "550 mailbox unavailable"
    desk = {"url": smtp_server.url(), "retry_attempts": 3}
    config = write_config(tmp_path / "w.toml", [good, missing], targets={"desk": desk})
    assert run_cli("run", "--once", "--config", str(config)).exit_code == 1

    shown = run_cli("status", "--config", str(config))
    assert shown.exit_code == 0, shown.output
    lines = shown.output.splitlines()
    assert lines[0] == "Feeds: 2 (1 backing off, 1 ok)"
    assert lines[1].startswith("  backing off since 2026") and missing in lines[1]
    assert "HTTP 404" in lines[1] and "; next try 2026" in lines[1]
    assert "desk: 1 pending, 0 failed" in shown.output
    assert re.search(
        r"Last cycle: \S+ \S+ UTC \(\d+\.\ds\): 2 feeds: 1 ok, 0 not modified, 0 unchanged, "
        r"1 failed; 1 new entry, 0 changed, 1 new match",
        shown.output,
    ), shown.output

    as_json = json.loads(run_cli("status", "--config", str(config), "--format", "json").output)
    assert as_json["feeds"] == {"ok": 1, "backing off": 1}
    assert [t["url"] for t in as_json["trouble"]] == [missing]
    assert as_json["deliveries"] == {"desk": {"pending": 1, "failed": 0}}
    assert as_json["last_cycle"]["new_matches"] == 1


def test_logs_for_the_journal_carry_priorities_and_no_timestamps(
    tmp_path: Path, feed_server: FeedServer
) -> None:
    """With $JOURNAL_STREAM naming stderr, each event is one line led by its syslog priority;
    without it, lines start with the time."""
    missing = feed_server.url("/missing.xml")
    config = write_config(tmp_path / "w.toml", [missing], extra="concurrency = 1")
    env = {k: v for k, v in os.environ.items() if k != "WATCHER_CONFIG"}
    command = [sys.executable, "-m", "watcher", "run", "--once", "--force", "--config", str(config)]
    for journal in (True, False):
        log = tmp_path / f"stderr-{journal}"
        with log.open("w") as stderr:
            info = os.fstat(stderr.fileno())
            if journal:
                env["JOURNAL_STREAM"] = f"{info.st_dev}:{info.st_ino}"
            else:
                env["JOURNAL_STREAM"] = "1:1"  # someone else's stream: not ours
            subprocess.run(command, stderr=stderr, env=env, timeout=60, check=False)
        lines = [line for line in log.read_text().splitlines() if "watcher.service" in line]
        assert lines, log.read_text()
        if journal:
            assert lines[0].startswith("<4>watcher.service: feed ") and "HTTP 404" in lines[0]
        else:
            assert re.match(r"\d\d:\d\d:\d\d WARNING watcher.service: feed ", lines[0])
