"""When feeds are due and when failed deliveries are retried (pure; time is passed in)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from watcher.config import Feed
from watcher.schedule import RetryPolicy, delivery_retry_at, due_feeds, next_wakeup

NOW = datetime(2025, 9, 15, 12, 0, tzinfo=UTC)


def test_feeds_are_due_by_their_own_interval() -> None:
    fast = Feed("https://a.example/rss", None, timedelta(minutes=5))
    slow = Feed("https://b.example/rss", None, timedelta(hours=1))
    new = Feed("https://c.example/rss", None, timedelta(hours=1))
    last = {fast.url: NOW - timedelta(minutes=6), slow.url: NOW - timedelta(minutes=6)}
    assert due_feeds([fast, slow, new], last, NOW) == [fast, new]
    assert next_wakeup([slow], last, NOW) == NOW + timedelta(minutes=54)
    assert next_wakeup([], last, NOW) is None


def test_retries_double_up_to_the_ceiling_then_stop() -> None:
    """30 s, 60 s, 120 s … capped at the ceiling; None after the last attempt; ±10 % jitter."""
    policy = RetryPolicy(attempts=8, backoff=timedelta(seconds=30), ceiling=timedelta(minutes=5))
    rng = random.Random(0)
    delays = [(delivery_retry_at(n, NOW, policy, rng) or NOW) - NOW for n in range(1, 8)]
    expected = [30, 60, 120, 240, 300, 300, 300]
    for delay, seconds in zip(delays, expected, strict=True):
        assert seconds * 0.9 <= delay.total_seconds() <= seconds * 1.1
    assert delivery_retry_at(8, NOW, policy) is None
