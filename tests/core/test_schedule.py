"""When feeds are due and when failed deliveries are retried (pure; time is passed in)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from watcher.core.schedule import (
    after_failure,
    after_success,
    delivery_retry_at,
    due_feeds,
    feed_hint,
    interval_for,
    next_wakeup,
    response_hint,
    retry_after_moment,
)
from watcher.core.settings import Feed, RetryPolicy

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
    """After a success a feed is due again after its interval, with a little jitter."""
    feed = Feed("https://a.example/rss", None, timedelta(minutes=20))
    moments = {after_success(feed, NOW, random.Random(n)) for n in range(20)}
    assert len(moments) > 1
    assert all(timedelta(minutes=19) <= m - NOW <= timedelta(minutes=21) for m in moments)


def test_a_feed_may_ask_to_be_read_less_often_within_its_bounds() -> None:
    """Hints move the interval between min_interval (default: the interval itself) and
    max_interval (default: an hour, or the interval when longer)."""
    feed = Feed("https://a.example/rss", None, timedelta(minutes=15))
    assert interval_for(feed) == timedelta(minutes=15)
    assert interval_for(feed, timedelta(minutes=40)) == timedelta(minutes=40)
    assert interval_for(feed, timedelta(days=1)) == timedelta(hours=1)
    assert interval_for(feed, timedelta(minutes=1)) == timedelta(minutes=15)
    eager = Feed(feed.url, None, timedelta(minutes=15), timedelta(minutes=2), timedelta(hours=6))
    assert interval_for(eager, timedelta(minutes=1)) == timedelta(minutes=2)
    assert interval_for(eager, timedelta(days=1)) == timedelta(hours=6)
    slow = Feed(feed.url, None, timedelta(hours=3))
    assert interval_for(slow, timedelta(days=1)) == timedelta(hours=3)
    jittered = after_success(feed, NOW, random.Random(1), hint=timedelta(minutes=40))
    assert timedelta(minutes=38) <= jittered - NOW <= timedelta(minutes=42)


def test_what_a_feed_says_about_its_refresh() -> None:
    """A feed's ttl and sy:updatePeriod/Frequency become a refresh hint (the longer wins)."""
    assert feed_hint("60", None, None) == timedelta(hours=1)
    assert feed_hint(None, "hourly", "2") == timedelta(minutes=30)
    assert feed_hint(None, "daily", None) == timedelta(days=1)
    assert feed_hint("30", "hourly", "1") == timedelta(hours=1)  # the longer of the two
    assert feed_hint("soon", "fortnightly", "x") is None
    assert feed_hint("0", None, None) is None
    assert feed_hint(None, "weekly", "0") == timedelta(weeks=1)


def test_what_a_server_says_about_freshness() -> None:
    """Cache-Control max-age (s-maxage first) and Expires become a freshness hint; no-cache none."""
    date = "Mon, 15 Sep 2025 12:00:00 GMT"
    assert response_hint("public, max-age=600", None, None, NOW) == timedelta(minutes=10)
    assert response_hint("max-age=60, s-maxage=1800", None, None, NOW) == timedelta(minutes=30)
    assert response_hint("no-cache, max-age=600", None, None, NOW) is None
    assert response_hint("max-age=0", None, None, NOW) is None
    expires = "Mon, 15 Sep 2025 12:20:00 GMT"
    assert response_hint(None, expires, date, NOW) == timedelta(minutes=20)
    assert response_hint(None, expires, None, NOW) == timedelta(minutes=20)  # NOW is 12:00
    assert response_hint(None, "0", date, NOW) is None  # "already expired", as servers say
    assert response_hint(None, None, None, NOW) is None
