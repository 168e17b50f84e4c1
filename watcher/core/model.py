"""Plain data that crosses the boundaries between the core, the adapters and the CLI.

Everything here is immutable and free of I/O; times are timezone-aware UTC datetimes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
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
class NewItem:
    """An entry not seen before in its feed: its keys, the rules it matched, and what places
    it in a story."""

    entry: Entry
    matches: tuple[Match, ...]
    keys: tuple[str, ...] = ()  # identity keys in this feed; the primary key when empty
    story_keys: tuple[str, ...] = ()
    bands: tuple[int, ...] = ()
    backlog: bool = False  # old news when first seen: stored and matched, not notified
    content_hash: str = ""  # watcher.identity.content_hash, when the caller has it


@dataclass(frozen=True, slots=True)
class KnownEntry:
    """A stored entry that an incoming one turned out to be."""

    entry_id: int
    keys: frozenset[str]  # every key it is stored under in this feed
    content_hash: str | None
    revision: int
    pruned: bool
    rules: frozenset[str]  # the rules it matched so far


@dataclass(frozen=True, slots=True)
class SeenAgain:
    """A known entry in this fetch that brings something: new keys (its guid churned) or a
    new version of its text (then the rules matching that version)."""

    entry_id: int
    new_keys: tuple[str, ...] = ()
    churned: bool = False
    changed: Entry | None = None
    matches: tuple[Match, ...] = ()
    content_hash: str = ""  # of ``changed``, when the caller has it


@dataclass(frozen=True, slots=True)
class Clustering:
    """How near-duplicates join a story: similarity threshold and time window."""

    threshold: float
    window: timedelta


@dataclass(frozen=True, slots=True)
class Delivering:
    """Who hears about what: targets per rule, and the rules that also notify on changes."""

    targets: Mapping[str, Sequence[str]]
    on_change: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class FeedSave:
    """What a successful fetch of a changed feed brought, to be stored: the feed's new state,
    its new entries and the known entries it brought again."""

    url: str
    fetched: FetchResult
    title: str
    warning: str | None
    items: Sequence[NewItem]
    again: Sequence[SeenAgain]
    at: datetime
    next_fetch: datetime | None = None
    hint: timedelta | None = None

    @property
    def churned(self) -> int:
        """Known entries that came back under new guids."""
        return sum(1 for item in self.again if item.churned)


@dataclass(frozen=True, slots=True)
class SaveCounts:
    new_entries: int
    new_matches: int
    changed: int = 0
    churned: int = 0


@dataclass(frozen=True, slots=True)
class DeliveryReport:
    """What a delivery pass sent and failed to send, in all and per target."""

    sent: int = 0
    failed: int = 0
    by_target: Mapping[str, tuple[int, int]] = field(default_factory=dict)  # (sent, failed)
