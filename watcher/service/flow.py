"""The feeds of a cycle as its runners take them: those given at the start, then, when the
cycle has a source of more, further feeds as those in hand get under way.

A worker sharing a database claims a few due feeds at a time. Were it to claim a batch and
wait for the whole batch, one slow server would hold back every feed falling due meanwhile;
here the runners that finish go on with newly claimed feeds while the slow one takes its
time. The flow ends when nothing more is given and nothing is in flight."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Awaitable, Callable, Sequence

from watcher.core.settings import Feed
from watcher.ports import MoreFeeds

Work = Callable[[int, Feed], Awaitable[None]]
POLL = 1.0  # seconds between asking for more while feeds are in flight and none are due


class Flow:
    def __init__(
        self,
        feeds: Sequence[Feed],
        more: MoreFeeds | None,
        halt: threading.Event,
        in_hand: int,
    ) -> None:
        """More are asked for whenever fewer than ``in_hand`` feeds wait, and while feeds are
        in flight (then at least every ``POLL`` seconds); ``halt`` set: no more are."""
        self._queue: asyncio.Queue[Feed | None] = asyncio.Queue()
        for feed in feeds:
            self._queue.put_nowait(feed)
        self._taken = 0
        self._more = more
        self._halt = halt
        self._in_hand = in_hand
        self._busy = 0
        self._moved = asyncio.Event()  # a feed was taken or finished

    async def run(self, runners: int, work: Work) -> None:
        """``work`` on every feed of the flow (with its place in the flow, from 0), by
        ``runners`` tasks at a time (no more than the feeds, when no more will come)."""
        if self._more is None:
            runners = min(runners, self._queue.qsize())
        await asyncio.gather(self._feed(runners), *(self._run(work) for _ in range(runners)))

    async def _run(self, work: Work) -> None:
        while (feed := await self._queue.get()) is not None:
            self._busy += 1
            self._moved.set()
            place, self._taken = self._taken, self._taken + 1
            try:
                await work(place, feed)
            finally:
                self._busy -= 1
                self._moved.set()

    async def _feed(self, runners: int) -> None:
        try:
            while self._more is not None and not self._halt.is_set():
                if self._queue.qsize() >= self._in_hand:
                    await self._wait()
                    continue
                added = await self._more()
                if added:
                    for feed in added:
                        self._queue.put_nowait(feed)
                elif self._queue.empty() and not self._busy:
                    break
                else:  # none due now: ask again when a feed is done, or after a while
                    await self._wait(POLL)
        finally:
            for _ in range(runners):  # each runner ends when it takes one of these
                self._queue.put_nowait(None)

    async def _wait(self, timeout: float | None = None) -> None:
        self._moved.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._moved.wait(), timeout)
