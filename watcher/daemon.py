"""The long-running loop: each feed on its own interval, deliveries retried as they fall due,
SIGINT/SIGTERM to stop cleanly (in-flight fetches are cancelled; writes in progress finish)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Awaitable, Sequence
from datetime import datetime, timedelta

from watcher.app import App
from watcher.config import Feed
from watcher.model import CycleReport
from watcher.schedule import due_feeds, next_wakeup
from watcher.service import Service

log = logging.getLogger(__name__)
MAX_SLEEP = timedelta(seconds=60)  # wake at least this often to retry due deliveries
PRUNE_EVERY = timedelta(days=1)


def held_back(app: App) -> list[Feed]:
    """The feeds ``run --once`` leaves alone: paused, or backing off after failures (or told
    by the server to wait)."""
    schedules = app.store.schedules()
    now = app.clock()
    return [
        feed
        for feed in app.config.feeds
        if feed.url in schedules and schedules[feed.url].held_back(now)
    ]


async def run_once(app: App, skip: Sequence[Feed] = ()) -> CycleReport:
    """One cycle over every configured feed but ``skip``, ignoring intervals, then deliver."""
    skipped = {feed.url for feed in skip}
    feeds = [feed for feed in app.config.feeds if feed.url not in skipped]
    async with app.fetcher() as fetcher:
        return await app.service(fetcher).run_cycle(feeds)


async def run_forever(app: App, stop: asyncio.Event | None = None) -> None:
    """Poll until ``stop`` is set (by SIGINT or SIGTERM when not given)."""
    stop = stop or _stop_on_signals()
    log.info(
        "watching %d feeds with %d rules; config %s",
        len(app.config.feeds),
        len(app.config.rules),
        app.config.source,
    )
    last_prune: datetime | None = None
    async with app.fetcher() as fetcher:
        service = app.service(fetcher)
        wake_delivery = asyncio.Event()
        delivery = asyncio.create_task(_deliver_forever(service, wake_delivery, stop))
        while not stop.is_set():
            started = app.clock()
            if last_prune is None or started - last_prune >= PRUNE_EVERY:
                await asyncio.to_thread(_prune, app)
                last_prune = started
            next_due = _next_due(app)
            due = due_feeds(app.config.feeds, next_due, started)
            if due:
                if not await _unless_stopped(service.run_cycle(due, deliver=False), stop):
                    break
                _log_cycle(len(due), app.clock() - started)
                wake_delivery.set()
                next_due = _next_due(app)
            await _sleep_until_due(app, next_due, stop)
        service.halt.set()  # senders stop between two messages; the one in flight is recorded
        await delivery
    log.info("stopped")


async def _deliver_forever(service: Service, wake: asyncio.Event, stop: asyncio.Event) -> None:
    """Beside the polling loop: deliver what is due after each cycle, and retries as they fall
    due (checked at least every MAX_SLEEP)."""
    while not stop.is_set():
        wake.clear()  # before the pass: a cycle that ends during it wakes the next one
        try:
            await service.deliver_concurrently()
        except Exception:  # a bug here must not stop the polling; it is logged and retried
            log.exception("delivery pass failed")
        waiting = [asyncio.ensure_future(wake.wait()), asyncio.ensure_future(stop.wait())]
        await asyncio.wait(
            waiting, timeout=MAX_SLEEP.total_seconds(), return_when=asyncio.FIRST_COMPLETED
        )
        for waiter in waiting:
            waiter.cancel()


async def _unless_stopped(work: Awaitable[object], stop: asyncio.Event) -> bool:
    """Run ``work`` to completion unless ``stop`` is set first; False when stopped."""
    task = asyncio.ensure_future(work)
    stopper = asyncio.ensure_future(stop.wait())
    await asyncio.wait({task, stopper}, return_when=asyncio.FIRST_COMPLETED)
    stopper.cancel()
    if task.done():
        task.result()  # a bug in a cycle propagates
        return True
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    return False


def _next_due(app: App) -> dict[str, datetime | None]:
    """Each fetched feed's next fetch (None: paused), as the database has it."""
    return {
        url: None if state.paused else (state.next_fetch or app.clock())
        for url, state in app.store.schedules().items()
    }


async def _sleep_until_due(
    app: App, next_due: dict[str, datetime | None], stop: asyncio.Event
) -> None:
    now = app.clock()
    wake = next_wakeup(app.config.feeds, next_due, now) or now + MAX_SLEEP
    delay = min(max(wake - now, timedelta(seconds=1)), MAX_SLEEP)
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=delay.total_seconds())


def _prune(app: App) -> None:
    config = app.config
    report = app.store.prune(app.clock(), config.retention, config.cluster_window)
    log.info(
        "pruned %d entry bodies, %d revisions, %d near-duplicate index rows; "
        "database %s bytes before, %s after",
        report.bodies,
        report.revisions,
        report.bands,
        report.size_before,
        report.size_after,
    )


def _stop_on_signals() -> asyncio.Event:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, _request_stop, stop, sig)
    return stop


def _request_stop(stop: asyncio.Event, sig: signal.Signals) -> None:
    log.info("received %s, stopping", sig.name)
    stop.set()


def _log_cycle(count: int, took: timedelta) -> None:
    log.info("cycle over %d feeds took %.1fs", count, took.total_seconds())
