"""Which feeds a pass fetches, and when the next pass comes: one interface, two strategies.

A single process (SQLite, or one worker) reads every feed's schedule and picks the due ones.
Several workers sharing PostgreSQL lease the due feeds instead, so that each feed is fetched
by one of them: a few at a time, more as the fetches in hand get under way (a steady flow, so
that a slow feed holds up no other), each lease ending when its feed's result is written.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Protocol

from watcher.app import App
from watcher.core.schedule import due_feeds, next_wakeup
from watcher.core.settings import Config, Feed
from watcher.ports import MoreFeeds


class Scheduling(Protocol):
    async def due(self, feeds: Sequence[Feed], now: datetime) -> list[Feed]:
        """The feeds this pass fetches, of those watched."""
        ...

    async def release(self, due: Sequence[Feed]) -> None:
        """The pass is over for ``due`` (fetched and written, or stopped)."""
        ...

    def flow(self, now: datetime) -> MoreFeeds | None:
        """Where the pass's cycle gets more feeds once ``due`` are under way (None: nowhere)."""
        ...

    def more_due(self, due: Sequence[Feed]) -> bool:
        """Whether more feeds may already be due after this pass: then the next comes at once."""
        ...

    def next_wakeup(self, feeds: Sequence[Feed], cycled: bool) -> datetime | None:
        """When the next feed falls due (``cycled``: the pass moved feeds' schedules)."""
        ...


FLOW_FOR = timedelta(minutes=1)  # a pass claims feeds for this long at most


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

    def flow(self, now: datetime) -> MoreFeeds | None:
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
    """Claims due feeds no other worker holds, a few at a time as the cycle asks for them,
    and asks the database for the one soonest feed (one row, however many feeds) to know
    when to wake."""

    def __init__(self, app: App, worker: str) -> None:
        self.app = app
        self.worker = worker
        self._known: dict[str, Feed] = {}
        self._claimed: list[str] = []
        self._cut_short = False

    async def due(self, feeds: Sequence[Feed], now: datetime) -> list[Feed]:
        """Lease the first due feeds to this worker."""
        self._known = {feed.url: feed for feed in feeds}
        self._claimed = []
        self._cut_short = False
        return await self._claim(now)

    def flow(self, now: datetime) -> MoreFeeds | None:
        async def more() -> list[Feed]:
            # A pass's flow lasts a while, then ends (once its fetches in flight are done)
            # so that the pass is reported, and the next one starts at once.
            if self.app.clock() - now >= FLOW_FOR:
                self._cut_short = True
                return []
            return await self._claim(self.app.clock())

        return more

    async def _claim(self, due_by: datetime) -> list[Feed]:
        """Lease the next due feeds; feeds this worker's config does not know (another worker
        has a newer config) are handed back at once."""
        coordination = self.app.store.coordination
        limit = claim_batch(self.app.config)
        while True:
            urls = await asyncio.to_thread(
                coordination.claim_feeds, self.worker, self.app.clock(), limit, due_by
            )
            self._claimed += urls
            strays = [url for url in urls if url not in self._known]
            if strays:
                await asyncio.to_thread(coordination.release_feeds, self.worker, strays)
            if len(strays) < len(urls) or not urls:  # none known: the flow would end
                return [self._known[url] for url in urls if url in self._known]

    async def release(self, due: Sequence[Feed]) -> None:
        """Leases not ended by a recorded result (a stop, a failed cycle) end here."""
        coordination = self.app.store.coordination
        await asyncio.to_thread(coordination.release_feeds, self.worker, self._claimed)

    def more_due(self, due: Sequence[Feed]) -> bool:
        return self._cut_short

    def next_wakeup(self, feeds: Sequence[Feed], cycled: bool) -> datetime | None:
        return self.app.store.coordination.next_due_at(self.app.clock())


def claim_batch(config: Config) -> int:
    """Feeds claimed at a time by one worker: as many as it fetches at once, so that those in
    hand are always under way and the other workers get their share of a round."""
    return config.concurrency
