"""Which feeds a pass fetches, and when the next pass comes: one interface, two strategies.

A single process (SQLite, or one worker) reads every feed's schedule and picks the due ones.
Several workers sharing PostgreSQL lease the due feeds instead, so that each feed is fetched
by one of them, and hand the leases back once the cycle is written.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from watcher.app import App
from watcher.core.schedule import due_feeds, next_wakeup
from watcher.core.settings import Config, Feed


class Scheduling(Protocol):
    async def due(self, feeds: Sequence[Feed], now: datetime) -> list[Feed]:
        """The feeds this pass fetches, of those watched."""
        ...

    async def release(self, due: Sequence[Feed]) -> None:
        """The pass is over for ``due`` (fetched and written, or stopped)."""
        ...

    def more_due(self, due: Sequence[Feed]) -> bool:
        """Whether more feeds may already be due after this pass: then the next comes at once."""
        ...

    def next_wakeup(self, feeds: Sequence[Feed], cycled: bool) -> datetime | None:
        """When the next feed falls due (``cycled``: the pass moved feeds' schedules)."""
        ...


def scheduling_for(app: App, worker: str) -> Scheduling:
    """Leased workers on a shared database, else a single process."""
    return LeasedWorkers(app, worker) if app.store.cooperative else OneProcess(app)


class OneProcess:
    """Reads every feed's schedule: it needs them to pick the due feeds, and they still hold
    for the next wake-up when no cycle ran."""

    def __init__(self, app: App) -> None:
        self.app = app
        self._next_due: dict[str, datetime | None] | None = None

    async def due(self, feeds: Sequence[Feed], now: datetime) -> list[Feed]:
        self._next_due = await asyncio.to_thread(self._read_next_due)
        return due_feeds(feeds, self._next_due, now)

    async def release(self, due: Sequence[Feed]) -> None:
        return None

    def more_due(self, due: Sequence[Feed]) -> bool:
        return False

    def next_wakeup(self, feeds: Sequence[Feed], cycled: bool) -> datetime | None:
        next_due = self._next_due if self._next_due is not None and not cycled else None
        return next_wakeup(
            feeds, self._read_next_due() if next_due is None else next_due, self.app.clock()
        )

    def _read_next_due(self) -> dict[str, datetime | None]:
        """Each fetched feed's next fetch (None: paused), as the database has it."""
        return {
            url: None if state.paused else (state.next_fetch or self.app.clock())
            for url, state in self.app.store.feeds.schedules().items()
        }


class LeasedWorkers:
    """Claims a batch of due feeds no other worker holds, and asks the database for the one
    soonest feed (one row, however many feeds) to know when to wake."""

    def __init__(self, app: App, worker: str) -> None:
        self.app = app
        self.worker = worker

    async def due(self, feeds: Sequence[Feed], now: datetime) -> list[Feed]:
        """Lease the next due feeds to this worker; feeds this worker's config does not know
        (another worker has a newer config) are handed back at once."""
        coordination = self.app.store.coordination
        limit = claim_batch(self.app.config)
        urls = await asyncio.to_thread(coordination.claim_feeds, self.worker, now, limit)
        known = {feed.url: feed for feed in feeds}
        strays = [url for url in urls if url not in known]
        if strays:
            await asyncio.to_thread(coordination.release_feeds, self.worker, strays)
        return [known[url] for url in urls if url in known]

    async def release(self, due: Sequence[Feed]) -> None:
        urls = [feed.url for feed in due]
        await asyncio.to_thread(self.app.store.coordination.release_feeds, self.worker, urls)

    def more_due(self, due: Sequence[Feed]) -> bool:
        return len(due) == claim_batch(self.app.config)  # a full batch: more may be due

    def next_wakeup(self, feeds: Sequence[Feed], cycled: bool) -> datetime | None:
        return self.app.store.coordination.next_due_at(self.app.clock())


def claim_batch(config: Config) -> int:
    """Feeds claimed at a time by one worker: enough to keep its fetches busy, few enough that
    the other workers get their share of a round."""
    return max(100, 10 * config.concurrency)
