"""Plain data that crosses the boundaries between the core, the adapters and the CLI.

Everything here is immutable and free of I/O; times are timezone-aware UTC datetimes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta


@dataclass(frozen=True, slots=True)
class Entry:
    """One feed item, normalised to plain text (HTML stripped, entities decoded)."""

    key: str  # identity within its feed, see watcher.identity
    title: str
    link: str | None  # only http(s) links survive normalisation
    guid: str | None = None
    published: datetime | None = None
    updated: datetime | None = None
    summary: str = ""
    content: str = ""
    author: str = ""
    tags: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ParsedFeed:
    """What a feed document yielded."""

    title: str
    entries: tuple[Entry, ...]
    warning: str | None = None  # the document was malformed but entries could be read
    hint: timedelta | None = None  # how often the feed asks to be read (<ttl>, sy:update…)


@dataclass(frozen=True, slots=True)
class FetchResult:
    """A successful download, or a 304 (``body is None``)."""

    url: str
    status: int
    body: bytes | None
    etag: str | None = None
    last_modified: str | None = None
    content_type: str | None = None
    hint: timedelta | None = None  # how long the server says it stays fresh (max-age, Expires)
    # Where the feed was found when only permanent redirects (301, 308) led there.
    moved_to: str | None = None
    duration: float | None = None  # seconds, from sending the request to the last byte
    # The body's SHA-256: a server that ignores conditional requests and sends the same bytes
    # again is recognised by it. Worked out once, here: the cycle asks for it three times.
    body_hash: str | None = None

    def __post_init__(self) -> None:
        if self.body is not None and self.body_hash is None:
            object.__setattr__(self, "body_hash", hashlib.sha256(self.body).hexdigest())

    @property
    def not_modified(self) -> bool:
        return self.body is None


@dataclass(frozen=True, slots=True)
class QuietFetch:
    """A fetch that brought nothing new (a 304, or the same body again): only the feed's
    bookkeeping changes, so these are written many to a transaction."""

    url: str
    fetched: FetchResult
    at: datetime
    next_fetch: datetime | None


@dataclass(frozen=True, slots=True)
class Validators:
    """The server's own cache validators from the previous 200, sent back on the next GET."""

    etag: str | None = None
    last_modified: str | None = None
    body_hash: str | None = None  # of the last body read, to skip a body served again


@dataclass(frozen=True, slots=True)
class Hit:
    """Evidence: the query term (as written) found in a field, at these character offsets."""

    term: str
    field: str
    start: int
    end: int


def distinct_terms(hits: Iterable[Hit]) -> tuple[str, ...]:
    """The distinct terms of some evidence, in the order first found."""
    return tuple(dict.fromkeys(hit.term for hit in hits))


@dataclass(frozen=True, slots=True)
class Match:
    """A rule that matched an entry, with its evidence."""

    rule: str
    hits: tuple[Hit, ...] = ()

    @property
    def terms(self) -> tuple[str, ...]:
        return distinct_terms(self.hits)

    @property
    def fields(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(hit.field for hit in self.hits))


@dataclass(frozen=True, slots=True)
class Alert:
    """Everything a notifier needs to tell a person about one match."""

    delivery_id: int
    target: str
    rule: str
    hits: tuple[Hit, ...]
    entry: Entry
    feed_name: str
    feed_url: str
    attempts: int = 0  # delivery attempts made before this one
    revision: int = 0  # 0: a new match; N: revision N of the entry changed it
    previous: Entry | None = None  # the text revision N replaced, for the diff
    sources: tuple[str, ...] = ()  # the other feeds that reported its story so far

    @property
    def terms(self) -> tuple[str, ...]:
        return distinct_terms(self.hits)


@dataclass(frozen=True, slots=True)
class DigestQuery:
    """Which stored matches the digest shows (every filter optional; all must hold)."""

    since: datetime | None = None  # matched at or after
    until: datetime | None = None  # matched before
    rules: tuple[str, ...] = ()  # any of these rules
    feeds: tuple[str, ...] = ()  # from any of these feeds, by name or URL
    changed: bool = False  # only entries that changed after they were first seen
    limit: int | None = None


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
class FeedSchedule:
    """Where a feed stands between fetches."""

    next_fetch: datetime | None  # None: never fetched, or paused
    failures: int = 0  # in a row
    paused: bool = False  # a 410 Gone: only `watcher feeds resume` fetches it again
    # Read successfully at least once (so its first sight, a backlog, is behind it).
    read: bool = field(default=False, compare=False)
    hint: timedelta | None = field(default=None, compare=False)  # as the feed last asked
    redirect_to: str | None = field(default=None, compare=False)  # a permanent redirect seen…
    redirects_seen: int = field(default=0, compare=False)  # …on this many fetches in a row
    moved_to: str | None = field(default=None, compare=False)  # fetched there instead

    def held_back(self, now: datetime) -> bool:
        """Paused, or failing and not yet due again (backing off or told to wait)."""
        return self.paused or (
            self.failures > 0 and self.next_fetch is not None and self.next_fetch > now
        )


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
class FeedOutcome:
    """The result of one feed in one cycle."""

    url: str
    name: str
    status: str  # "ok", "not-modified", "failed"
    new_entries: int = 0
    new_matches: int = 0
    changed: int = 0
    error: str | None = None
    warning: str | None = None
    fetched_bytes: int | None = None  # the body, decompressed (None: a 304 or a failure)
    seconds: float | None = None  # the fetch, request to last byte
    rules: tuple[str, ...] = ()  # the rule of each match on a new entry

    @classmethod
    def of(cls, url: str, name: str, status: str, fetched: FetchResult) -> FeedOutcome:
        """A successful fetch's outcome, with its size and duration."""
        size = len(fetched.body) if fetched.body is not None else None
        return cls(url, name, status, fetched_bytes=size, seconds=fetched.duration)


@dataclass(frozen=True, slots=True)
class CycleReport:
    """The result of one cycle over some feeds."""

    outcomes: tuple[FeedOutcome, ...]
    delivered: int = 0
    delivery_failures: int = 0

    @property
    def failed(self) -> tuple[FeedOutcome, ...]:
        return tuple(o for o in self.outcomes if o.status == "failed")

    @property
    def new_entries(self) -> int:
        return sum(o.new_entries for o in self.outcomes)

    @property
    def new_matches(self) -> int:
        return sum(o.new_matches for o in self.outcomes)

    @property
    def changed(self) -> int:
        return sum(o.changed for o in self.outcomes)


@dataclass(frozen=True, slots=True)
class CycleRecord:
    """One daemon cycle as ``watcher status`` shows it."""

    started_at: datetime
    finished_at: datetime
    feeds: int
    ok: int  # fetched and read
    not_modified: int  # a 304
    failed: int
    new_entries: int
    changed: int
    new_matches: int
    unchanged: int = 0  # the same body as last time

    @classmethod
    def of(cls, report: CycleReport, started: datetime, finished: datetime) -> CycleRecord:
        statuses = [outcome.status for outcome in report.outcomes]
        return cls(
            started,
            finished,
            feeds=len(statuses),
            ok=statuses.count("ok"),
            not_modified=statuses.count("not-modified"),
            failed=statuses.count("failed"),
            new_entries=report.new_entries,
            changed=report.changed,
            new_matches=report.new_matches,
            unchanged=statuses.count("unchanged"),
        )


@dataclass(frozen=True, slots=True)
class WorkerRow:
    """A ``watcher run`` process sharing the database, as ``watcher status`` shows it."""

    worker_id: str
    host: str
    pid: int
    started: datetime
    heartbeat: datetime
    feeds_held: int
