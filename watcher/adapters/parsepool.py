"""Parsing off the event loop and on every core: parser processes of our own, each with a
memory limit, so that one large or hostile feed can neither stall the others nor take the
watcher down (feedparser needs about 4× the document in memory and 0.25 s per MB).

Why not ``ProcessPoolExecutor``: over a forkserver it kept three processes for one parser (the
fork server, the resource tracker and the parser, 42 MB of PSS against 30 MB for a lone
process) and two threads in the watcher; it cannot stop a job that runs too long; and its
``max_tasks_per_child`` deadlocks on Python 3.11 to 3.15.0b3 (cpython#115634). Here each
parser process is a plain child talking over its standard input and output, driven from the
event loop without a thread; one that overruns its time is killed and replaced."""

from __future__ import annotations

import asyncio
import contextlib
import os
import pickle
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from watcher.adapters.children import child_environment
from watcher.adapters.parseworker import HEADER, PRELOAD, frame
from watcher.core.errors import ParserGone
from watcher.core.matching.matcher import Matcher

__all__ = ["MEMORY_LIMIT", "PRELOAD", "ParsePool", "parse_pool"]

T = TypeVar("T")

MEMORY_LIMIT = 1024**3  # address space of one parser process
_START = "from watcher.adapters.parseworker import main; main()"


@dataclass(eq=False)  # each one a process: compared by identity
class _Worker:
    process: subprocess.Popen[bytes]
    replies: asyncio.StreamReader
    reading: asyncio.ReadTransport
    jobs: asyncio.WriteTransport
    loop: asyncio.AbstractEventLoop


class ParsePool:
    """Up to ``workers`` parser processes, started by ``warm`` or when first needed, each
    given the rules' matcher. ``run`` sends a job to an idle one; a job cancelled (by a
    timeout) kills its process, and a process that dies fails only the job it held."""

    def __init__(self, matcher: Matcher, workers: int, limit: int = MEMORY_LIMIT) -> None:
        self.matcher = matcher
        self.workers = workers
        self.limit = limit
        self._idle: list[_Worker] = []
        self._busy: set[_Worker] = set()
        self._started: list[subprocess.Popen[bytes]] = []  # by warm, not yet given a job
        self._slots: tuple[asyncio.AbstractEventLoop, asyncio.Semaphore] | None = None
        self._closed = False

    async def run(self, function: Callable[..., T], *args: Any) -> T:
        """``function(*args)`` in a parser process. Raises what it raised, or
        ParserGone when the process died under it."""
        if self._closed:
            raise RuntimeError("the parser pool is closed")
        loop = asyncio.get_running_loop()
        if self._slots is None or self._slots[0] is not loop:
            self._slots = (loop, asyncio.Semaphore(self.workers))
        async with self._slots[1]:
            worker = await self._take(loop)
            self._busy.add(worker)
            try:
                ok, value = await self._ask(worker, (function, args))
            except BaseException:
                # Killed by a timeout or dead: its reply, if any, would answer no one.
                self._busy.discard(worker)
                _end(worker)
                raise
            self._busy.discard(worker)
            self._idle.append(worker)
        if not ok:
            raise value
        return value  # type: ignore[no-any-return]

    def warm(self) -> None:
        """Start every process now: each imports its libraries (a third of a second) while
        the first feeds are fetched, not after the first document is in."""
        with contextlib.suppress(OSError):  # then the first job fails, with the reason
            while not self._closed and len(self.processes()) < self.workers:
                self._started.append(_start())

    def processes(self) -> list[int]:
        """The pids of the parser processes alive now."""
        workers = [*self._idle, *self._busy]
        return [p.pid for p in self._started] + [w.process.pid for w in workers]

    def close(self) -> None:
        """End every parser process (they are idle between cycles) and reap it. Safe from
        any thread."""
        self._closed = True
        for worker in [*self._idle, *self._busy]:
            _end(worker)
        for process in self._started:
            _discard(process)
        self._idle.clear()
        self._busy.clear()
        self._started.clear()

    async def _take(self, loop: asyncio.AbstractEventLoop) -> _Worker:
        while self._idle:
            worker = self._idle.pop()
            if worker.loop is loop and worker.process.poll() is None:
                return worker
            _end(worker)  # died while idle, or made for a loop that is gone
        try:
            process = self._started.pop() if self._started else _start()
        except OSError as exc:  # out of processes, memory or descriptors: this job fails
            raise ParserGone(f"cannot start a parser process: {exc}") from None
        try:
            return await self._connect(loop, process)
        except BaseException:  # cancelled or refused while connecting: no orphan is left
            _discard(process)
            raise

    async def _connect(
        self, loop: asyncio.AbstractEventLoop, process: subprocess.Popen[bytes]
    ) -> _Worker:
        assert process.stdin is not None and process.stdout is not None
        replies = asyncio.StreamReader(limit=2**20)
        reading, _ = await loop.connect_read_pipe(
            lambda: asyncio.StreamReaderProtocol(replies), process.stdout
        )
        jobs, _ = await loop.connect_write_pipe(asyncio.BaseProtocol, process.stdin)
        worker = _Worker(process, replies, reading, jobs, loop)
        worker.jobs.write(frame((self.limit, self.matcher)))
        return worker

    async def _ask(self, worker: _Worker, job: object) -> tuple[bool, Any]:
        worker.jobs.write(frame(job))
        try:
            header = await worker.replies.readexactly(HEADER.size)
            (size,) = HEADER.unpack(header)
            # A reply comes from our own child, through a pipe no one else holds.
            data = await worker.replies.readexactly(size)
            reply: tuple[bool, Any] = pickle.loads(data)  # noqa: S301
        except asyncio.IncompleteReadError:
            raise ParserGone("the parser process ended") from None
        return reply


def parse_pool(matcher: Matcher, workers: int | None = None) -> ParsePool:
    """Parser processes, as many as cores unless ``workers`` says otherwise."""
    return ParsePool(matcher, workers or os.cpu_count() or 2)


def _start() -> subprocess.Popen[bytes]:
    return subprocess.Popen(  # noqa: S603 (our own interpreter and module)
        [sys.executable, "-c", _START],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        env=child_environment(),
    )


def _end(worker: _Worker) -> None:
    """Stop a parser process now and reap it. Its pipes are closed by their loop (this may
    be called from another thread); with the loop gone, here."""
    _stop(worker.process)
    if not worker.loop.is_closed():
        with contextlib.suppress(RuntimeError):  # closed meanwhile
            worker.loop.call_soon_threadsafe(_close_pipes, worker)
            return
    _close_files(worker.process)


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.kill()
    # Killed yet stuck in the kernel past the wait: subprocess reaps it later.
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(5.0)


def _close_pipes(worker: _Worker) -> None:
    worker.jobs.close()
    worker.reading.close()


def _discard(process: subprocess.Popen[bytes]) -> None:
    """Stop a process whose pipes no transport holds, and close them."""
    _stop(process)
    _close_files(process)


def _close_files(process: subprocess.Popen[bytes]) -> None:
    for pipe in (process.stdin, process.stdout):
        if pipe is not None:
            pipe.close()
