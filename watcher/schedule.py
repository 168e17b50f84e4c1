"""When things are due: feeds by their interval, failed deliveries by their backoff.

Pure functions; ``now`` is always passed in.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta

from watcher.config import Feed

DELIVERY_ATTEMPTS = 10
DELIVERY_BACKOFF = timedelta(seconds=30)
DELIVERY_BACKOFF_MAX = timedelta(hours=1)


def next_fetch(feed: Feed, last_fetches: Mapping[str, datetime]) -> datetime | None:
    """When ``feed`` is next due; None when it was never fetched (due at once)."""
    last = last_fetches.get(feed.url)
    return None if last is None else last + feed.interval


def due_feeds(
    feeds: Sequence[Feed], last_fetches: Mapping[str, datetime], now: datetime
) -> list[Feed]:
    """The feeds whose interval has passed since their last fetch, in config order."""
    return [f for f in feeds if (due := next_fetch(f, last_fetches)) is None or due <= now]


def next_wakeup(
    feeds: Sequence[Feed], last_fetches: Mapping[str, datetime], now: datetime
) -> datetime | None:
    """The earliest moment a feed becomes due (``now`` if one already is)."""
    moments = [next_fetch(feed, last_fetches) or now for feed in feeds]
    return min(moments) if moments else None


def delivery_retry_at(
    attempts_made: int, now: datetime, rng: random.Random | None = None
) -> datetime | None:
    """When to try a delivery again after ``attempts_made`` failures; None once they are used up.

    The delay doubles from 30 s to at most 1 h, with ±10 % jitter so that a target that was
    down does not receive every retry in the same second.
    """
    if attempts_made >= DELIVERY_ATTEMPTS:
        return None
    delay = min(DELIVERY_BACKOFF * 2 ** (attempts_made - 1), DELIVERY_BACKOFF_MAX)
    jitter: float = (rng or random.Random()).uniform(0.9, 1.1)
    return now + timedelta(seconds=delay.total_seconds() * jitter)
