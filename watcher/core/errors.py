"""The errors feed-watcher raises on purpose.

    WatcherError
    ├── ConfigError        the config file is missing, unreadable or invalid (exit status 2)
    ├── FeedError          one feed could not be fetched or parsed; carries the feed URL
    │   ├── FetchError     network, HTTP status, deadline, size cap
    │   └── ParseError     the body is not a usable RSS/Atom document
    ├── DeliveryError      a notification target refused or failed; retried later
    └── StoreError         the database failed an operation (the driver's reason, first line)
        ├── StoreUnavailable   it cannot be reached, or stays locked: worth waiting out
        └── WriteConflict      another worker's transaction collided with ours; retried

A FeedError is an expected outcome: it becomes that feed's result and the cycle goes on.
Anything else that escapes a cycle is a bug and propagates.
"""

from __future__ import annotations


class WatcherError(Exception):
    """Base of every error feed-watcher raises on purpose."""


class ConfigError(WatcherError):
    """The configuration cannot be used; the message names the file, the key and the problem."""

    def __init__(self, source: str, problems: list[str]) -> None:
        self.source = source
        self.problems = problems
        super().__init__(self.__str__())

    def __str__(self) -> str:
        return "\n".join(f"{self.source}: {problem}" for problem in self.problems)


class FeedError(WatcherError):
    """A feed failed; ``reason`` is short and safe to show to the user."""

    def __init__(self, url: str, reason: str) -> None:
        self.url = url
        self.reason = reason
        super().__init__(f"{url}: {reason}")

    def __reduce__(self) -> tuple[type[FeedError], tuple[str, str]]:
        # Rebuilt from its fields, so that it survives the trip back from a parser process.
        return type(self), (self.url, self.reason)


class FetchError(FeedError):
    """The feed could not be downloaded; ``status`` is the HTTP status when there was one."""

    def __init__(
        self, url: str, reason: str, status: int | None = None, retry_after: str | None = None
    ) -> None:
        super().__init__(url, reason)
        self.status = status
        self.retry_after = retry_after  # the server's Retry-After header, as sent


class ParseError(FeedError):
    """The downloaded body is not a feed we can read."""


class DeliveryError(WatcherError):
    """A notification target did not accept a message; ``reason`` is free of secrets."""

    def __init__(self, target: str, reason: str) -> None:
        self.target = target
        self.reason = reason
        super().__init__(f"target {target!r}: {reason}")


class StoreError(WatcherError):
    """The database failed an operation; the message is the driver's reason, one line, with
    neither statement nor parameters. The SQL adapter raises these, never its library's own."""


class StoreUnavailable(StoreError):
    """The database cannot be reached, or stays locked past the busy timeout: the daemon
    waits it out rather than exit."""


class WriteConflict(StoreError):
    """The database gave up a transaction because another worker's collided with it (a
    deadlock or a serialization failure). Nothing of it was written; doing it again is safe."""


class DatabaseBusy(Exception):
    """Another process runs on this SQLite database; the message says which and what to do."""


class ParserGone(Exception):
    """The process parsing a document died under it (or could not be started): that feed
    fails, and the others go on."""
