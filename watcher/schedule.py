"""When things are due: feeds by their interval, failed deliveries by their backoff.

Pure functions; ``now`` is always passed in.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from datetime import time as dt_time
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

if TYPE_CHECKING:  # config imports this module for RetryPolicy
    from watcher.config import Feed


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How a target's failed deliveries are retried: ``attempts`` in all, the first retry after
    ``backoff``, each later one after twice the previous delay, at most ``ceiling`` apart."""

    attempts: int = 10
    backoff: timedelta = timedelta(seconds=30)
    ceiling: timedelta = timedelta(hours=1)


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
    attempts_made: int,
    now: datetime,
    policy: RetryPolicy = RetryPolicy(),
    rng: random.Random | None = None,
) -> datetime | None:
    """When to try a delivery again after ``attempts_made`` failures; None once they are used up.

    ±10 % jitter keeps the retries to a target that was down from all landing in one second.
    """
    if attempts_made >= policy.attempts:
        return None
    delay = min(policy.backoff * 2 ** (attempts_made - 1), policy.ceiling)
    jitter: float = (rng or random.Random()).uniform(0.9, 1.1)
    return now + timedelta(seconds=delay.total_seconds() * jitter)


WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True, slots=True)
class DigestSchedule:
    """When a digest target sends: at these local times, on these weekdays (0 = Monday)."""

    times: tuple[dt_time, ...]
    timezone: str = "UTC"
    days: frozenset[int] = frozenset(range(7))


def next_digest(after: datetime, schedule: DigestSchedule) -> datetime:
    """The first scheduled moment strictly after ``after`` (aware, UTC)."""
    zone = ZoneInfo(schedule.timezone)
    local = after.astimezone(zone)
    for offset in range(8 * 7):  # a week is enough; more covers odd time-zone days
        day = local.date() + timedelta(days=offset)
        if day.weekday() not in schedule.days:
            continue
        for moment in sorted(schedule.times):
            candidate = datetime.combine(day, moment, tzinfo=zone).astimezone(UTC)
            if candidate > after:
                return candidate
    raise ValueError("a digest schedule needs at least one day and one time")
