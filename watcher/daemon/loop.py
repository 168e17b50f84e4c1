"""The long-running loop: each feed on its own interval, deliveries retried as they fall due,
and the service's side of systemd.

- SIGTERM/SIGINT: no new fetch starts, fetches in flight get ``stop_timeout`` to finish (then
  are cancelled), what was read is written, and the process exits 0.
- SIGHUP: the config file is read again between cycles; an invalid one is logged and the old
  one kept.
- sd_notify: ``READY=1`` once the database is migrated, ``STATUS=`` after every pass,
  ``RELOADING=1``/``STOPPING=1``, and ``WATCHDOG=1`` only as the scheduler loop makes progress,
  so that a hung loop stops the heartbeat and systemd restarts the service.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

from watcher.app import App, listen, supervisor
from watcher.core.errors import ConfigError
from watcher.core.health import Health, Snapshot, status_line
from watcher.core.model import CycleRecord, CycleReport, DeliveryReport
from watcher.core.settings import Config, Feed
from watcher.daemon.lifecycle import (
    DATABASE_DOWN,
    MAX_SLEEP,
    Control,
    Heartbeat,
    Outage,
    Watch,
    any_set,
    control_by_signals,
    database_down,
    reason_of,
    sleep_until_due,
)
from watcher.daemon.scheduling import scheduling_for
from watcher.ports import Cycles, MoreFeeds, Supervisor

log = logging.getLogger("watcher.daemon")  # the name operators filter the journal by
PRUNE_EVERY = timedelta(days=1)
DELIVER_EVERY = 1.0  # seconds: during a cycle, deliveries are woken at most this often


def held_back(app: App) -> list[Feed]:
    """The feeds ``run --once`` leaves alone: paused, or backing off after failures (or told
    by the server to wait)."""
    schedules = app.store.feeds.schedules()
    now = app.clock()
    return [
        feed for feed in app.feeds() if feed.url in schedules and schedules[feed.url].held_back(now)
    ]


async def run_once(
    app: App,
    skip: Sequence[Feed] = (),
    on_progress: Callable[[], None] | None = None,
    on_leased: Callable[[Sequence[Feed]], None] | None = None,
) -> CycleReport:
    """One cycle over every watched feed but ``skip``, ignoring intervals, then deliver;
    ``on_progress`` after each feed. On a database shared by workers, the run leases its
    feeds as a worker would (renewed while it runs) and leaves those another worker holds,
    which it hands to ``on_leased`` first: a timer run beside daemons fetches nothing twice."""
    skipped = {feed.url for feed in skip}
    feeds = [feed for feed in app.feeds() if feed.url not in skipped]
    started = app.clock()
    worker = f"{socket.gethostname()}:{os.getpid()}"
    alive = None
    if app.store.cooperative:
        urls = [feed.url for feed in feeds]
        coordination = app.store.coordination
        mine = set(await asyncio.to_thread(coordination.claim_listed, worker, urls, started))
        if on_leased is not None:
            on_leased([feed for feed in feeds if feed.url not in mine])
        feeds = [feed for feed in feeds if feed.url in mine]
        alive = asyncio.create_task(_keep_alive(app, worker))
    try:
        async with app.fetcher() as fetcher:
            service = app.service(fetcher)
            service.on_progress = on_progress
            try:
                report = await service.run_cycle(feeds)
            finally:
                await asyncio.to_thread(service.close)
    finally:
        if alive is not None:
            alive.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await alive
            await asyncio.to_thread(app.store.coordination.worker_gone, worker)
    await asyncio.to_thread(
        app.store.reports.record_cycle, CycleRecord.of(report, started, app.clock())
    )
    return report


async def run_forever(
    app: App, stop: asyncio.Event | None = None, systemd: Supervisor | None = None
) -> None:
    """Poll until ``stop`` is set (by SIGINT or SIGTERM when not given); SIGHUP reloads."""
    systemd = systemd or supervisor()
    control = Control(stop) if stop is not None else control_by_signals(systemd)
    watch = Watch(
        control,
        systemd,
        Heartbeat(systemd),
        Health(_shortest_interval(app.config), time.monotonic()),
        last=await asyncio.to_thread(app.store.reports.last_cycle),
    )
    watch.feeds = len(await asyncio.to_thread(app.feeds))
    _listen(watch, app)
    alive = asyncio.create_task(_keep_alive(app, watch.worker))
    try:
        systemd.ready(status_line(await _snapshot(app, watch)))
        while True:
            await _watch(app, watch)
            if control.stop.is_set():
                break
            control.reload.clear()
            app = await _reload(app, watch)
    finally:
        alive.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await alive
        try:  # hand back leases at once rather than after they lapse
            await asyncio.to_thread(app.store.coordination.worker_gone, watch.worker)
        except Exception:
            log.warning("cannot unregister this worker; its leases lapse by themselves")
        if watch.listener is not None:
            watch.listener.close()
    log.info("stopped")


async def _keep_alive(app: App, worker: str) -> None:
    """The worker's heartbeat in the database, which also renews its leases (a third of a
    lease apart), for as long as the daemon (or a one-shot run) runs."""
    host, pid = socket.gethostname(), os.getpid()
    while True:
        try:
            await asyncio.to_thread(
                app.store.coordination.heartbeat, worker, host, pid, app.clock()
            )
        except Exception:  # a database hiccup: the next beat may succeed before leases lapse
            log.warning("cannot record this worker's heartbeat", exc_info=True)
        await asyncio.sleep(app.config.lease.total_seconds() / 3)


async def _reload(app: App, watch: Watch) -> App:
    watch.systemd.reloading()
    log.info("reloading %s", app.config.source)
    try:
        new = await asyncio.to_thread(app.reloaded)
    except ConfigError as exc:
        log.error("reload refused, still running on the previous config: %s", exc)
    else:
        old_http = app.config.http
        app = new
        watch.health.limit = 2 * _shortest_interval(app.config).total_seconds()
        if app.config.http != old_http:
            if watch.listener is not None:
                watch.listener.close()
                watch.listener = None
            _listen(watch, app)
        log.info(
            "reloaded: %d feeds, %d rules, %d targets",
            len(app.config.feeds),
            len(app.config.rules),
            len(app.config.targets),
        )
    watch.feeds = len(await asyncio.to_thread(app.feeds))
    watch.systemd.ready(status_line(await _snapshot(app, watch)))
    return app


async def _watch(app: App, watch: Watch) -> None:
    """The loop on one config, until asked to stop or to reload."""
    control = watch.control
    log.info(
        "watching %d feeds with %d rules; config %s",
        len(await asyncio.to_thread(app.feeds)),
        len(app.config.rules),
        app.config.source,
    )
    stall_after = app.hooks.stall_after_passes
    async with app.fetcher() as fetcher:
        service = app.service(fetcher, keep_pool=True)
        wake_delivery = asyncio.Event()
        woken = 0.0

        def progressed() -> None:
            nonlocal woken
            watch.heartbeat.beat()
            # A worker's pass may flow for a minute: what it matched is delivered as it goes.
            if app.store.cooperative and time.monotonic() - woken >= DELIVER_EVERY:
                woken = time.monotonic()
                wake_delivery.set()

        service.on_progress = progressed
        delivery = asyncio.create_task(_deliver_forever(service, wake_delivery, watch))
        outage: Outage | None = None
        try:
            while not (control.stop.is_set() or control.reload.is_set()):
                if stall_after and watch.passes >= stall_after:
                    log.warning("fault injected by a test: the scheduler loop stalls")
                    await control.stop.wait()
                    break
                try:
                    if await _pass(app, watch, service, wake_delivery):
                        break
                    outage = None
                except DATABASE_DOWN as exc:
                    outage = await database_down(app, watch, outage, exc)
            service.halt.set()  # senders stop between two messages; the one in flight is kept
            await delivery
        finally:
            await asyncio.to_thread(service.close)


async def _pass(app: App, watch: Watch, service: Cycles, wake_delivery: asyncio.Event) -> bool:
    """One pass of the loop: the due feeds' cycle, then sleep until the next is due. True
    when the loop must end (stopped during the cycle, or CLI rules changed: reload)."""
    control = watch.control
    watch.heartbeat.beat()
    started = app.clock()
    if watch.last_prune is None or started - watch.last_prune >= PRUNE_EVERY:
        await asyncio.to_thread(_prune, app, watch.heartbeat.beat)
        watch.last_prune = started
    if await asyncio.to_thread(app.store.rules.cli_rules) != list(app.added_rules):
        log.info("rules were added or removed from the command line")
        control.reload.set()
        return True
    feeds = await asyncio.to_thread(app.feeds)  # `watcher feeds add` needs no reload
    watch.feeds = len(feeds)
    plan = scheduling_for(app, watch.worker)
    due = await plan.due(feeds, started)
    if due:
        try:
            report = await _cycle(
                service, due, plan.flow(started), control.stop, app.config.stop_timeout
            )
        finally:
            await plan.release(due)
        if report is None:
            return True
        await _cycle_done(app, watch, report, started)
        wake_delivery.set()
    await _pass_done(app, watch)
    if not plan.more_due(due):
        wake = await asyncio.to_thread(plan.next_wakeup, feeds, bool(due))
        await sleep_until_due(app, wake, watch)
    return False


async def _cycle(
    service: Cycles,
    due: Sequence[Feed],
    more: MoreFeeds | None,
    stop: asyncio.Event,
    grace: timedelta,
) -> CycleReport | None:
    """Run one cycle; when ``stop`` is set meanwhile, start no more fetches, give those in
    flight ``grace`` to finish, and return None."""
    task = asyncio.ensure_future(service.run_cycle(due, deliver=False, more=more))
    if await _first(task, stop.wait()):
        return task.result()  # a bug in a cycle propagates
    service.halt.set()
    log.info("waiting up to %ss for the fetches in flight", grace.total_seconds())
    done, _ = await asyncio.wait({task}, timeout=grace.total_seconds())
    if not done:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    return None


async def _first(task: asyncio.Future[CycleReport], other: Awaitable[object]) -> bool:
    """Wait for ``task`` or ``other``; True when ``task`` finished first."""
    waiter = asyncio.ensure_future(other)
    both: list[asyncio.Future[Any]] = [task, waiter]
    await asyncio.wait(both, return_when=asyncio.FIRST_COMPLETED)
    waiter.cancel()
    return task.done()


async def _cycle_done(app: App, watch: Watch, report: CycleReport, started: datetime) -> None:
    finished = app.clock()
    took = finished - started
    record = CycleRecord.of(report, started, finished)
    await asyncio.to_thread(app.store.reports.record_cycle, record)
    watch.last = record
    if watch.metrics is not None:
        watch.metrics.cycle_done(report, took.total_seconds())
    # What the cycle freed goes back to the system, not only to the allocator's free lists:
    # spread over the threads' arenas, those would make the process grow for weeks.
    app.release_free_memory()
    log.info(
        "cycle over %d feeds took %.1fs: %d new entries, %d new matches, %d failed",
        record.feeds,
        took.total_seconds(),
        record.new_entries,
        record.new_matches,
        record.failed,
    )


async def _pass_done(app: App, watch: Watch) -> None:
    """A pass of the loop is over: tell systemd and the health check."""
    watch.passes += 1
    snapshot = await _snapshot(app, watch)
    watch.health.passed(time.monotonic(), app.clock(), snapshot)
    watch.systemd.status(status_line(snapshot))


async def _snapshot(app: App, watch: Watch) -> Snapshot:
    if not watch.systemd.enabled and watch.listener is None:
        return Snapshot(watch.feeds, 0, 0, watch.last)  # nobody reads it

    def counts() -> tuple[int, int]:
        backlog = app.store.outbox.delivery_backlog()
        return app.store.reports.failing_feeds(), sum(c.get("pending", 0) for c in backlog.values())

    failing, pending = await asyncio.to_thread(counts)
    return Snapshot(watch.feeds, failing, pending, watch.last)


async def _deliver_forever(service: Cycles, wake: asyncio.Event, watch: Watch) -> None:
    """Beside the polling loop: deliver what is due after each cycle, and retries as they fall
    due (checked at least every MAX_SLEEP)."""
    stop, reload = watch.control.stop, watch.control.reload
    while not (stop.is_set() or reload.is_set()):
        wake.clear()  # before the pass: a cycle that ends during it wakes the next one
        try:
            report = await service.deliver_concurrently()
        except DATABASE_DOWN as exc:  # the loop says so too; the next pass retries
            log.warning("delivery pass: database unavailable: %s", reason_of(exc))
            report = DeliveryReport()
        except Exception:  # a bug here must not stop the polling; it is logged and retried
            log.exception("delivery pass failed")
            report = DeliveryReport()
        if watch.metrics is not None:
            watch.metrics.delivered(report.by_target)
        await any_set((wake, stop, reload), MAX_SLEEP.total_seconds())


def _listen(watch: Watch, app: App) -> None:
    """Start the HTTP listener if the config asks for one; a port in use is logged, not fatal."""
    if app.config.http is None:
        return
    try:
        watch.metrics, watch.listener = listen(app, watch.health, watch.metrics)
    except OSError as exc:
        host, port = app.config.http
        log.error("cannot serve /healthz and /metrics on %s:%d: %s", host, port, exc)


def _shortest_interval(config: Config) -> timedelta:
    return min((feed.interval for feed in config.feeds), default=config.interval)


def _prune(app: App, progress: Callable[[], None]) -> None:
    """Retention, in batches that each beat the watchdog (the loop waits meanwhile; the
    database heartbeat goes on renewing the leases from the event loop)."""
    config = app.config
    report = app.store.upkeep.prune(
        app.clock(), config.retention, config.cluster_window, progress, vacuum=False
    )
    log.info(
        "pruned %d entry bodies, %d revisions, %d near-duplicate index rows; "
        "database %s bytes before, %s after",
        report.bodies,
        report.revisions,
        report.bands,
        report.size_before,
        report.size_after,
    )
