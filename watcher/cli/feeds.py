"""``watcher feeds``: the watched feeds and their state; adding, removing, importing,
exporting and resuming them."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import sys
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from rich.table import Table
from rich.text import Text

from watcher.app import App, load, open_app, utcnow
from watcher.cli.common import (
    REDACTOR,
    common_options,
    console,
    format_option,
    json_flag,
    opened_store,
    progress,
    write_atomically,
)
from watcher.core.durations import parse_duration
from watcher.core.errors import FeedError, ParseError
from watcher.core.model import ParsedFeed
from watcher.core.redact import mask_feed_url
from watcher.core.settings import AddedFeed, in_category
from watcher.core.text import counted
from watcher.core.views import FeedStatus
from watcher.ports import Fetcher
from watcher.render.alerts import format_time

if TYPE_CHECKING:
    from watcher.parsing.discovery import Found


@click.group(invoke_without_command=True)
@format_option("table", "json")
@json_flag
@click.option("--category", help="Only the feeds of this category (as `feeds` lists it).")
@common_options
@click.pass_context
def feeds(ctx: click.Context, config_path: str | None, fmt: str, category: str | None) -> None:
    """Each feed: last fetch, last status, entries stored, last error, and its state (failing
    and when it is tried next, or paused)."""
    if ctx.invoked_subcommand is not None:
        return
    config = load(config_path, REDACTOR)
    with opened_store(config) as store:
        statuses = store.reports.feed_statuses()
    if category is not None:
        statuses = [s for s in statuses if in_category(s.category, category)]
    if fmt == "json":
        click.echo(json.dumps([_feed_json(s) for s in statuses], indent=2, ensure_ascii=False))
        return
    table = Table(title=counted(len(statuses), "feed"))
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
        if status.category:
            name.append(f"\ncategory {status.category}", style="cyan")
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
    with opened_store(load(config_path, REDACTOR)) as store:
        urls = store.feeds.resume(feed, utcnow())
    if not urls:
        click.echo(f"no feed {feed!r}", err=True)
        sys.exit(1)
    for url in urls:
        click.echo(f"resumed {mask_feed_url(url)}")


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
        "category": status.category,
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


def _interval(value: str | None) -> timedelta | None:
    if value is None:
        return None
    try:
        interval = parse_duration(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--interval") from None
    if interval < timedelta(seconds=1):
        raise click.BadParameter("must be at least 1s", param_hint="--interval")
    return interval


def _feed_url(value: str) -> str:
    """A URL as given, or a path to a local file as its file:// URL."""
    if "://" in value:
        if not value.lower().startswith(("http://", "https://", "file://")):
            raise click.BadParameter("must be an http://, https:// or file:// URL, or a path")
        return value
    return Path(value).expanduser().resolve().as_uri()


async def _read(app: App, url: str, pick: int) -> tuple[str, ParsedFeed, list[Found]]:
    """The feed at ``url``; or, when that is a web page, the ``pick``-th feed it links to
    (and all it links to)."""
    # feedparser and lxml: imported by the commands that parse
    from watcher.parsing.discovery import LOOKED_FOR, discover, looks_like_page
    from watcher.parsing.document import parse_feed

    tracking = app.config.tracking_params
    async with app.fetcher() as fetcher:
        fetched = await fetcher.fetch(url, None)
        assert fetched.body is not None  # no validators were sent, so no 304
        try:
            return url, parse_feed(url, fetched.body, fetched.content_type, tracking), []
        except ParseError:
            if not looks_like_page(fetched.body, fetched.content_type):
                raise
        found = discover(url, fetched.body)
        if not found:
            raise ParseError(url, f"an HTML page that links to no feed (looked for {LOOKED_FOR})")
        if pick > len(found):
            raise ParseError(url, f"--pick {pick}, but the page links to {len(found)} feed(s)")
        chosen = found[pick - 1].url
        REDACTOR.add_feeds([chosen])
        fetched = await fetcher.fetch(chosen, None)
        assert fetched.body is not None
        return chosen, parse_feed(chosen, fetched.body, fetched.content_type, tracking), found


@feeds.command("add")
@click.argument("url")
@click.option("--name", help="The feed's name in alerts and listings (default: its title).")
@click.option("--interval", help="How often to poll it, e.g. 30m (default: [watcher] interval).")
@click.option("--category", help="Its category, e.g. China (rules and digests can keep to one).")
@click.option(
    "--pick",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="When URL is a web page: which of the feeds it links to (they are listed).",
)
@common_options
def add(
    config_path: str | None,
    url: str,
    name: str | None,
    interval: str | None,
    category: str | None,
    pick: int,
) -> None:
    """Watch the feed at URL (or a local file): it is fetched once to check that it is a
    feed, then polled by `watcher run` from its next pass on (no restart needed). Given a web
    page, the feeds it links to are listed and the first (or --pick N) is added."""
    every = _interval(interval)
    url = _feed_url(url)
    REDACTOR.add_feeds([url])
    app = open_app(load(config_path, REDACTOR), REDACTOR)
    try:
        try:
            feed_url, parsed, found = asyncio.run(_read(app, url, pick))
        except FeedError as exc:
            click.echo(f"not added: {mask_feed_url(url)}: {REDACTOR(exc.reason)}", err=True)
            sys.exit(1)
        added = AddedFeed(feed_url, name, every, (category or "").strip() or None)
        known = app.store.feeds.add_feeds([added], utcnow())
    finally:
        app.close()
    if found:
        click.echo(
            f"{mask_feed_url(url)} is a web page; it links to {counted(len(found), 'feed')}:"
        )
        for number, feed in enumerate(found, 1):
            title = f"{feed.title} " if feed.title else ""
            click.echo(f"  {number}. {title}({feed.kind}) {mask_feed_url(feed.url)}")
    shown = mask_feed_url(feed_url)
    if known:
        click.echo(f"already watched: {shown}")
        return
    click.echo(
        f"added {shown}: {parsed.title or '(untitled)'}, {counted(len(parsed.entries), 'item')}"
        + (f" (feed {pick} of the page; --pick N for another)" if len(found) > 1 else "")
    )
    if parsed.warning:
        click.echo(f"warning: {parsed.warning}", err=True)


