"""What ``watcher status`` says of a worker, from its last heartbeat alone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from watcher.core.views import WorkerRow

NOW = datetime(2025, 9, 15, 12, 0, tzinfo=UTC)
LEASE = timedelta(seconds=60)


@pytest.mark.parametrize(
    ("silent", "state"),
    [
        (0, "alive"),
        (20, "alive"),  # a beat every third of a lease: on time
        (30, "alive"),  # half a lease: a beat may be a little late
        (31, "late"),  # a beat missed; its leases still hold
        (59, "late"),
        (60, "gone"),  # a lease without a beat: its leases have lapsed
        (3600, "gone"),
    ],
)
def test_a_workers_state_follows_its_heartbeat(silent: int, state: str) -> None:
    """Alive while it beats on time, late when a beat is missed, gone once its leases lapse."""
    worker = WorkerRow(
        "vm:1", "vm", 1, NOW - timedelta(hours=1), NOW - timedelta(seconds=silent), 3
    )
    assert worker.state(NOW, LEASE) == state
