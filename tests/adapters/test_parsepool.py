"""The parser processes: plain children of the watcher, driven from its event loop, each one
limited in memory; one that overruns or dies costs only its own job."""

from __future__ import annotations

import asyncio
import gc
import os
import resource
import signal
import threading
import time

import pytest

from watcher.adapters.parsepool import ParsePool
from watcher.core.errors import ParseError, ParserGone
from watcher.core.matching.matcher import Matcher


def pid_and_limit() -> tuple[int, int]:
    return os.getpid(), resource.getrlimit(resource.RLIMIT_AS)[0]


def collector() -> tuple[bool, int]:
    return gc.isenabled(), gc.get_freeze_count()


def chatty(value: str) -> str:
    print("a library that prints to standard output", flush=True)
    os.write(1, b"\x00\x00\x00\x00\x00\x00\x00\x05junk")  # even in the reply framing's shape
    return value


def refuse(url: str) -> None:
    raise ParseError(url, "not a feed")


def sleep_then(seconds: float, value: str) -> str:
    time.sleep(seconds)
    return value


def die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def alive(pid: int) -> bool:
    """Whether ``pid`` exists, a zombie included (a zombie is a process nobody reaped)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def pool(workers: int = 1) -> ParsePool:
    return ParsePool(Matcher(()), workers, limit=768 * 1024**2)


def test_a_job_runs_in_a_child_limited_in_memory_and_answers_through_any_printing() -> None:
    """A job runs in another process under the memory limit, and what a library prints to
    standard output there (even bytes shaped like a reply) does not corrupt the reply."""
    parsers = pool()

    async def run() -> tuple[tuple[int, int], str]:
        try:
            return await parsers.run(pid_and_limit), await parsers.run(chatty, "kept")
        finally:
            parsers.close()

    (pid, limit), said = asyncio.run(run())
    assert pid != os.getpid()
    assert limit == 768 * 1024**2
    assert said == "kept"


def test_a_parser_process_freezes_what_it_imported_and_collects_the_rest() -> None:
    """Its libraries' objects are set aside from the cyclic collector, which is on for the
    jobs."""
    parsers = pool()

    async def run() -> tuple[bool, int]:
        try:
            return await parsers.run(collector)
        finally:
            parsers.close()

    enabled, frozen = asyncio.run(run())
    assert enabled and frozen > 10_000


def test_the_jobs_own_exception_comes_back_and_the_process_stays() -> None:
    """A job's exception is raised to the caller and the process serves the next job."""
    parsers = pool()

    async def run() -> tuple[int, int]:
        first, _ = await parsers.run(pid_and_limit)
        with pytest.raises(ParseError, match="not a feed"):
            await parsers.run(refuse, "http://x/")
        second, _ = await parsers.run(pid_and_limit)
        parsers.close()
        return first, second

    first, second = asyncio.run(run())
    assert first == second


def test_a_job_that_overruns_is_killed_with_its_process_and_the_next_gets_a_new_one() -> None:
    """A job cancelled by a timeout is not left running: its process is killed and reaped,
    and the next job gets a new one."""
    parsers = pool()

    async def run() -> tuple[int, int]:
        before, _ = await parsers.run(pid_and_limit)
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.5):
                await parsers.run(sleep_then, 30, "never")
        after, _ = await parsers.run(pid_and_limit)
        parsers.close()
        return before, after

    started = time.monotonic()
    before, after = asyncio.run(run())
    assert time.monotonic() - started < 15  # not the 30 s the job wanted
    assert not alive(before)  # killed and reaped
    assert after != before


def test_a_process_that_dies_fails_its_own_job_only() -> None:
    """A process that dies fails the job it held (ParserGone), not the job running
    beside it, and the pool goes on with a new process."""
    parsers = pool(workers=2)

    async def run() -> list[object]:
        results: list[object] = list(
            await asyncio.gather(
                parsers.run(die), parsers.run(sleep_then, 0.5, "done"), return_exceptions=True
            )
        )
        results.append(await parsers.run(sleep_then, 0, "again"))
        parsers.close()
        return results

    died, done, again = asyncio.run(run())
    assert isinstance(died, ParserGone)
    assert done == "done"
    assert again == "again"


def test_closing_ends_and_reaps_every_process_and_the_pool_adds_no_thread() -> None:
    """No more processes than workers, no thread in the watcher for them, and after close
    none is left, not even as a zombie; a closed pool refuses jobs."""
    parsers = pool(workers=2)
    threads = threading.active_count()

    async def run() -> tuple[list[str], list[int]]:
        done = await asyncio.gather(*[parsers.run(sleep_then, 0.3, str(n)) for n in range(4)])
        assert threading.active_count() == threads
        pids = parsers.processes()
        parsers.close()
        with pytest.raises(RuntimeError, match="closed"):
            await parsers.run(pid_and_limit)
        return done, pids

    done, pids = asyncio.run(run())
    assert done == ["0", "1", "2", "3"]
    assert len(pids) == 2  # two at a time: no more processes than workers
    assert not any(alive(pid) for pid in pids)


def test_a_process_that_cannot_start_fails_the_job_with_the_reason(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """No interpreter to start (as when out of processes or descriptors): warming says
    nothing, and the job fails as a broken pool naming the reason, not as a crash."""
    monkeypatch.setattr("sys.executable", "/nonexistent/python")
    parsers = pool()
    parsers.warm()
    assert parsers.processes() == []
    with pytest.raises(ParserGone, match=r"cannot start a parser process: .*nonexistent"):
        asyncio.run(parsers.run(pid_and_limit))
    parsers.close()
