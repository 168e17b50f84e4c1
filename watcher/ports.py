"""What the service needs from the outside world, as Protocols the adapters satisfy."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from datetime import datetime, timedelta
from typing import Protocol

from watcher.core.model import (
    Alert,
    Clustering,
    Delivering,
    FeedSchedule,
    FetchResult,
    KnownEntry,
    NewItem,
    QuietFetch,
    SaveCounts,
    SeenAgain,
    Validators,
)

Clock = Callable[[], datetime]


class Fetcher(Protocol):
    async def fetch(self, url: str, validators: Validators | None) -> FetchResult:
        """Download a feed; raise FetchError for anything but a 200 or a 304."""
        ...


class Store(Protocol):
    def validators(self, urls: Sequence[str]) -> dict[str, Validators]: ...

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

    def save_redirect(
        self, url: str, redirect_to: str | None, seen: int, moved_to: str | None
    ) -> None: ...

    def together(self) -> AbstractContextManager[None]:
        """Writes inside share one transaction (see SqlStore.together)."""
        ...

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

    def exclusive(self, name: str) -> AbstractContextManager[bool]:
        """Whether this process may do the job ``name`` now (no other worker is doing it)."""
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
