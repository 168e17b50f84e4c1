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
import signal
import socket
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from watcher.app import App, listen, supervisor
from watcher.core.errors import ConfigError, StoreUnavailable
from watcher.core.health import Health, Snapshot, status_line
from watcher.core.model import CycleRecord, CycleReport, DeliveryReport
from watcher.core.schedule import due_feeds, next_wakeup
from watcher.core.settings import Config, Feed
from watcher.ports import Cycles, Listening, MetricsSink, Supervisor

log = logging.getLogger("watcher.daemon")  # the name operators filter the journal by
MAX_SLEEP = timedelta(seconds=60)  # wake at least this often to retry due deliveries
PRUNE_EVERY = timedelta(days=1)
# The database is down, unreachable or locked: worth waiting out, unlike other errors (bugs).
_DATABASE_DOWN = (StoreUnavailable,)


def held_back(app: App) -> list[Feed]:
    """The feeds ``run --once`` leaves alone: paused, or backing off after failures (or told
    by the server to wait)."""
    schedules = app.store.feeds.schedules()
    now = app.clock()
    return [
        feed for feed in app.feeds() if feed.url in schedules and schedules[feed.url].held_back(now)
    ]


async def run_once(
    app: App, skip: Sequence[Feed] = (), on_progress: Callable[[], None] | None = None
) -> CycleReport:
    """One cycle over every watched feed but ``skip``, ignoring intervals, then deliver;
    ``on_progress`` after each feed."""
    skipped = {feed.url for feed in skip}
    feeds = [feed for feed in app.feeds() if feed.url not in skipped]
    started = app.clock()
    async with app.fetcher() as fetcher:
        service = app.service(fetcher)
        service.on_progress = on_progress
        try:
            report = await service.run_cycle(feeds)
        finally:
            await asyncio.to_thread(service.close)
    await asyncio.to_thread(
        app.store.reports.record_cycle, CycleRecord.of(report, started, app.clock())
    )
    return report


@dataclass
class Control:
    """What the signals ask of the loop."""

    stop: asyncio.Event = field(default_factory=asyncio.Event)
    reload: asyncio.Event = field(default_factory=asyncio.Event)


class Heartbeat:
    """``WATCHDOG=1``, sent only when the scheduler loop reports progress (a pass, a feed
    done), at most every quarter period: a loop that stops progressing stops the beats."""

    def __init__(self, systemd: Supervisor) -> None:
        self._systemd = systemd
        self.period = systemd.watchdog
        self._last = -float("inf")

    def beat(self) -> None:
        if self.period is None:
            return
        now = time.monotonic()
        if now - self._last >= self.period / 4:
            self._systemd.heartbeat()
            self._last = now

    @property
    def nap(self) -> float:
        """The longest the loop may sleep and still beat in time."""
        return self.period / 2 if self.period else MAX_SLEEP.total_seconds()


@dataclass
class _Watch:
    """The daemon's parts that outlive a reload."""

    control: Control
    systemd: Supervisor
    heartbeat: Heartbeat
    health: Health
    metrics: MetricsSink | None = None
    listener: Listening | None = None
    last: CycleRecord | None = None
    passes: int = 0
    feeds: int = 0  # how many are watched
    last_prune: datetime | None = None
    worker: str = field(default_factory=lambda: f"{socket.gethostname()}:{os.getpid()}")


async def run_forever(
    app: App, stop: asyncio.Event | None = None, systemd: Supervisor | None = None
) -> None:
    """Poll until ``stop`` is set (by SIGINT or SIGTERM when not given); SIGHUP reloads."""
    systemd = systemd or supervisor()
    control = Control(stop) if stop is not None else _control_by_signals(systemd)
    watch = _Watch(
        control,
        systemd,
        Heartbeat(systemd),
        Health(_shortest_interval(app.config), time.monotonic()),
        last=await asyncio.to_thread(app.store.reports.last_cycle),
    )
    watch.feeds = len(await asyncio.to_thread(app.feeds))
    _listen(watch, app)
    alive = asyncio.create_task(_keep_alive(app, watch))
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


async def _keep_alive(app: App, watch: _Watch) -> None:
    """The worker's heartbeat in the database, which also renews its leases (a third of a
    lease apart), for as long as the daemon runs."""
    host, pid = socket.gethostname(), os.getpid()
    while True:
        try:
            await asyncio.to_thread(
                app.store.coordination.heartbeat, watch.worker, host, pid, app.clock()
            )
        except Exception:  # a database hiccup: the next beat may succeed before leases lapse
            log.warning("cannot record this worker's heartbeat", exc_info=True)
        await asyncio.sleep(app.config.lease.total_seconds() / 3)


async def _reload(app: App, watch: _Watch) -> App:
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


