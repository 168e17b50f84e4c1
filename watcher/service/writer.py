"""The single writer: one thread writes; feeds that become ready while it is busy are written
together, in one transaction."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from concurrent.futures import Executor

from watcher.core.analysis import (
    ReadFeed,
)
from watcher.core.errors import FetchError, ParseError
from watcher.core.model import (
    FeedOutcome,
    FetchResult,
)
from watcher.core.settings import Feed

GROUP = 20  # feeds written per transaction at most


Job = tuple[Feed, FetchResult | FetchError, ReadFeed | ParseError | None]


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
