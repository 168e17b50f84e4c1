"""``watcher deliveries``: what is waiting to be sent or gave up, and sending it again."""

from __future__ import annotations

import json
import sys

import click
from rich.table import Table
from rich.text import Text

from watcher.app import load, target_names, utcnow
from watcher.cli.common import REDACTOR, common_options, console, format_option, opened_store
from watcher.core.text import counted
from watcher.core.views import GAVE_UP
from watcher.render.alerts import format_time


@click.group(invoke_without_command=True)
@click.option(
    "--failed",
    is_flag=True,
    help="Only deliveries that gave up: attempts used up, or target no longer in the config.",
)
@click.option("--pending", is_flag=True, help="Only deliveries waiting to be sent or retried.")
@format_option("table", "json")
@common_options
@click.pass_context
def deliveries(
    ctx: click.Context, config_path: str | None, failed: bool, pending: bool, fmt: str
) -> None:
    """List the deliveries not yet sent: pending (due or waiting to retry), failed (attempts
    used up) and orphaned (their target left the config), with attempts and last error."""
    if ctx.invoked_subcommand is not None:
        return
    statuses = [*GAVE_UP] * failed + ["pending"] * pending or ["pending", *GAVE_UP]
    with opened_store(load(config_path, REDACTOR)) as store:
        rows = store.outbox.deliveries(statuses)
    if fmt == "json":
        listed = [
            {
                "id": r.delivery_id, "target": r.target, "status": r.status,
                "attempts": r.attempts, "next_attempt": r.next_attempt.isoformat(),
                "last_error": r.last_error, "rule": r.rule, "entry_id": r.entry_id,
                "title": r.title, "revision": r.revision,
            }
            for r in rows
        ]  # fmt: skip
        click.echo(json.dumps(listed, indent=2, ensure_ascii=False))
        return
    table = Table(title=f"{counted(len(rows), 'delivery', 'deliveries')} ({', '.join(statuses)})")
    for column in ("ID", "Target", "Status", "Attempts", "Next attempt", "Rule / entry", "Error"):
        table.add_column(column, overflow="fold")
    for r in rows:
        table.add_row(
            str(r.delivery_id),
            Text(r.target),
            Text(r.status, style="red" if r.status in GAVE_UP else ""),
            str(r.attempts),
            format_time(r.next_attempt) if r.status == "pending" else "",
            Text(f"{r.rule}: #{r.entry_id} {r.title}"),
            Text(r.last_error or ""),
        )
    console().print(table)


@deliveries.command("retry")
@click.argument("ids", type=int, nargs=-1)
@click.option("--all-failed", is_flag=True, help="Re-queue every failed (or orphaned) delivery.")
@common_options
def retry(config_path: str | None, ids: tuple[int, ...], all_failed: bool) -> None:
    """Re-queue deliveries (by ID, or --all-failed) with a fresh set of attempts; the daemon
    or the next ``watcher run --once`` sends them. Only deliveries to targets the config has
    are re-queued: an orphaned one waits until its target is back."""
    if bool(ids) == all_failed:
        raise click.UsageError("give delivery IDs or --all-failed (one of them)")
    config = load(config_path, REDACTOR)
    with opened_store(config) as store:
        count = store.outbox.requeue(
            None if all_failed else list(ids), utcnow(), target_names(config)
        )
    click.echo(f"re-queued {counted(count, 'delivery', 'deliveries')}")
    sys.exit(0 if count else 1)
