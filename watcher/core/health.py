"""How the daemon judges and describes its own health: the liveness rule behind ``/healthz``,
and the one-line summary systemd shows as the service's status."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from watcher.core.model import CycleRecord
from watcher.core.text import counted


@dataclass(frozen=True, slots=True)
class Snapshot:
    """What the daemon knows of itself after a pass of its loop."""

    feeds: int
    failing: int  # feeds whose last fetch failed
    pending: int  # deliveries waiting to be sent or retried
    last: CycleRecord | None  # the last cycle that fetched anything


class Health:
    """Healthy while the scheduler loop keeps completing passes: the last one (a cycle, or a
    look that found nothing due) finished within ``2 × limit``, the shortest feed interval."""

    def __init__(self, interval: timedelta, started: float) -> None:
        self.limit = 2 * interval.total_seconds()
        self.last_pass = started  # monotonic seconds; start-up counts as a pass
        self.last_pass_at: datetime | None = None
        self.snapshot: Snapshot | None = None

    def passed(self, monotonic: float, wall: datetime, snapshot: Snapshot | None) -> None:
        self.last_pass = monotonic
        self.last_pass_at = wall
        if snapshot is not None:
            self.snapshot = snapshot

    def check(self, monotonic: float) -> tuple[bool, dict[str, Any]]:
        """(healthy, the JSON body ``/healthz`` answers with)."""
        age = monotonic - self.last_pass
        healthy = age <= self.limit
        body: dict[str, Any] = {
            "status": "ok" if healthy else "stalled",
            "last_pass": self.last_pass_at.isoformat() if self.last_pass_at else None,
            "seconds_since_last_pass": round(age, 3),
            "limit_seconds": self.limit,
        }
        if self.snapshot is not None:
            last = self.snapshot.last
            body |= {
                "feeds": self.snapshot.feeds,
                "failing_feeds": self.snapshot.failing,
                "pending_deliveries": self.snapshot.pending,
                "last_cycle": last.finished_at.isoformat() if last else None,
            }
        return healthy, body


def status_line(snapshot: Snapshot) -> str:
    """``312 feeds, 3 failing; last cycle 14:02:11, 41 new, 2 matches; 0 pending deliveries``"""
    last = snapshot.last
    cycle = (
        f"last cycle {last.finished_at:%H:%M:%S}, {last.new_entries} new, "
        f"{counted(last.new_matches, 'match', 'matches')}"
        if last
        else "no cycle yet"
    )
    return (
        f"{counted(snapshot.feeds, 'feed')}, {snapshot.failing} failing; {cycle}; "
        f"{counted(snapshot.pending, 'pending delivery', 'pending deliveries')}"
    )