async def _watch(app: App, watch: _Watch) -> None:
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
        service.on_progress = watch.heartbeat.beat
        wake_delivery = asyncio.Event()
        delivery = asyncio.create_task(_deliver_forever(service, wake_delivery, watch))
        outage: _Outage | None = None
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
                except _DATABASE_DOWN as exc:
                    outage = await _database_down(app, watch, outage, exc)
            service.halt.set()  # senders stop between two messages; the one in flight is kept
            await delivery
        finally:
            await asyncio.to_thread(service.close)


async def _pass(app: App, watch: _Watch, service: Cycles, wake_delivery: asyncio.Event) -> bool:
    """One pass of the loop: the due feeds' cycle, then sleep until the next is due. True
    when the loop must end (stopped during the cycle, or CLI rules changed: reload)."""
    control = watch.control
    watch.heartbeat.beat()
    started = app.clock()
    if watch.last_prune is None or started - watch.last_prune >= PRUNE_EVERY:
        await asyncio.to_thread(_prune, app)
        watch.last_prune = started
    if await asyncio.to_thread(app.store.rules.cli_rules) != list(app.added_rules):
        log.info("rules were added or removed from the command line")
        control.reload.set()
        return True
    feeds = await asyncio.to_thread(app.feeds)  # `watcher feeds add` needs no reload
    watch.feeds = len(feeds)
    next_due: dict[str, datetime | None] | None = None  # one worker: the schedules it read
    if app.store.cooperative:
        due = await _claim(app, watch, feeds, started)
    else:
        next_due = await asyncio.to_thread(_next_due, app)
        due = due_feeds(feeds, next_due, started)
    if due:
        try:
            report = await _cycle(service, due, control.stop, app.config.stop_timeout)
        finally:
            if app.store.cooperative:
                urls = [feed.url for feed in due]
                await asyncio.to_thread(app.store.coordination.release_feeds, watch.worker, urls)
        if report is None:
            return True
        await _cycle_done(app, watch, report, started)
        wake_delivery.set()
    await _pass_done(app, watch)
    if not (app.store.cooperative and len(due) == _claim_batch(app.config)):
        # (A full batch claimed: more may be due, so the next pass comes at once.)
        # A cycle moved its feeds' schedules; without one, those read above still hold.
        wake = await asyncio.to_thread(_next_wakeup, app, feeds, None if due else next_due)
        await _sleep_until_due(app, wake, watch)
    return False


@dataclass(frozen=True)
class _Outage:
    since: datetime
    attempts: int


def _reason(exc: Exception) -> str:
    """A database error's first line (the store's errors carry nothing more)."""
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


async def _database_down(
    app: App, watch: _Watch, outage: _Outage | None, exc: Exception
) -> _Outage:
    """The database cannot be reached (or stays locked): say so, and try again after a
    growing pause (1 s, 2 s, … 60 s) rather than exit. The health check turns 503 meanwhile,
    since no pass completes; systemd's status says why."""
    outage = _Outage(
        outage.since if outage else app.clock(), (outage.attempts if outage else 0) + 1
    )
    reason = _reason(exc)
    pause = min(2 ** (outage.attempts - 1), MAX_SLEEP.total_seconds())
    log.error(
        "database unavailable since %s (attempt %d), retrying in %ds: %s",
        outage.since.isoformat(timespec="seconds"),
        outage.attempts,
        pause,
        reason,
    )
    watch.systemd.status(f"database unavailable since {outage.since:%H:%M:%S}: {reason}")
    await _sleep_until_due(app, app.clock() + timedelta(seconds=pause), watch)
    return outage


def _claim_batch(config: Config) -> int:
    """Feeds claimed at a time by one worker: enough to keep its fetches busy, few enough that
    the other workers get their share of a round."""
    return max(100, 10 * config.concurrency)


async def _claim(app: App, watch: _Watch, feeds: Sequence[Feed], now: datetime) -> list[Feed]:
    """Lease the next due feeds to this worker; feeds this worker's config does not know
    (another worker has a newer config) are handed back at once."""
    limit = _claim_batch(app.config)
    urls = await asyncio.to_thread(app.store.coordination.claim_feeds, watch.worker, now, limit)
    known = {feed.url: feed for feed in feeds}
    strays = [url for url in urls if url not in known]
    if strays:
        await asyncio.to_thread(app.store.coordination.release_feeds, watch.worker, strays)
    return [known[url] for url in urls if url in known]


async def _cycle(
    service: Cycles, due: Sequence[Feed], stop: asyncio.Event, grace: timedelta
) -> CycleReport | None:
    """Run one cycle; when ``stop`` is set meanwhile, start no more fetches, give those in
    flight ``grace`` to finish, and return None."""
    task = asyncio.ensure_future(service.run_cycle(due, deliver=False))
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


