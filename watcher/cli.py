"""The ``watcher`` command: thin commands that parse options, call the library and print.

Exit status: 0 success; 1 a feed or a delivery failed (``run --once``, ``notify-test``) or the
database could not be used; 2 the config or the command line is invalid.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import click
from rich.console import Console
from rich.table import Table
from rich.text import Text
from sqlalchemy.exc import SQLAlchemyError

from watcher import __version__
from watcher.adapters.store import masked_database_url
from watcher.app import App, build_notifiers, check_targets, database_url, load, open_app
from watcher.app import open_store as open_store_for
from watcher.config import Config
from watcher.daemon import run_forever, run_once
from watcher.durations import format_duration, parse_duration
from watcher.errors import ConfigError, DeliveryError
from watcher.model import CycleReport, DigestRow, FeedStatus
from watcher.redact import RedactingFilter, Redactor, mask_url
from watcher.render import digest_json, format_digest_markdown, format_time

log = logging.getLogger("watcher")
REDACTOR = Redactor()


def _setup_logging(verbose: int, quiet: bool) -> None:
    level = logging.WARNING if quiet else logging.DEBUG if verbose else logging.INFO
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactingFilter(REDACTOR))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # Third-party chatter stays at WARNING; apprise never below INFO (it logs secrets lower).
    for noisy in ("httpx", "httpcore", "alembic", "apprise"):
        logging.getLogger(noisy).setLevel(logging.INFO if verbose > 1 else logging.WARNING)


def common_options(command: Callable[..., None]) -> Callable[..., None]:
    """``--config``, ``-v`` and ``-q`` on every command, after its own name."""

    @click.option(
        "--config",
        "config_path",
        metavar="PATH",
        envvar="WATCHER_CONFIG",
        help="Config file (default: $WATCHER_CONFIG, ~/.config/feed-watcher/watcher.toml, "
        "/etc/feed-watcher/watcher.toml, then the shipped config).",
    )
    @click.option(
        "-v", "--verbose", count=True, help="Debug logging; -vv adds the libraries' own logs."
    )
    @click.option("-q", "--quiet", is_flag=True, help="Only warnings and errors on stderr.")
    @functools.wraps(command)
    def wrapper(*args: Any, verbose: int, quiet: bool, **kwargs: Any) -> None:
        _setup_logging(verbose, quiet)
        try:
            return command(*args, **kwargs)
        except ConfigError as exc:
            click.echo(REDACTOR(str(exc)), err=True)
            sys.exit(2)
        except SQLAlchemyError as exc:
            reason = REDACTOR(str(getattr(exc, "orig", None) or exc))
            click.echo(f"database error: {reason.strip()}", err=True)
            sys.exit(1)

    return wrapper


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="feed-watcher")
def cli() -> None:
    """Watch news feeds for the stories you care about, and be told once."""


@cli.command()
@click.option("--once", is_flag=True, help="Fetch every feed once, deliver, and exit.")
@common_options
def run(config_path: str | None, once: bool) -> None:
    """Run the watcher: poll each feed on its interval until stopped (SIGINT/SIGTERM).

    With --once, fetch every feed a single time and exit: 0 if all feeds were read,
    1 if any failed (a per-feed summary goes to stderr).
    """
    app = open_app(load(config_path, REDACTOR), REDACTOR)
    try:
        if once:
            report = asyncio.run(run_once(app))
            _print_cycle_summary(report)
            sys.exit(1 if report.failed else 0)
        asyncio.run(run_forever(app))
    finally:
        app.close()


def _print_cycle_summary(report: CycleReport) -> None:
    for outcome in report.failed:
        click.echo(f"FAILED  {outcome.name} ({outcome.url}): {outcome.error}", err=True)
    for outcome in report.outcomes:
        if outcome.warning:
            click.echo(f"WARNING {outcome.name} ({outcome.url}): {outcome.warning}", err=True)
    ok = sum(1 for o in report.outcomes if o.status == "ok")
    unchanged = sum(1 for o in report.outcomes if o.status == "not-modified")
    click.echo(
        f"{len(report.outcomes)} feeds: {ok} ok, {unchanged} not modified, "
        f"{len(report.failed)} failed; {report.new_entries} new entries, "
        f"{report.new_matches} new matches; {report.delivered} notifications sent, "
        f"{report.delivery_failures} failed",
        err=True,
    )


def _parse_since(value: str) -> datetime:
    """``24h``/``7d`` back from now, or a date or ISO timestamp (UTC unless it says)."""
    try:
        return datetime.now(UTC) - parse_duration(value)
    except ValueError:
        pass
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(
            f"{value!r} is neither a duration (24h, 7d) nor a date (2026-09-01)"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@cli.command()
@click.option(
    "--since",
    default="24h",
    show_default=True,
    help="How far back: a duration (24h, 7d) or a date (2026-09-01).",
)
@click.option("--rule", "rules", multiple=True, help="Only this rule (repeatable).")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "json", "markdown"]),
    default="table",
    show_default=True,
    help="Output format.",
)
@click.option("--limit", type=click.IntRange(min=1), help="At most this many matches.")
@common_options
def digest(
    config_path: str | None, since: str, rules: tuple[str, ...], fmt: str, limit: int | None
) -> None:
    """The stored matches, newest first: time, rule, title, source, link."""
    start = _parse_since(since)
    config = load(config_path, REDACTOR)
    store = open_store_for(config, REDACTOR)
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


def _console() -> Console:
    """A terminal console; piped output gets a wide page instead of 80 folded columns."""
    console = Console()
    if not console.is_terminal:
        console = Console(width=160)
    return console


def _print_digest_table(rows: list[DigestRow], start: datetime) -> None:
    console = _console()
    if not rows:
        console.print(f"No matches since {format_time(start)}.", markup=False, highlight=False)
        return
    table = Table(title=f"{len(rows)} matches since {format_time(start)}")
    table.add_column("Time", no_wrap=True)
    table.add_column("Rule", no_wrap=True)
    table.add_column("Title / link", overflow="fold", ratio=3)
    table.add_column("Source", overflow="fold", ratio=1)
    for row in rows:
        # Text(), never a str: feed text must not be read as rich markup.
        headline = Text(row.title or "(untitled)")
        if row.link:
            headline.append("\n" + row.link, style="dim")
        table.add_row(Text(format_time(row.time)), Text(row.rule), headline, Text(row.feed_name))
    console.print(table)


@cli.command()
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "json"]),
    default="table",
    show_default=True,
    help="Output format.",
)
@common_options
def feeds(config_path: str | None, fmt: str) -> None:
    """Each feed: last fetch, last status, entries stored, last error."""
    config = load(config_path, REDACTOR)
    store = open_store_for(config, REDACTOR)
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
        name = Text(status.name)
        if status.name != status.url:
            name.append("\n" + status.url, style="dim")
        table.add_row(
            name,
            Text(state, style="red" if status.last_status == "failed" else ""),
            Text(format_time(status.last_fetch)),
            Text(str(status.entries)),
            Text(status.last_error or status.warning or ""),
        )
    _console().print(table)


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
    }


@cli.command("check-config")
@common_options
def check_config(config_path: str | None) -> None:
    """Validate the config and print it as it will be used (secrets masked)."""
    config = load(config_path, REDACTOR)
    check_targets(config)
    click.echo(_describe_config(config))


def _describe_config(config: Config) -> str:
    lines = [
        f"config:      {config.source}",
        f"database:    {masked_database_url(database_url(config))}",
        f"interval:    {format_duration(config.interval)}",
        f"timeout:     {format_duration(config.timeout)}",
        f"max_body:    {config.max_body} bytes",
        f"concurrency: {config.concurrency}",
        f"feeds ({len(config.feeds)}):",
    ]
    for feed in config.feeds:
        name = f"{feed.name}: " if feed.name else ""
        lines.append(f"  - {name}{feed.url} (every {format_duration(feed.interval)})")
    lines.append(f"rules ({len(config.rules)}):")
    for rule in config.rules:
        targets = ", ".join(config.targets_for(rule)) or "console"
        keywords = ", ".join(json.dumps(k, ensure_ascii=False) for k in rule.keywords)
        lines.append(f"  - {rule.name}: {keywords} -> {targets}")
    lines.append(f"targets ({len(config.targets)}):")
    for target in config.targets:
        lines.append(f"  - {target.name}: {mask_url(target.url)}")
    if not config.targets:
        lines.append("  (none: matches are printed to standard output)")
    return "\n".join(lines)


@cli.command("notify-test")
@click.argument("target", required=False)
@common_options
def notify_test(config_path: str | None, target: str | None) -> None:
    """Send a test notification to TARGET (default: every target)."""
    config = load(config_path, REDACTOR)
    check_targets(config)
    notifiers = build_notifiers(config, REDACTOR)
    if target is not None and target not in notifiers:
        known = ", ".join(notifiers) or "none"
        raise click.BadParameter(f"unknown target {target!r} (targets: {known})")
    failures = 0
    for name, notifier in notifiers.items():
        if target is not None and name != target:
            continue
        try:
            notifier.send_message(
                "feed-watcher test notification",
                f"This is a test from feed-watcher {__version__} (config {config.source}).",
            )
        except DeliveryError as exc:
            failures += 1
            click.echo(f"{name}: FAILED: {exc.reason}", err=True)
        else:
            click.echo(f"{name}: sent", err=True)
    sys.exit(1 if failures else 0)


def main() -> None:
    cli(prog_name="watcher")


__all__ = ["App", "cli", "main"]
