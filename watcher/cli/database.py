"""``watcher db``: the database itself. ``db migrate --to URL`` copies everything into another
database, for users who outgrow SQLite and move to PostgreSQL."""

from __future__ import annotations

import sys

import click

from watcher.app import copy_database_to, database_url, load, shown_database_url
from watcher.cli.common import REDACTOR, common_options, hold_database, progress
from watcher.core.errors import StoreError
from watcher.core.text import counted


@click.group()
def db() -> None:
    """The database: copy it elsewhere."""


@db.command("migrate")
@click.option(
    "--to",
    "target_url",
    required=True,
    metavar="URL",
    help="The database to copy into, e.g. postgresql+psycopg://user@host/watcher (empty).",
)
@common_options
def migrate_to(config_path: str | None, target_url: str) -> None:
    """Copy every feed, entry, story, match and delivery from the configured database into
    an empty one (its schema is created). Stop `watcher run` first; afterwards point
    `[watcher] database` at the new URL."""
    config = load(config_path, REDACTOR)
    source_url = database_url(config)
    lock = hold_database(config)  # no daemon may write while we read
    try:
        with progress("copying rows", None) as advance:
            copied = copy_database_to(source_url, target_url, REDACTOR, advance)
    except ValueError as exc:
        click.echo(f"{shown_database_url(target_url)}: {exc}", err=True)
        sys.exit(1)
    except StoreError as exc:
        reason = REDACTOR(str(exc)).strip()
        click.echo(f"copy failed, nothing was committed to the target: {reason}", err=True)
        sys.exit(1)
    finally:
        if lock is not None:
            lock.release()
    total = sum(copied.values())
    click.echo(
        f"copied {counted(total, 'row')} into {shown_database_url(target_url)} "
        f"({counted(copied.get('feeds', 0), 'feed')}, "
        f"{counted(copied.get('entries', 0), 'entry', 'entries')}, "
        f"{counted(copied.get('deliveries', 0), 'delivery', 'deliveries')})"
    )
    click.echo("now set [watcher] database to the new URL in the config and start watcher run")
