"""What the service and the daemon need from the outside world, as Protocols the adapters
satisfy: one for each consumer, so that each sees only what it uses."""

from __future__ import annotations

import threading
from collections.abc import Awaitable, Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol, TypeVar

from watcher.core.model import (
    Alert,
    Clustering,
    CycleReport,
    Delivering,
    DeliveryReport,
    FeedSave,
    FeedSchedule,
    FetchResult,
    KnownEntry,
    NewItem,
    QuietFetch,
    SaveCounts,
    SeenAgain,
    Validators,
)
from watcher.core.settings import NO_ACCESS, Access, Feed
from watcher.core.views import DigestQuery, DigestRow

Clock = Callable[[], datetime]
T = TypeVar("T")


class Fetcher(Protocol):
    async def fetch(
        self, url: str, validators: Validators | None, access: Access = NO_ACCESS
    ) -> FetchResult:
        """Download a feed (with the headers and through the proxy ``access`` names); raise
        FetchError for anything but a 200 or a 304."""
        ...


class FeedLedger(Protocol):
    """Where each feed stands between fetches, and what a fetch without entries brought."""

    def validators(self, urls: Sequence[str]) -> dict[str, Validators]: ...

    def save_redirect(
        self, url: str, redirect_to: str | None, seen: int, moved_to: str | None
    ) -> None: ...

    def save_quiet(self, fetches: Sequence[QuietFetch]) -> None:
        """Fetches that brought nothing new: a 304, or a 200 with the last body again."""
        ...

    def save_failure(
        self,
        url: str,
        reason: str,
        http_status: int | None,
        now: datetime,
        next_fetch: datetime | None = None,
        paused: bool = False,
    ) -> None:
        """Count a failure; try again at ``next_fetch`` (``paused``: only when resumed)."""
        ...

    def schedules(self, urls: Sequence[str] | None = None) -> dict[str, FeedSchedule]:
        """Where each fetched feed (of ``urls``, when given) stands between fetches."""
        ...


class Entries(Protocol):
    """Which stored entry an incoming one is, and storing what a fetch brought."""

    def known(self, url: str, keys: Sequence[Sequence[str]]) -> list[KnownEntry | None]:
        """For each incoming entry's keys, the stored entry of this feed any of them names."""
        ...

    def save_success(
        self,
        url: str,
        fetched: FetchResult,
        title: str,
        warning: str | None,
        items: Sequence[NewItem],
        again: Sequence[SeenAgain],
        delivering: Delivering,
        clustering: Clustering | None,
        now: datetime,
        next_fetch: datetime | None = None,
        hint: timedelta | None = None,
    ) -> SaveCounts:
        """In one transaction: the feed's new state; its new entries with their keys, stories
        and matches; the new versions of known entries; and one pending delivery per match (or
        change) and target, except for stories that already notified for the rule."""
        ...

    def save_successes(
        self, saves: Sequence[FeedSave], delivering: Delivering, clustering: Clustering | None
    ) -> list[SaveCounts]:
        """``save_success`` for several fetches in one transaction, with one statement per
        table for all of them; their counts in the same order."""
        ...


class Outbox(Protocol):
    """The deliveries due, and what became of each."""

    def due_targets(self, now: datetime) -> list[str]:
        """The targets with deliveries due."""
        ...

    def due_alerts(
        self,
        now: datetime,
        limit: int,
        target: str | None = None,
        after: int = 0,
        claim: bool = True,
    ) -> list[Alert]:
        """Due deliveries, oldest first (of one target, when given; ids above ``after``),
        claimed for this process when several share the store (unless not ``claim``)."""
        ...

    def mark_sent(self, delivery_id: int, now: datetime) -> None: ...

    def target_sent(self, target: str) -> datetime | None:
        """When a batch or digest target last sent."""
        ...

    def set_target_sent(self, target: str, when: datetime) -> None: ...

    def mark_failed_attempt(
        self, delivery_id: int, reason: str, retry_at: datetime | None, now: datetime
    ) -> None:
        """Record a failed attempt; ``retry_at=None`` means it was the last one."""
        ...


