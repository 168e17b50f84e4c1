"""The daemon's counters for ``/metrics``, in Prometheus' text format (the official
prometheus-client, imported only when the listener is on)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

from watcher.core.model import CycleReport

if TYPE_CHECKING:
    from wsgiref.types import WSGIApplication as WsgiApp

log = logging.getLogger(__name__)
_LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
_CYCLE_BUCKETS = (0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300)


class Metrics:
    """The daemon's counters, kept in a registry of their own (not the process-global one),
    so that two daemons in one test process do not share them."""

    def __init__(
        self,
        backlog: Callable[[], Mapping[str, Mapping[str, int]]],
        workers: Callable[[], Iterable[tuple[str, str, int]]] = tuple,
    ) -> None:
        from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

        self.registry = CollectorRegistry()
        r = self.registry
        self.fetches = Counter(
            "feedwatcher_fetches", "Feed fetches by outcome.", ["outcome"], registry=r
        )
        self.latency = Histogram(
            "feedwatcher_fetch_seconds",
            "Successful fetches, request to last byte.",
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.bytes = Counter(
            "feedwatcher_fetched_bytes", "Feed bodies read, decompressed.", registry=r
        )
        self.entries = Counter(
            "feedwatcher_entries", "Entries stored: new, or changed.", ["kind"], registry=r
        )
        self.matches = Counter(
            "feedwatcher_matches", "New entries matched, by rule.", ["rule"], registry=r
        )
        self.deliveries = Counter(
            "feedwatcher_deliveries",
            "Notification attempts by target and result.",
            ["target", "result"],
            registry=r,
        )
        self.cycle = Histogram(
            "feedwatcher_cycle_seconds", "Cycle duration.", buckets=_CYCLE_BUCKETS, registry=r
        )
        self.last_cycle = Gauge(
            "feedwatcher_last_cycle_timestamp_seconds",
            "When the last cycle finished (Unix time).",
            registry=r,
        )
        r.register(_Backlog(backlog))
        r.register(_Workers(workers))

    def wsgi_app(self) -> WsgiApp:
        """``/metrics``, as a WSGI application."""
        from prometheus_client import make_wsgi_app

        app: WsgiApp = make_wsgi_app(self.registry)
        return app

    def cycle_done(self, report: CycleReport, seconds: float) -> None:
        for outcome in report.outcomes:
            self.fetches.labels(outcome.status).inc()
            if outcome.seconds is not None:
                self.latency.observe(outcome.seconds)
            if outcome.fetched_bytes:
                self.bytes.inc(outcome.fetched_bytes)
            for rule in outcome.rules:
                self.matches.labels(rule).inc()
        self.entries.labels("new").inc(report.new_entries)
        self.entries.labels("changed").inc(sum(o.changed for o in report.outcomes))
        self.cycle.observe(seconds)
        self.last_cycle.set(time.time())

    def delivered(self, by_target: Mapping[str, tuple[int, int]]) -> None:
        for target, (sent, failed) in by_target.items():
            self.deliveries.labels(target, "sent").inc(sent)
            self.deliveries.labels(target, "failed").inc(failed)


class _Backlog:
    """Pending and given-up deliveries per target, read from the database at each scrape."""

    def __init__(
        self,
        backlog: Callable[[], Mapping[str, Mapping[str, int]]],
        workers: Callable[[], Iterable[tuple[str, str, int]]] = tuple,
    ) -> None:
        self._backlog = backlog

    def collect(self) -> Iterator[Any]:
        from prometheus_client.core import GaugeMetricFamily

        family = GaugeMetricFamily(
            "feedwatcher_deliveries_waiting",
            "Deliveries not sent: pending (due or retrying) or failed (attempts used up).",
            labels=["target", "status"],
        )
        try:
            for target, counts in sorted(self._backlog().items()):
                for status, count in sorted(counts.items()):
                    family.add_metric([target, status], count)
        except Exception:  # a scrape during a database outage still answers the rest
            log.warning("metrics: cannot read the delivery backlog", exc_info=True)
        yield family


class _Workers:
    """The workers sharing the database by state, and the feeds each one's leases name (a
    gone worker's until they are taken over), read from the database at each scrape."""

    def __init__(self, workers: Callable[[], Iterable[tuple[str, str, int]]]) -> None:
        self._workers = workers  # (worker id, "alive" | "late" | "gone", feeds held)

    def collect(self) -> Iterator[Any]:
        from prometheus_client.core import GaugeMetricFamily

        states = GaugeMetricFamily(
            "feedwatcher_workers", "Workers sharing the database, by state.", labels=["state"]
        )
        held = GaugeMetricFamily(
            "feedwatcher_worker_feeds_held",
            "Feeds whose lease names the worker (lapsed ones too, for a gone worker).",
            labels=["worker", "state"],
        )
        counts = dict.fromkeys(("alive", "late", "gone"), 0)
        try:
            for worker, state, feeds in self._workers():
                counts[state] += 1
                held.add_metric([worker, state], feeds)
        except Exception:  # a scrape during a database outage still answers the rest
            log.warning("metrics: cannot read the workers", exc_info=True)
        for state, count in counts.items():
            states.add_metric([state], count)
        yield states
        yield held
