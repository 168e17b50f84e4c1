"""``watcher status``: what the daemon is doing, read from the database it shares."""

from __future__ import annotations

import ipaddress
import json
import socket
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import click

from watcher.app import load, utcnow
from watcher.cli.common import REDACTOR, common_options, format_option, json_flag, opened_store
from watcher.core.model import CycleRecord
from watcher.core.settings import Config
from watcher.core.text import counted
from watcher.core.views import FeedStatus, WorkerRow
from watcher.render.alerts import describe_cycle, format_time, state_words

_TROUBLE = ("failing", "backing off", "paused")


@click.command()
@format_option("text", "json")
@json_flag
@common_options
def status(config_path: str | None, fmt: str) -> None:
    """Feeds by state (with the reason of each one in trouble), the next fetch due, pending
    and failed deliveries by target, and the daemon's last cycle."""
    now = utcnow()
    config = load(config_path, REDACTOR)
    with opened_store(config) as store:
        reading = _Reading(
            [f for f in store.reports.feed_statuses() if f.configured],
            store.outbox.delivery_backlog(),
            store.reports.last_cycle(),
            store.coordination.workers(now),
            now,
            config.lease,
        )
    served = _served(config)
    if fmt == "json":
        click.echo(json.dumps({**_status_json(reading), "listener": served}, indent=2))
    else:
        click.echo(_status_text(reading) + _served_text(served))


def _served(config: Config) -> dict[str, Any] | None:
    """The listener's URLs to subscribe to, if it is on (the token, if any, is not shown)."""
    if config.http is None:
        return None
    from watcher.render.feeds import feed_path  # the listener's module, only when it is on

    host, port = config.http
    if _every_address(host):  # this machine's name reaches it
        host = socket.gethostname()
    base = f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"
    return {
        "page": base + "/",
        "token_required": config.http_token is not None,
        "matches": {kind: base + feed_path(None, kind) for kind in ("atom", "json")},
        "rules": {
            rule.name: {kind: base + feed_path(rule.name, kind) for kind in ("atom", "json")}
            for rule in config.rules
        },
    }


def _every_address(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_unspecified
    except ValueError:
        return False


def _served_text(served: dict[str, Any] | None) -> str:
    if served is None:
        return "\nListener: off (set [watcher] http to serve the matches' feeds and a page)"
    token = (
        " (with the access token: ?token=… or a bearer header)" if served["token_required"] else ""
    )
    lines = [f"Listener: {served['page']} (the digest page){token}", "  Feeds to subscribe to:"]
    lines.append(f"    every match: {served['matches']['atom']} (or .json)")
    lines += [f"    {rule}: {urls['atom']}" for rule, urls in served["rules"].items()]
    return "\n" + "\n".join(lines)


@dataclass(frozen=True)
class _Reading:
    """What `watcher status` reads from the database."""

    feeds: list[FeedStatus]
    backlog: dict[str, dict[str, int]]
    last: CycleRecord | None
    workers: list[WorkerRow]
    now: datetime
    lease: timedelta


def _next_due(feeds: list[FeedStatus], now: datetime) -> datetime | None:
    """The next fetch of any feed not paused (now, for a feed never fetched)."""
    due = [f.next_fetch or now for f in feeds if not f.paused]
    return min(due, default=None)


def _status_json(reading: _Reading) -> dict[str, Any]:
    feeds, last, now = reading.feeds, reading.last, reading.now
    next_due = _next_due(feeds, now)
    return {
        "feeds": dict(Counter(f.state(now) for f in feeds)),
        "trouble": [
            {
                "url": f.url,
                "name": f.name,
                "state": f.state(now),
                "error": f.last_error,
                "failing_since": f.failing_since.isoformat() if f.failing_since else None,
                "next_fetch": f.next_fetch.isoformat() if f.next_fetch else None,
            }
            for f in feeds
            if f.state(now) in _TROUBLE
        ],
        "next_fetch": next_due.isoformat() if next_due else None,
        "deliveries": reading.backlog,
        "last_cycle": {
            "started": last.started_at.isoformat(),
            "finished": last.finished_at.isoformat(),
            "feeds": last.feeds,
            "ok": last.ok,
            "not_modified": last.not_modified,
            "unchanged": last.unchanged,
            "failed": last.failed,
            "new_entries": last.new_entries,
            "changed": last.changed,
            "new_matches": last.new_matches,
        }
        if last
        else None,
        "workers": [
            {
                "id": w.worker_id,
                "host": w.host,
                "pid": w.pid,
                "started": w.started.isoformat(),
                "heartbeat": w.heartbeat.isoformat(),
                "state": w.state(reading.now, reading.lease),
                "feeds_held": w.feeds_held,
            }
            for w in reading.workers
        ],
    }


def _status_text(reading: _Reading) -> str:
    feeds, backlog, last, now = reading.feeds, reading.backlog, reading.last, reading.now
    states = Counter(f.state(now) for f in feeds)
    lines = [
        f"Feeds: {len(feeds)} ("
        + ", ".join(f"{count} {state_words(state)}" for state, count in sorted(states.items()))
        + ")"
    ]
    for feed in feeds:
        state = feed.state(now)
        if state in _TROUBLE:
            since = f" since {format_time(feed.failing_since)}" if feed.failing_since else ""
            retry = (
                f"; next try {format_time(feed.next_fetch)}"
                if feed.next_fetch and state != "paused"
                else ""
            )
            lines.append(
                f"  {state_words(state)}{since}: {feed.name} — {feed.last_error or '?'}{retry}"
            )
    next_due = _next_due(feeds, now)
    lines.append(f"Next fetch: {format_time(next_due) if next_due else 'none (all paused)'}")
    if backlog:
        lines.append("Deliveries waiting:")
        for target, counts in sorted(backlog.items()):
            orphaned = counts.get("orphaned", 0)
            lines.append(
                f"  {target}: {counts['pending']} pending, {counts['failed']} failed"
                + (f", {orphaned} orphaned (not in the config)" if orphaned else "")
            )
    else:
        lines.append("Deliveries waiting: none")
    if last is None:
        lines.append("Last cycle: none recorded (is `watcher run` running?)")
    else:
        took = (last.finished_at - last.started_at).total_seconds()
        lines.append(
            f"Last cycle: {format_time(last.finished_at)} ({took:.1f}s): {describe_cycle(last)}"
        )
    lines += _workers_text(reading.workers, now, reading.lease)
    return "\n".join(lines)


def _workers_text(workers: list[WorkerRow], now: datetime, lease: timedelta) -> list[str]:
    """ "Workers: 2 alive, 1 gone", then one line each with its state."""
    if not workers:
        return ["Workers: none running"]
    states = [w.state(now, lease) for w in workers]
    counts = [f"{states.count(s)} {s}" for s in ("alive", "late", "gone") if s in states]
    lines = [f"Workers: {', '.join(counts)}"]
    for w, state in zip(workers, states, strict=True):
        silent = round((now - w.heartbeat).total_seconds())
        held = counted(w.feeds_held, "feed")
        lines.append(
            f"  {w.worker_id}: {state}, last heartbeat {w.heartbeat:%H:%M:%S} UTC "
            f"({silent} s ago), "
            + (
                f"holding {held}"
                if state != "gone"
                else f"its leases on {held} lapsed (taken over as they fall due)"
            )
            + f", up since {format_time(w.started)}"
        )
    return lines
