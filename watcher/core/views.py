"""Read models: what the CLI, the digest and the status page show of the stored state (digest
rows, entry details, deliveries, feed statuses, workers). Immutable, free of I/O."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from watcher.core.model import Entry, Hit, Match, distinct_terms


@dataclass(frozen=True, slots=True)
class DigestQuery:
    """Which stored matches the digest shows (every filter optional; all must hold)."""

    since: datetime | None = None  # matched at or after
    until: datetime | None = None  # matched before
    rules: tuple[str, ...] = ()  # any of these rules
    feeds: tuple[str, ...] = ()  # from any of these feeds, by name or URL
    changed: bool = False  # only entries that changed after they were first seen
    limit: int | None = None
    category: str | None = None  # from feeds of this category, or a folder inside it


@dataclass(frozen=True, slots=True)
class StoryMember:
    """One entry of a story: the same news from one outlet."""

    entry_id: int
    title: str
    link: str | None
    source: str
    time: datetime


@dataclass(frozen=True, slots=True)
class DeliveryMark:
    """Where a digest row's alert went (or is still going)."""

    target: str
    status: str  # pending, sent, failed
    attempts: int
    sent_at: datetime | None
    revision: int  # 0: the first alert; N: the alert for revision N


@dataclass(frozen=True, slots=True)
class DigestRow:
    """One stored match, as the digest shows it."""

    match_id: int
    entry_id: int
    time: datetime
    rule: str
    hits: tuple[Hit, ...]
    title: str
    link: str | None
    feed_name: str
    summary: str
    story_id: int | None = None
    sources: tuple[str, ...] = ()  # every feed that reported the story, this one first
    feed_url: str = ""
    revision: int = 0  # how many times the entry changed after it was first seen
    members: tuple[StoryMember, ...] = ()  # every entry of the story, first reported first
    deliveries: tuple[DeliveryMark, ...] = ()
    # The terms it matched on when it was made: an entry revised so that the rule no longer
    # matches keeps its match but has no evidence in the text it now holds.
    matched_terms: tuple[str, ...] = ()
    category: str | None = None  # the feed's
    changed_at: datetime | None = None  # when its latest change was seen, if it changed

    @property
    def terms(self) -> tuple[str, ...]:
        return distinct_terms(self.hits) or self.matched_terms


@dataclass(frozen=True, slots=True)
class StoredEntry:
    """An entry read back from the store, with where it came from."""

    entry_id: int
    entry: Entry
    feed_name: str
    feed_url: str
    time: datetime
    category: str | None = None  # the feed's


@dataclass(frozen=True, slots=True)
class Revision:
    """An earlier version of an entry: the text that revision ``number`` replaced."""

    number: int
    seen_at: datetime  # when it was replaced
    title: str
    summary: str


@dataclass(frozen=True, slots=True)
class SentRecord:
    """One delivery of a match, as ``watcher show`` lists it."""

    rule: str
    target: str
    revision: int
    status: str
    attempts: int
    sent_at: datetime | None
    last_error: str | None


@dataclass(frozen=True, slots=True)
class EntryDetail:
    """Everything known about one entry, for ``watcher show``."""

    entry_id: int
    entry: Entry
    feed_name: str
    feed_url: str
    first_seen: datetime
    revision: int
    pruned: bool
    revisions: tuple[Revision, ...]
    matches: tuple[tuple[Match, bool], ...]  # (match, silent)
    deliveries: tuple[SentRecord, ...]
    story_id: int | None
    story: tuple[StoredEntry, ...]  # the other entries of its story


# Deliveries that are not tried again until `watcher deliveries retry` re-queues them: their
# attempts ran out ("failed"), or their target left the config ("orphaned").
GAVE_UP = ("failed", "orphaned")


@dataclass(frozen=True, slots=True)
class DeliveryRow:
    """A delivery as ``watcher deliveries`` lists it."""

    delivery_id: int
    target: str
    status: str
    attempts: int
    next_attempt: datetime
    last_error: str | None
    rule: str
    entry_id: int
    title: str
    revision: int


@dataclass(frozen=True, slots=True)
class PruneReport:
    bodies: int  # entries whose summary and content were removed
    revisions: int
    bands: int  # near-duplicate index rows past the clustering window
    size_before: int | None  # database size in bytes, when it can be known
    size_after: int | None


@dataclass(frozen=True, slots=True)
class FeedStatus:
    """A feed's state as ``watcher feeds`` shows it."""

    url: str
    name: str
    configured: bool
    last_fetch: datetime | None
    last_status: str | None  # "ok", "not-modified", "failed"
    entries: int
    last_error: str | None
    warning: str | None
    guid_churn: int = 0
    failures: int = 0
    failing_since: datetime | None = None
    next_fetch: datetime | None = None
    paused: bool = False
    moved_to: str | None = None  # fetched here since three permanent redirects said so
    last_bytes: int | None = None  # the last body read, decompressed (None after a 304)
    last_duration_ms: int | None = None  # the last successful fetch took
    category: str | None = None

    def state(self, now: datetime) -> str:
        """paused, backing off (failed; waiting to retry), failing (failed; retry due), ok,
        not-modified, unchanged, or never fetched."""
        if self.paused:
            return "paused"
        if self.failures:
            waiting = self.next_fetch is not None and self.next_fetch > now
            return "backing off" if waiting else "failing"
        return self.last_status or "never fetched"


@dataclass(frozen=True, slots=True)
class WorkerRow:
    """A ``watcher run`` process sharing the database, as ``watcher status`` shows it."""

    worker_id: str
    host: str
    pid: int
    started: datetime
    heartbeat: datetime
    feeds_held: int  # feeds whose lease names it, lapsed or not (not yet taken over)

    def state(self, now: datetime, lease: timedelta) -> str:
        """ "alive" (heard from on time: a worker beats every third of a lease), "late" (a
        beat missed, its leases still hold) or "gone" (silent for a lease: its leases have
        lapsed and other workers take its feeds over)."""
        silent = now - self.heartbeat
        if silent >= lease:
            return "gone"
        return "late" if silent > lease / 2 else "alive"
