"""The single writer: one thread writes; feeds that become ready while it is busy are written
together, in one transaction; fetches that brought nothing are recorded in batches."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Callable, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass

from watcher.core.analysis import ReadFeed
from watcher.core.errors import FetchError, ParseError
from watcher.core.model import (
    FeedOutcome,
    FeedSave,
    FetchResult,
    ParsedFeed,
    QuietFetch,
    SaveCounts,
)
from watcher.core.settings import Feed
from watcher.core.triage import Triage

log = logging.getLogger("watcher.service")

GROUP = 20  # feeds written per transaction at most
_QUIET_BATCH = 500  # quiet fetches recorded per transaction


Job = tuple[Feed, FetchResult | FetchError, ReadFeed | ParseError | None]


@dataclass(frozen=True, slots=True)
class Sorted:
    """A feed's download read and sorted into new and known entries, waiting to be stored
    with the others of its batch."""

    feed: Feed
    parsed: ParsedFeed
    sorted: Triage
    save: FeedSave

    def outcome(self, counts: SaveCounts) -> FeedOutcome:
        """What became of the feed, once stored as ``counts`` says."""
        feed, parsed, fetched = self.feed, self.parsed, self.save.fetched
        if parsed.warning:
            log.info("feed %s: %s", feed.url, parsed.warning)
        if counts.churned:
            log.info("feed %s: %d entries came back under new guids", feed.url, counts.churned)
        log.debug(
            "feed %s: %d entries, %d new, %d changed, %d new matches",
            feed.url,
            len(parsed.entries),
            counts.new_entries,
            counts.changed,
            counts.new_matches,
        )
        outcome = FeedOutcome.of(feed.url, feed.name or parsed.title or feed.url, "ok", fetched)
        return dataclasses.replace(
            outcome,
            new_entries=counts.new_entries,
            new_matches=counts.new_matches,
            changed=counts.changed,
            warning=parsed.warning,
            rules=tuple(match.rule for item in self.sorted.new for match in item.matches),
        )


class GroupWriter:
    """One thread writes. Feeds that become ready while it is busy wait, and are then
    written together, in one transaction (up to GROUP at a time): a commit per feed was a
    tenth of a round where everything is new."""

    def __init__(
        self, thread: Executor, work: Callable[[Sequence[Job]], list[FeedOutcome]]
    ) -> None:
        self.thread = thread
        self.work = work
        self._waiting: list[tuple[Job, asyncio.Future[FeedOutcome]]] = []
        self._drain: asyncio.Task[None] | None = None

    async def write(self, job: Job) -> FeedOutcome:
        future: asyncio.Future[FeedOutcome] = asyncio.get_running_loop().create_future()
        self._waiting.append((job, future))
        if self._drain is None or self._drain.done():
            self._drain = asyncio.ensure_future(self._write_waiting())
        return await future

    async def _write_waiting(self) -> None:
        loop = asyncio.get_running_loop()
        while self._waiting:
            group, self._waiting = self._waiting[:GROUP], self._waiting[GROUP:]
            try:
                outcomes = await loop.run_in_executor(
                    self.thread, self.work, [job for job, _ in group]
                )
            except Exception as exc:  # a database error: every feed of the group shares it
                for _, future in group:
                    if not future.done():
                        future.set_exception(exc)
                continue
            for (_, future), outcome in zip(group, outcomes, strict=True):
                if not future.done():
                    future.set_result(outcome)


class QuietFetches:
    """Fetches that brought nothing new, held back to be recorded together, since most
    fetches are such (losing them in a crash costs only a refetch). They are taken on the
    event loop and recorded on the writer thread, which adds to them too but never while it
    records: taking them is the one step that must not race, and it is a swap."""

    def __init__(self, save: Callable[[Sequence[QuietFetch]], None]) -> None:
        self._save = save
        self._held: list[QuietFetch] = []

    def add(self, fetch: QuietFetch) -> None:
        self._held.append(fetch)

    def __bool__(self) -> bool:
        return bool(self._held)

    def taken(self) -> list[QuietFetch]:
        """Those held so far, no longer held."""
        taken, self._held = self._held, []
        return taken

    def record(self, fetches: Sequence[QuietFetch]) -> None:
        for start in range(0, len(fetches), _QUIET_BATCH):
            self._save(fetches[start : start + _QUIET_BATCH])