class Jobs(Protocol):
    """Jobs only one worker does at a time."""

    def exclusive(self, name: str) -> AbstractContextManager[bool]:
        """Whether this process may do the job ``name`` now (no other worker is doing it)."""
        ...


class Store(Protocol):
    """What the service uses of the store: its parts, each through the port it needs, and a
    transaction that a thread's writes share."""

    @property
    def feeds(self) -> FeedLedger: ...

    @property
    def entries(self) -> Entries: ...

    @property
    def outbox(self) -> Outbox: ...

    @property
    def coordination(self) -> Jobs: ...

    def together(self) -> AbstractContextManager[None]:
        """Writes inside share one transaction (see SqlStore.together)."""
        ...


class ParsePool(Protocol):
    """Processes that parse documents beside this one."""

    async def run(self, function: Callable[..., T], *args: Any) -> T:
        """``function(*args)`` in one of the processes; raises what it raised, or
        ParserGone when the process died under it."""
        ...

    def warm(self) -> None:
        """Start the processes now, so that the first document finds one ready."""
        ...

    def close(self) -> None: ...


class Notifier(Protocol):
    def send(self, alert: Alert) -> None:
        """Deliver one alert; raise DeliveryError when the target did not accept it."""
        ...

    def render(self, alert: Alert) -> tuple[str, str]:
        """The title and body ``send`` would deliver for ``alert``."""
        ...

    def send_summary(self, alerts: Sequence[Alert]) -> None:
        """Deliver one message listing several alerts (instead of a burst, or a batch)."""
        ...

    def send_digest(self, alerts: Sequence[Alert]) -> None:
        """Deliver a scheduled digest: the alerts grouped by rule (possibly none)."""
        ...

    def send_message(self, title: str, body: str) -> None:
        """Deliver a message that is not about an entry (a test)."""
        ...


class Supervisor(Protocol):
    """What runs the daemon and wants to hear from it (systemd's sd_notify); silent when
    nothing listens."""

    watchdog: float | None  # seconds between the heartbeats it expects; None: none

    @property
    def enabled(self) -> bool: ...

    def ready(self, status: str | None = None) -> None: ...

    def status(self, text: str) -> None: ...

    def reloading(self) -> None: ...

    def stopping(self) -> None: ...

    def heartbeat(self) -> None: ...

    def close(self) -> None: ...


class MetricsSink(Protocol):
    """Counts the daemon reports as it goes (exported on ``/metrics``)."""

    def cycle_done(self, report: CycleReport, seconds: float) -> None: ...

    def delivered(self, by_target: Mapping[str, tuple[int, int]]) -> None: ...


class Listening(Protocol):
    """The daemon's HTTP listener, serving until closed."""

    def close(self) -> None: ...


# Asked for further feeds by a cycle whose feeds are all under way (none: the cycle ends).
MoreFeeds = Callable[[], Awaitable[Sequence[Feed]]]


class Cycles(Protocol):
    """What the daemon drives: cycles over the due feeds and delivery passes. ``halt`` set:
    no fetch starts and senders stop after the message in hand; ``on_progress`` is called
    after each feed's outcome."""

    halt: threading.Event
    on_progress: Callable[[], None] | None

    async def run_cycle(
        self, feeds: Sequence[Feed], deliver: bool = True, more: MoreFeeds | None = None
    ) -> CycleReport: ...

    async def deliver_concurrently(self) -> DeliveryReport: ...

    def close(self) -> None: ...


class StoryReports(Protocol):
    """What the listener's pages and feeds read: the digest's stories, and when each was
    matched (for trends)."""

    def digest(self, wanted: DigestQuery) -> list[DigestRow]: ...

    def match_times(self, wanted: DigestQuery) -> list[tuple[str, datetime]]: ...


@dataclass(frozen=True, slots=True)
class WebRequest:
    """A request to the listener, as the site sees it: names of headers in lower case, each
    query parameter's first value."""

    method: str
    path: str
    query: Mapping[str, str]
    headers: Mapping[str, str]
    client: str  # the peer's address


@dataclass(frozen=True, slots=True)
class WebResponse:
    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes = b""


Site = Callable[[WebRequest], WebResponse]
