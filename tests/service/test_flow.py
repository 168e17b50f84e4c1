"""The flow of a cycle's feeds (``watcher.service.flow``): every feed worked once, in the
places they were given; more asked for while fetches are under way, never after a halt; a
slow feed holding up none of those that come after it."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence
from datetime import timedelta

from watcher.core.settings import Feed
from watcher.service.flow import Flow


def feeds(*names: str) -> list[Feed]:
    return [Feed(f"https://{name}.example/rss", name, timedelta(minutes=15)) for name in names]


def test_without_more_every_feed_is_worked_once_in_its_place() -> None:
    """No source of more: the feeds given, each once, with their places, all at once when
    there are runners enough."""
    worked: list[tuple[int, str | None]] = []
    running = 0
    most = 0

    async def work(place: int, feed: Feed) -> None:
        nonlocal running, most
        running += 1
        most = max(most, running)
        await asyncio.sleep(0.01)
        worked.append((place, feed.name))
        running -= 1

    given = feeds("a", "b", "c")
    asyncio.run(Flow(given, None, threading.Event(), in_hand=2).run(40, work))
    assert sorted(worked) == [(0, "a"), (1, "b"), (2, "c")]
    assert most == 3


def test_a_slow_feed_holds_up_none_of_those_claimed_after_it() -> None:
    """The first feed takes a while; the source gives two more, then none: those two are
    done long before the slow one, and the flow ends when it is."""
    finished: list[str | None] = []
    answers = [feeds("b", "c"), []]
    asked = 0

    async def more() -> Sequence[Feed]:
        nonlocal asked
        asked += 1
        return answers.pop(0) if answers else []

    async def work(place: int, feed: Feed) -> None:
        await asyncio.sleep(0.5 if feed.name == "a" else 0.01)
        finished.append(feed.name)

    asyncio.run(Flow(feeds("a"), more, threading.Event(), in_hand=4).run(8, work))
    assert finished == ["b", "c", "a"]
    assert asked >= 2  # asked again after "b" and "c", while "a" was still in flight


def test_a_halt_asks_for_no_more() -> None:
    """Once halted, the source is not asked again; what is in hand still runs to its end."""
    halt = threading.Event()
    asked = 0

    async def more() -> Sequence[Feed]:
        nonlocal asked
        asked += 1
        halt.set()
        return feeds(f"more{asked}")

    worked: list[str | None] = []

    async def work(place: int, feed: Feed) -> None:
        worked.append(feed.name)

    asyncio.run(Flow(feeds("a"), more, halt, in_hand=4).run(4, work))
    assert asked == 1
    assert sorted(worked, key=str) == ["a", "more1"]
