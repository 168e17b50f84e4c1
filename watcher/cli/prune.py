"""``watcher prune``: retention by hand (the daemon does it once a day)."""

from __future__ import annotations

import click

from watcher.app import load, utcnow
from watcher.cli.common import REDACTOR, common_options, opened_store
from watcher.core.text import counted


@click.command()
@common_options
def prune(config_path: str | None) -> None:
    """Remove the bodies and revisions of entries older than [watcher] retention (their
    identity stays, so they never notify again) and print the database size before and after."""
    config = load(config_path, REDACTOR)
    with opened_store(config) as store:
        report = store.upkeep.prune(utcnow(), config.retention, config.cluster_window)
    click.echo(
        f"pruned {counted(report.bodies, 'entry body', 'entry bodies')}, "
        f"{counted(report.revisions, 'revision')}, "
        f"{counted(report.bands, 'near-duplicate index row')}; database "
        f"{_size(report.size_before)} → {_size(report.size_after)}"
    )


def _size(value: int | None) -> str:
    if value is None:
        return "?"
    return f"{value / 1e6:.1f} MB" if value >= 100_000 else f"{value / 1e3:.0f} kB"
