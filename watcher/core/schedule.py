"""When things are due: feeds by their interval, failed deliveries by their backoff.

Pure functions; ``now`` is always passed in.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from zoneinfo import ZoneInfo

from watcher.core.settings import DigestSchedule, Feed, RetryPolicy

# One generator for the jitter: a new random.Random() seeds itself from the system (20 µs), and
# a quiet round of a thousand feeds made a thousand.
_JITTER = random.Random()

_DEFAULT_RETRY = RetryPolicy()


def due_feeds(
    feeds: Sequence[Feed], next_due: Mapping[str, datetime | None], now: datetime
) -> list[Feed]:
    """The feeds due by ``now``, in config order: never fetched, or their next fetch has come.
    A feed mapped to None is paused."""
    return [f for f in feeds if f.url not in next_due or _at_or_before(next_due[f.url], now)]


def _at_or_before(moment: datetime | None, now: datetime) -> bool:
    return moment is not None and moment <= now


def next_wakeup(
    feeds: Sequence[Feed], next_due: Mapping[str, datetime | None], now: datetime
) -> datetime | None:
    """The earliest moment a feed becomes due (``now`` if one already is)."""
    moments = [moment for feed in feeds if (moment := next_due.get(feed.url, now)) is not None]
    return max(min(moments), now) if moments else None


def _doubled(base: timedelta, times: int, ceiling: timedelta) -> timedelta:
    """``base`` doubled ``times`` times, at most ``ceiling`` (without overflowing)."""
    seconds = base.total_seconds() * 2 ** min(times, 64)
    return min(timedelta(seconds=min(seconds, ceiling.total_seconds())), ceiling)


DEFAULT_MAX_INTERVAL = timedelta(hours=1)


def interval_for(feed: Feed, hint: timedelta | None = None) -> timedelta:
    """How long to wait after a good fetch: the feed's interval, or what the feed or its
    server asked for (``hint``) kept within the feed's bounds. By default the bounds are the
    interval and an hour: a feed may ask to be read less often, not more often than the user
    set."""
    if hint is None:
        return feed.interval
    lowest = feed.min_interval or feed.interval
    highest = max(feed.max_interval or DEFAULT_MAX_INTERVAL, lowest)
    return min(max(hint, lowest), highest)


def after_success(
    feed: Feed,
    now: datetime,
    rng: random.Random | None = None,
    hint: timedelta | None = None,
) -> datetime:
    """When a feed read successfully is next due: after its interval (see ``interval_for``),
    ±5 % so that feeds fetched together drift apart instead of reaching their hosts at once."""
    jitter: float = (rng or _JITTER).uniform(0.95, 1.05)
    return now + timedelta(seconds=interval_for(feed, hint).total_seconds() * jitter)


_PERIODS = {
    "hourly": timedelta(hours=1),
    "daily": timedelta(days=1),
    "weekly": timedelta(weeks=1),
    "monthly": timedelta(days=30),
    "yearly": timedelta(days=365),
}


def feed_hint(
    ttl: str | None, update_period: str | None, update_frequency: str | None
) -> timedelta | None:
    """What a feed says about how often to read it: RSS ``<ttl>`` (minutes), or
    ``sy:updatePeriod`` divided by ``sy:updateFrequency``; the longer when it says both.
    Nonsense is ignored."""
    hints = []
    if ttl and ttl.strip().isdigit() and int(ttl) > 0:
        hints.append(timedelta(minutes=min(int(ttl), 60 * 24 * 365)))
    period = _PERIODS.get((update_period or "").strip().lower())
    if period is not None:
        frequency = (update_frequency or "1").strip()
        times = int(frequency) if frequency.isdigit() and int(frequency) > 0 else 1
        hints.append(period / times)
    return max(hints) if hints else None


def response_hint(
    cache_control: str | None, expires: str | None, date: str | None, now: datetime
) -> timedelta | None:
    """How long the server says the response stays fresh: ``Cache-Control: max-age`` (or
    ``s-maxage``), else ``Expires`` less ``Date``; None when it says nothing, or no-cache."""
    directives = {}
    for part in (cache_control or "").lower().split(","):
        name, _, value = part.strip().partition("=")
        directives[name] = value.strip().strip('"')
    if "no-cache" in directives or "no-store" in directives:
        return None
    for name in ("s-maxage", "max-age"):
        if directives.get(name, "").isdigit():
            seconds = int(directives[name])
            return timedelta(seconds=seconds) if seconds > 0 else None
    until = _http_date(expires)
    if until is None:
        return None
    origin = _http_date(date) or now
    left = until - origin
    return left if left > timedelta(0) else None


def _http_date(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        moment = parsedate_to_datetime(value.strip())
    except (TypeError, ValueError, IndexError):
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def after_failure(
    feed: Feed,
    failures: int,
    now: datetime,
    ceiling: timedelta,
    retry_after: str | None = None,
    rng: random.Random | None = None,
) -> datetime:
    """When a feed that failed ``failures`` times in a row is tried again: its interval doubled
    for each failure, at most ``ceiling`` (and then at the ceiling forever: a feed is never
    given up), ±10 % jitter; never before the server's Retry-After."""
    delay = _doubled(feed.interval, failures, ceiling)
    jitter: float = (rng or _JITTER).uniform(0.9, 1.1)
    moment = now + timedelta(seconds=delay.total_seconds() * jitter)
    asked = retry_after_moment(retry_after, now)
    return max(moment, asked) if asked is not None else moment


def retry_after_moment(header: str | None, now: datetime) -> datetime | None:
    """A Retry-After header (seconds, or an HTTP date) as a moment; None if absent or invalid."""
    if not header:
        return None
    header = header.strip()
    if header.isdigit():
        return now + timedelta(seconds=int(header))
    return _http_date(header)


def delivery_retry_at(
    attempts_made: int,
    now: datetime,
    policy: RetryPolicy = _DEFAULT_RETRY,
    rng: random.Random | None = None,
) -> datetime | None:
    """When to try a delivery again after ``attempts_made`` failures; None once they are used up.

    ±10 % jitter keeps the retries to a target that was down from all landing in one second.
    """
    if attempts_made >= policy.attempts:
        return None
    delay = _doubled(policy.backoff, attempts_made - 1, policy.ceiling)
    jitter: float = (rng or _JITTER).uniform(0.9, 1.1)
    return now + timedelta(seconds=delay.total_seconds() * jitter)


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
