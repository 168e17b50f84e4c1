"""Feed management from the command line: ``watcher feeds add``, ``remove``, ``import`` and
``export``. Feeds added here live in the database beside the config file's; the config file
stays the only authority on the feeds it declares."""

from __future__ import annotations

import asyncio
import sys
from datetime import timedelta
from pathlib import Path

import click

from watcher.app import App, load, open_app, utcnow
from watcher.cli.common import (
    REDACTOR,
    common_options,
    opened_store,
    progress,
    write_atomically,
)
from watcher.cli.reading import feeds
from watcher.durations import parse_duration
from watcher.errors import FeedError
from watcher.model import ParsedFeed
from watcher.redact import mask_feed_url
from watcher.render import counted


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


async def _read(app: App, url: str) -> ParsedFeed:
    from watcher.parse import parse_feed  # feedparser: imported by the commands that parse

    async with app.fetcher() as fetcher:
        fetched = await fetcher.fetch(url, None)
    assert fetched.body is not None  # no validators were sent, so no 304
    return parse_feed(url, fetched.body, fetched.content_type, app.config.tracking_params)


@feeds.command("add")
@click.argument("url")
@click.option("--name", help="The feed's name in alerts and listings (default: its title).")
@click.option("--interval", help="How often to poll it, e.g. 30m (default: [watcher] interval).")
@common_options
def add(config_path: str | None, url: str, name: str | None, interval: str | None) -> None:
    """Watch the feed at URL (or a local file): it is fetched once to check that it is a
    feed, then polled by `watcher run` from its next pass on (no restart needed)."""
    every = _interval(interval)
    url = _feed_url(url)
    REDACTOR.add_feeds([url])
    shown = mask_feed_url(url)
    app = open_app(load(config_path, REDACTOR), REDACTOR)
    try:
        try:
            parsed = asyncio.run(_read(app, url))
        except FeedError as exc:
            click.echo(f"not added: {shown}: {REDACTOR(exc.reason)}", err=True)
            sys.exit(1)
        known = app.store.add_feeds([(url, name, every)], utcnow())
    finally:
        app.close()
    if known:
        click.echo(f"already watched: {shown}")
        return
    click.echo(
        f"added {shown}: {parsed.title or '(untitled)'}, {counted(len(parsed.entries), 'item')}"
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
        removed = store.remove_feed(feed, purge)
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
    folders. Feeds already watched are left as they are."""
    from watcher.opml import OpmlError, read_opml  # lxml: imported by the commands using it

    data = sys.stdin.buffer.read() if file == "-" else Path(file).read_bytes()
    try:
        outlines = read_opml(data)
    except OpmlError as exc:
        click.echo(f"{file}: {exc}", err=True)
        sys.exit(2)
    known: list[str] = []
    config = load(config_path, REDACTOR)
    with opened_store(config) as store, progress("importing", len(outlines)) as advance:
        for start in range(0, len(outlines), 100):
            batch = outlines[start : start + 100]
            known += store.add_feeds([(o.url, o.title, None) for o in batch], utcnow())
            advance(len(batch))
    click.echo(
        f"imported {counted(len(outlines) - len(known), 'feed')} from {file}"
        + (
            f"; {len(known)} {'was' if len(known) == 1 else 'were'} already watched"
            if known
            else ""
        )
    )


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
        watched = [(s.url, s.name) for s in store.feed_statuses() if s.configured]
    from watcher.opml import write_opml

    text = write_opml(watched, "feed-watcher feeds", utcnow())
    if output is None:
        click.echo(text, nl=False)
    else:
        write_atomically(Path(output), text)
