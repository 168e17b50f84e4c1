"""Reading what was stored: ``watcher digest`` and ``watcher feeds``."""

from __future__ import annotations

import json
import sys
from datetime import datetime
from typing import Any

import click
from rich.table import Table
from rich.text import Text

from watcher.app import load, open_store, utcnow
from watcher.cli.common import REDACTOR, common_options, console, format_option, parse_since
from watcher.model import DigestRow, FeedStatus
from watcher.render import digest_json, format_digest_markdown, format_time, spans_of


@click.command()
@click.option(
    "--since",
    default="24h",
    show_default=True,
    help="How far back: a duration (24h, 7d) or a date (2026-09-01).",
)
@click.option("--rule", "rules", multiple=True, help="Only this rule (repeatable).")
@format_option("table", "json", "markdown")
@click.option("--limit", type=click.IntRange(min=1), help="At most this many matches.")
@common_options
def digest(
    config_path: str | None, since: str, rules: tuple[str, ...], fmt: str, limit: int | None
) -> None:
    """The stored matches, newest first: time, rule, title, source, link."""
    start = parse_since(since)
    config = load(config_path, REDACTOR)
    store = open_store(config, REDACTOR)
    try:
        rows = store.digest(start, rules, limit)
    finally:
        store.engine.dispose()
    if fmt == "json":
        click.echo(digest_json(rows))
    elif fmt == "markdown":
        click.echo(format_digest_markdown(rows, f"feed-watcher digest since {format_time(start)}"))
    else:
        _print_digest_table(rows, start)


def _print_digest_table(rows: list[DigestRow], start: datetime) -> None:
    out = console()
    if not rows:
        out.print(f"No matches since {format_time(start)}.", markup=False, highlight=False)
        return
    table = Table(
        title=f"{len(rows)} matches since {format_time(start)}",
        caption="ID: see it with `watcher show ID`; +N: also reported by N other sources",
    )
    table.add_column("ID", no_wrap=True, justify="right")
    table.add_column("Time", no_wrap=True)
    table.add_column("Rule", no_wrap=True)
    table.add_column("Title / link", overflow="fold", ratio=3)
    table.add_column("Source", overflow="fold", ratio=1)
    for row in rows:
        # Text(), never a str: feed text must not be read as rich markup.
        headline = Text(row.title or "(untitled)")
        for first, last in spans_of(row.hits, "title"):
            headline.stylize("bold", first, last)
        if row.link:
            headline.append("\n" + row.link, style="dim")
        source = Text(row.feed_name)
        if len(row.sources) > 1:
            source.append(f" +{len(row.sources) - 1}", style="bold")
        table.add_row(
            Text(str(row.entry_id)), Text(format_time(row.time)), Text(row.rule), headline, source
        )
    out.print(table)


@click.group(invoke_without_command=True)
@format_option("table", "json")
@common_options
@click.pass_context
def feeds(ctx: click.Context, config_path: str | None, fmt: str) -> None:
    """Each feed: last fetch, last status, entries stored, last error, and its state (failing
    and when it is tried next, or paused)."""
    if ctx.invoked_subcommand is not None:
        return
    config = load(config_path, REDACTOR)
    store = open_store(config, REDACTOR)
    try:
        statuses = store.feed_statuses()
    finally:
        store.engine.dispose()
    if fmt == "json":
        click.echo(json.dumps([_feed_json(s) for s in statuses], indent=2, ensure_ascii=False))
        return
    table = Table(title=f"{len(statuses)} feeds")
    table.add_column("Name / URL", overflow="fold", ratio=2)
    table.add_column("Status", no_wrap=True)
    table.add_column("Last fetch", no_wrap=True)
    table.add_column("Entries", justify="right")
    table.add_column("Last error / warning", overflow="fold", ratio=2)
    for status in statuses:
        state = status.last_status or "never fetched"
        if not status.configured:
            state += " (not in config)"
        if status.paused:
            state = "paused (resume: watcher feeds resume)"
        elif status.failures:
            state += (
                f"\n×{status.failures} since {format_time(status.failing_since)}"
                f"\nnext try {format_time(status.next_fetch)}"
            )
        if status.guid_churn:
            state += f"\nguid churn ×{status.guid_churn}"
        name = Text(status.name)
        if status.name != status.url:
            name.append("\n" + status.url, style="dim")
        if status.moved_to:
            name.append(f"\nmoved to {status.moved_to}", style="yellow")
        table.add_row(
            name,
            Text(state, style="red" if status.last_status == "failed" else ""),
            Text(format_time(status.last_fetch) + _size_and_time(status)),
            Text(str(status.entries)),
            Text(status.last_error or status.warning or ""),
        )
    console().print(table)


@feeds.command("resume")
@click.argument("feed")
@common_options
def resume(config_path: str | None, feed: str) -> None:
    """Fetch a paused feed (FEED: its URL or name) again, from the next cycle on."""
    store = open_store(load(config_path, REDACTOR), REDACTOR)
    try:
        urls = store.resume(feed, utcnow())
    finally:
        store.engine.dispose()
    if not urls:
        click.echo(f"no feed {feed!r}", err=True)
        sys.exit(1)
    for url in urls:
        click.echo(f"resumed {url}")


def _feed_json(status: FeedStatus) -> dict[str, Any]:
    return {
        "url": status.url,
        "name": status.name,
        "configured": status.configured,
        "last_fetch": status.last_fetch.isoformat() if status.last_fetch else None,
        "last_status": status.last_status,
        "entries": status.entries,
        "last_error": status.last_error,
        "warning": status.warning,
        "guid_churn": status.guid_churn,
        "failures": status.failures,
        "failing_since": status.failing_since.isoformat() if status.failing_since else None,
        "next_fetch": status.next_fetch.isoformat() if status.next_fetch else None,
        "paused": status.paused,
        "moved_to": status.moved_to,
        "last_bytes": status.last_bytes,
        "last_duration_ms": status.last_duration_ms,
    }


def _size_and_time(status: FeedStatus) -> str:
    """What the last fetch brought and took: "\n48 KB in 120 ms"."""
    parts = []
    if status.last_bytes is not None:
        parts.append(
            f"{status.last_bytes / 1000:.0f} KB"
            if status.last_bytes >= 1000
            else f"{status.last_bytes} B"
        )
    if status.last_duration_ms is not None:
        parts.append(f"{status.last_duration_ms} ms")
    return "\n" + " in ".join(parts) if parts else ""
