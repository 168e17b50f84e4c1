"""What the service needs from the outside world, as Protocols the adapters satisfy."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from watcher.model import Alert, Entry, FetchResult, Match, Validators

Clock = Callable[[], datetime]


@dataclass(frozen=True, slots=True)
class NewItem:
    """An entry not seen before in its feed, with the rules it matched."""

    entry: Entry
    matches: tuple[Match, ...]


@dataclass(frozen=True, slots=True)
class SaveCounts:
    new_entries: int
    new_matches: int


class Fetcher(Protocol):
    async def fetch(self, url: str, validators: Validators | None) -> FetchResult:
        """Download a feed; raise FetchError for anything but a 200 or a 304."""
        ...


class Store(Protocol):
    def validators(self, urls: Sequence[str]) -> dict[str, Validators]: ...

    def unseen_keys(self, url: str, keys: Sequence[str]) -> set[str]: ...

    def save_success(
        self,
        url: str,
        fetched: FetchResult,
        title: str,
        warning: str | None,
        items: Sequence[NewItem],
        targets: Mapping[str, Sequence[str]],
        now: datetime,
    ) -> SaveCounts:
        """In one transaction: the feed's new state, its new entries, their matches, and one
        pending delivery per match and target (``targets`` maps rule name to target names)."""
        ...

    def save_not_modified(self, url: str, now: datetime) -> None: ...

    def save_failure(
        self, url: str, reason: str, http_status: int | None, now: datetime
    ) -> None: ...

    def due_alerts(
        self, now: datetime, limit: int, exclude_targets: Sequence[str] = ()
    ) -> list[Alert]: ...

    def mark_sent(self, delivery_id: int, now: datetime) -> None: ...

    def mark_failed_attempt(
        self, delivery_id: int, reason: str, retry_at: datetime | None, now: datetime
    ) -> None:
        """Record a failed attempt; ``retry_at=None`` means it was the last one."""
        ...


class Notifier(Protocol):
    def send(self, alert: Alert) -> None:
        """Deliver one alert; raise DeliveryError when the target did not accept it."""
        ...

    def send_message(self, title: str, body: str) -> None:
        """Deliver a message that is not about an entry (a test, a summary)."""
        ...
