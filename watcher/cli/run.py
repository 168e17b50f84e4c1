"""``watcher run``: the daemon, or one cycle with ``--once``."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Sequence

import click

from watcher.app import load, open_app, utcnow
from watcher.cli.common import REDACTOR, common_options, hold_database, progress
from watcher.core.model import CycleRecord, CycleReport, FeedOutcome
from watcher.core.redact import mask_feed_url
from watcher.core.settings import Feed
from watcher.core.text import counted
from watcher.daemon.loop import held_back, run_forever, run_once
from watcher.render.alerts import describe_cycle


@click.command()
@click.option("--once", is_flag=True, help="Fetch every feed once, deliver, and exit.")
@click.option(
    "--force",
    is_flag=True,
    help="With --once: fetch paused and backing-off feeds too.",
)
@common_options
def run(config_path: str | None, once: bool, force: bool) -> None:
    """Run the watcher: poll each feed on its interval until stopped (SIGINT/SIGTERM).

    With --once, fetch every feed a single time, deliver what is due, and exit: 0 if every
    feed was read and every delivery attempted was accepted, 1 if a feed or a delivery failed
    (a per-feed summary goes to stderr). Paused feeds and feeds backing off
    after failures are skipped (and listed) unless --force; on a database shared by
    workers, so are the feeds another worker holds (leased) at the time, even with --force.
    """
    config = load(config_path, REDACTOR)
    lock = hold_database(config)
    app = open_app(config, REDACTOR, long_lived=not once)
    try:
        if once:
            skip = [] if force else held_back(app)
            _skipped(skip, "paused or backing off")
            with progress("fetching", len(app.feeds()) - len(skip)) as advance:
                report = asyncio.run(
                    run_once(
                        app, skip, lambda: advance(1),
                        lambda held: _skipped(held, "another worker holds it"),
                    )
                )  # fmt: skip
            _print_cycle_summary(report)
            sys.exit(1 if report.failed or report.delivery_failures else 0)
        asyncio.run(run_forever(app))
    finally:
        app.close()
        if lock is not None:
            lock.release()


def _skipped(feeds: Sequence[Feed], why: str) -> None:
    for feed in feeds:
        shown = mask_feed_url(feed.url)
        click.echo(f"SKIPPED {feed.name or shown} ({shown}): {why}", err=True)


def _feed(outcome: FeedOutcome) -> str:
    """``name (url)``, credentials masked."""
    return f"{mask_feed_url(outcome.name)} ({mask_feed_url(outcome.url)})"


def _print_cycle_summary(report: CycleReport) -> None:
    for outcome in report.failed:
        click.echo(f"FAILED  {_feed(outcome)}: {REDACTOR(outcome.error or '')}", err=True)
    for outcome in report.outcomes:
        if outcome.warning:
            click.echo(f"WARNING {_feed(outcome)}: {REDACTOR(outcome.warning)}", err=True)
    now = utcnow()
    click.echo(
        f"{describe_cycle(CycleRecord.of(report, now, now))}; "
        f"{counted(report.delivered, 'notification')} sent, {report.delivery_failures} failed",
        err=True,
    )