async def _cycle_done(app: App, watch: _Watch, report: CycleReport, started: datetime) -> None:
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


async def _pass_done(app: App, watch: _Watch) -> None:
    """A pass of the loop is over: tell systemd and the health check."""
    watch.passes += 1
    snapshot = await _snapshot(app, watch)
    watch.health.passed(time.monotonic(), app.clock(), snapshot)
    watch.systemd.status(status_line(snapshot))


async def _snapshot(app: App, watch: _Watch) -> Snapshot:
    if not watch.systemd.enabled and watch.listener is None:
        return Snapshot(watch.feeds, 0, 0, watch.last)  # nobody reads it

    def counts() -> tuple[int, int]:
        backlog = app.store.outbox.delivery_backlog()
        return app.store.reports.failing_feeds(), sum(c.get("pending", 0) for c in backlog.values())

    failing, pending = await asyncio.to_thread(counts)
    return Snapshot(watch.feeds, failing, pending, watch.last)


async def _deliver_forever(service: Cycles, wake: asyncio.Event, watch: _Watch) -> None:
    """Beside the polling loop: deliver what is due after each cycle, and retries as they fall
    due (checked at least every MAX_SLEEP)."""
    stop, reload = watch.control.stop, watch.control.reload
    while not (stop.is_set() or reload.is_set()):
        wake.clear()  # before the pass: a cycle that ends during it wakes the next one
        try:
            report = await service.deliver_concurrently()
        except _DATABASE_DOWN as exc:  # the loop says so too; the next pass retries
            log.warning("delivery pass: database unavailable: %s", _reason(exc))
            report = DeliveryReport()
        except Exception:  # a bug here must not stop the polling; it is logged and retried
            log.exception("delivery pass failed")
            report = DeliveryReport()
        if watch.metrics is not None:
            watch.metrics.delivered(report.by_target)
        await _any_set((wake, stop, reload), MAX_SLEEP.total_seconds())


def _next_due(app: App) -> dict[str, datetime | None]:
    """Each fetched feed's next fetch (None: paused), as the database has it."""
    return {
        url: None if state.paused else (state.next_fetch or app.clock())
        for url, state in app.store.feeds.schedules().items()
    }


def _next_wakeup(
    app: App, feeds: Sequence[Feed], next_due: dict[str, datetime | None] | None = None
) -> datetime | None:
    """When the next feed falls due. Several workers ask the database for the one soonest
    feed no other worker holds (one row, however many feeds); one worker reads every
    schedule (unless given ``next_due``, still current), since it also needs them to pick
    the due feeds."""
    now = app.clock()
    if app.store.cooperative:
        return app.store.coordination.next_due_at(now)
    return next_wakeup(feeds, _next_due(app) if next_due is None else next_due, now)


async def _sleep_until_due(app: App, wake: datetime | None, watch: _Watch) -> None:
    """Sleep until ``wake`` (at most MAX_SLEEP), a signal, or the next heartbeat."""
    now = app.clock()
    wake = wake or now + MAX_SLEEP
    delay = min(max(wake - now, timedelta(seconds=1)), MAX_SLEEP).total_seconds()
    deadline = time.monotonic() + delay
    signals = (watch.control.stop, watch.control.reload)
    while (left := deadline - time.monotonic()) > 0:
        if await _any_set(signals, min(left, watch.heartbeat.nap)):
            return
        watch.heartbeat.beat()


async def _any_set(events: Sequence[asyncio.Event], timeout: float) -> bool:
    """Wait until one of ``events`` is set or ``timeout`` seconds pass; whether one was."""
    waiters = [asyncio.ensure_future(event.wait()) for event in events]
    done, _ = await asyncio.wait(waiters, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    for waiter in waiters:
        waiter.cancel()
    return bool(done)


def _listen(watch: _Watch, app: App) -> None:
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


def _prune(app: App) -> None:
    config = app.config
    report = app.store.upkeep.prune(app.clock(), config.retention, config.cluster_window)
    log.info(
        "pruned %d entry bodies, %d revisions, %d near-duplicate index rows; "
        "database %s bytes before, %s after",
        report.bodies,
        report.revisions,
        report.bands,
        report.size_before,
        report.size_after,
    )


def _control_by_signals(systemd: Supervisor) -> Control:
    control = Control()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, _request_stop, control, systemd, sig)
    loop.add_signal_handler(signal.SIGHUP, _request_reload, control, signal.SIGHUP)
    return control


def _request_stop(control: Control, systemd: Supervisor, sig: signal.Signals) -> None:
    log.info("received %s, stopping", sig.name)
    systemd.stopping()
    control.stop.set()


def _request_reload(control: Control, sig: signal.Signals) -> None:
    log.info("received %s, reloading the config after the current cycle", sig.name)
    control.reload.set()