@feeds.command("remove")
@click.argument("feed")
@click.option("--purge", is_flag=True, help="Delete its stored entries and matches too.")
@common_options
def remove(config_path: str | None, feed: str, purge: bool) -> None:
    """Stop watching FEED (its URL or name), added with `feeds add` or `feeds import`. Its
    stored entries stay (in the digest and for `watcher show`) unless --purge."""
    config = load(config_path, REDACTOR)
    with opened_store(config) as store:
        removed = store.feeds.remove_feed(feed, purge)
    if removed is None:
        click.echo(f"no feed {feed!r} is watched", err=True)
        sys.exit(1)
    url, origin = removed
    if origin == "config":
        click.echo(
            f"{mask_feed_url(url)} is declared in {config.source}: remove it there", err=True
        )
        sys.exit(2)
    click.echo(
        f"removed {mask_feed_url(url)}"
        + (" and its entries" if purge else " (its entries are kept)")
    )


@feeds.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, allow_dash=True))
@common_options
def import_opml(config_path: str | None, file: str) -> None:
    """Watch every feed listed in an OPML file (from any feed reader), at any depth of
    folders. Feeds already watched are left as they are. An entry that gives only a web page
    (``htmlUrl``) gets the first feed that page links to."""
    from watcher.parsing.opml import OpmlError, read_opml  # lxml: imported by the commands using it

    data = sys.stdin.buffer.read() if file == "-" else Path(file).read_bytes()
    try:
        outlines = read_opml(data)
    except OpmlError as exc:
        click.echo(f"{file}: {exc}", err=True)
        sys.exit(2)
    config = load(config_path, REDACTOR)
    pages = [outline for outline in outlines if outline.page]
    if pages:
        app = open_app(config, REDACTOR)
        try:
            discovered = asyncio.run(_discover_all(app, [outline.url for outline in pages]))
        finally:
            app.close()
        kept = []
        for outline in outlines:
            feed = discovered.get(outline.url) if outline.page else outline.url
            if feed is not None:
                kept.append(dataclasses.replace(outline, url=feed, page=False))
        outlines = kept
    known: list[str] = []
    with opened_store(config) as store, progress("importing", len(outlines)) as advance:
        for start in range(0, len(outlines), 100):
            batch = outlines[start : start + 100]
            added = [AddedFeed(o.url, o.title, category=o.folder) for o in batch]
            known += store.feeds.add_feeds(added, utcnow())
            advance(len(batch))
    click.echo(
        f"imported {counted(len(outlines) - len(known), 'feed')} from {file}"
        + (
            f"; {len(known)} {'was' if len(known) == 1 else 'were'} already watched"
            if known
            else ""
        )
    )


async def _discover_all(app: App, pages: list[str]) -> dict[str, str | None]:
    """The first feed each page links to (None: none, or the page could not be read); each
    page found or not is said, those with none on stderr."""
    from watcher.parsing.discovery import discover  # lxml: imported by the commands using it

    REDACTOR.add_feeds(pages)
    limit = asyncio.Semaphore(app.config.concurrency)

    async def first_feed(fetcher: Fetcher, page: str) -> str | None:
        async with limit:
            try:
                fetched = await fetcher.fetch(page, None)
            except FeedError as exc:
                click.echo(f"no feed for {mask_feed_url(page)}: {REDACTOR(exc.reason)}", err=True)
                return None
        found = discover(page, fetched.body or b"")
        if not found:
            click.echo(f"no feed for {mask_feed_url(page)}: it links to none", err=True)
            return None
        click.echo(f"{mask_feed_url(page)} is a web page: its feed {mask_feed_url(found[0].url)}")
        return found[0].url

    async with app.fetcher() as fetcher:
        feeds = await asyncio.gather(*(first_feed(fetcher, page) for page in pages))
    return dict(zip(pages, feeds, strict=True))


@feeds.command("export")
@click.option(
    "--output", "-o", type=click.Path(dir_okay=False), help="Write to this file, not stdout."
)
@common_options
def export_opml(config_path: str | None, output: str | None) -> None:
    """Every watched feed (the config file's and those added here) as OPML 2.0, for another
    reader or another feed-watcher: `watcher feeds export > feeds.opml`."""
    with opened_store(load(config_path, REDACTOR)) as store:
        # Display names: a feed without a configured name goes by its title.
        watched = [
            (s.url, s.name, s.category) for s in store.reports.feed_statuses() if s.configured
        ]
    from watcher.parsing.opml import write_opml

    text = write_opml(watched, "feed-watcher feeds", utcnow())
    if output is None:
        click.echo(text, nl=False)
    else:
        write_atomically(Path(output), text)
