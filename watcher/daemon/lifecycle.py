"""The daemon's life around its passes: signals (SIGTERM/SIGINT stop, SIGHUP reloads), the
watchdog heartbeat, sleeping until something is due, and waiting out a database outage."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from watcher.app import App
from watcher.core.errors import StoreUnavailable
from watcher.core.health import Health
from watcher.core.model import CycleRecord
from watcher.ports import Listening, MetricsSink, Supervisor

log = logging.getLogger("watcher.daemon")  # the name operators filter the journal by
MAX_SLEEP = timedelta(seconds=60)  # wake at least this often to retry due deliveries


# The database is down, unreachable or locked: worth waiting out, unlike other errors (bugs).
DATABASE_DOWN = (StoreUnavailable,)


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
        """The longest the loop may sleep and still beat in time: until half a period after
        the last beat (counted from the beat, not from now, since the end of a cycle may have
        come just too soon after a beat to send one)."""
        if not self.period:
            return MAX_SLEEP.total_seconds()
        return max(0.0, self._last + self.period / 2 - time.monotonic())


@dataclass
class Watch:
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


@dataclass(frozen=True)
class Outage:
    since: datetime
    attempts: int


def reason_of(exc: Exception) -> str:
    """A database error's first line (the store's errors carry nothing more)."""
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


async def database_down(app: App, watch: Watch, outage: Outage | None, exc: Exception) -> Outage:
    """The database cannot be reached (or stays locked): say so, and try again after a
    growing pause (1 s, 2 s, … 60 s) rather than exit. The health check turns 503 meanwhile,
    since no pass completes; systemd's status says why."""
    outage = Outage(outage.since if outage else app.clock(), (outage.attempts if outage else 0) + 1)
    reason = reason_of(exc)
    pause = min(2 ** (outage.attempts - 1), MAX_SLEEP.total_seconds())
    log.error(
        "database unavailable since %s (attempt %d), retrying in %ds: %s",
        outage.since.isoformat(timespec="seconds"),
        outage.attempts,
        pause,
        reason,
    )
    watch.systemd.status(f"database unavailable since {outage.since:%H:%M:%S}: {reason}")
    await sleep_until_due(app, app.clock() + timedelta(seconds=pause), watch)
    return outage


async def sleep_until_due(app: App, wake: datetime | None, watch: Watch) -> None:
    """Sleep until ``wake`` (at most MAX_SLEEP), a signal, or the next heartbeat."""
    now = app.clock()
    wake = wake or now + MAX_SLEEP
    delay = min(max(wake - now, timedelta(seconds=1)), MAX_SLEEP).total_seconds()
    deadline = time.monotonic() + delay
    signals = (watch.control.stop, watch.control.reload)
    while (left := deadline - time.monotonic()) > 0:
        if await any_set(signals, min(left, watch.heartbeat.nap)):
            return
        watch.heartbeat.beat()


async def any_set(events: Sequence[asyncio.Event], timeout: float) -> bool:
    """Wait until one of ``events`` is set or ``timeout`` seconds pass; whether one was."""
    waiters = [asyncio.ensure_future(event.wait()) for event in events]
    done, _ = await asyncio.wait(waiters, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    for waiter in waiters:
        waiter.cancel()
    return bool(done)


def control_by_signals(systemd: Supervisor) -> Control:
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
