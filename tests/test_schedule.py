"""When feeds are due and when failed deliveries are retried (pure; time is passed in)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from watcher.config import Feed
from watcher.schedule import (
    RetryPolicy,
    after_failure,
    after_success,
    delivery_retry_at,
    due_feeds,
    next_wakeup,
    retry_after_moment,
)

NOW = datetime(2025, 9, 15, 12, 0, tzinfo=UTC)


def test_feeds_are_due_by_their_own_interval() -> None:
    """A feed is due when its next fetch has come; never fetched, at once; paused, never."""
    fast = Feed("https://a.example/rss", None, timedelta(minutes=5))
    slow = Feed("https://b.example/rss", None, timedelta(hours=1))
    new = Feed("https://c.example/rss", None, timedelta(hours=1))
    paused = Feed("https://d.example/rss", None, timedelta(hours=1))
    next_due = {
        fast.url: NOW - timedelta(minutes=1),
        slow.url: NOW + timedelta(minutes=54),
        paused.url: None,
    }
    assert due_feeds([fast, slow, new, paused], next_due, NOW) == [fast, new]
    assert next_wakeup([slow, paused], next_due, NOW) == NOW + timedelta(minutes=54)
    assert next_wakeup([paused], next_due, NOW) is None


def test_retries_double_up_to_the_ceiling_then_stop() -> None:
    """30 s, 60 s, 120 s … capped at the ceiling; None after the last attempt; ±10 % jitter."""
    policy = RetryPolicy(attempts=8, backoff=timedelta(seconds=30), ceiling=timedelta(minutes=5))
    rng = random.Random(0)
    delays = [(delivery_retry_at(n, NOW, policy, rng) or NOW) - NOW for n in range(1, 8)]
    expected = [30, 60, 120, 240, 300, 300, 300]
    for delay, seconds in zip(delays, expected, strict=True):
        assert seconds * 0.9 <= delay.total_seconds() <= seconds * 1.1
    assert delivery_retry_at(8, NOW, policy) is None


def test_failing_feeds_back_off_and_never_give_up() -> None:
    """Interval × 2^failures, capped at the ceiling, and at the ceiling forever."""
    feed = Feed("https://a.example/rss", None, timedelta(minutes=15))
    ceiling = timedelta(hours=24)
    rng = random.Random(1)
    delays = [(after_failure(feed, n, NOW, ceiling, rng=rng) - NOW) for n in (1, 2, 3, 10, 50)]
    expected = [30 * 60, 60 * 60, 120 * 60, 24 * 3600, 24 * 3600]
    for delay, seconds in zip(delays, expected, strict=True):
        assert seconds * 0.9 <= delay.total_seconds() <= seconds * 1.1


def test_retry_after_pushes_the_next_fetch_out() -> None:
    """Retry-After in seconds or as an HTTP date; never earlier than the backoff."""
    feed = Feed("https://a.example/rss", None, timedelta(minutes=1))
    day = timedelta(hours=24)
    assert after_failure(feed, 1, NOW, day, "3600") == NOW + timedelta(hours=1)
    when = "Mon, 15 Sep 2025 14:00:00 GMT"
    assert after_failure(feed, 1, NOW, day, when) == datetime(2025, 9, 15, 14, tzinfo=UTC)
    assert retry_after_moment("soon", NOW) is None
    assert after_failure(feed, 1, NOW, day, "1") > NOW + timedelta(seconds=100)


def test_successful_feeds_come_back_after_their_interval_give_or_take() -> None:
    feed = Feed("https://a.example/rss", None, timedelta(minutes=20))
    moments = {after_success(feed, NOW, random.Random(n)) for n in range(20)}
    assert len(moments) > 1
    assert all(timedelta(minutes=19) <= m - NOW <= timedelta(minutes=21) for m in moments)
