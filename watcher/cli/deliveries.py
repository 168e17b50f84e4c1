"""``watcher deliveries``: what is waiting to be sent or gave up, and sending it again."""

from __future__ import annotations

import json
import sys

import click
from rich.table import Table
from rich.text import Text

from watcher.app import load, utcnow
from watcher.cli.common import REDACTOR, common_options, console, format_option, opened_store
from watcher.render import format_time


@click.group(invoke_without_command=True)
@click.option("--failed", is_flag=True, help="Only deliveries that used up their attempts.")
@click.option("--pending", is_flag=True, help="Only deliveries waiting to be sent or retried.")
@format_option("table", "json")
@common_options
@click.pass_context
def deliveries(
    ctx: click.Context, config_path: str | None, failed: bool, pending: bool, fmt: str
) -> None:
    """List the deliveries not yet sent: pending (due or waiting to retry) and failed, with
    their attempts and last error."""
    if ctx.invoked_subcommand is not None:
        return
    statuses = ["failed"] * failed + ["pending"] * pending or ["pending", "failed"]
    with opened_store(load(config_path, REDACTOR)) as store:
        rows = store.deliveries(statuses)
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
    table = Table(title=f"{len(rows)} deliveries ({', '.join(statuses)})")
    for column in ("ID", "Target", "Status", "Attempts", "Next attempt", "Rule / entry", "Error"):
        table.add_column(column, overflow="fold")
    for r in rows:
        table.add_row(
            str(r.delivery_id),
            Text(r.target),
            Text(r.status, style="red" if r.status == "failed" else ""),
            str(r.attempts),
            format_time(r.next_attempt) if r.status == "pending" else "",
            Text(f"{r.rule}: #{r.entry_id} {r.title}"),
            Text(r.last_error or ""),
        )
    console().print(table)


@deliveries.command("retry")
@click.argument("ids", type=int, nargs=-1)
@click.option("--all-failed", is_flag=True, help="Re-queue every failed delivery.")
@common_options
def retry(config_path: str | None, ids: tuple[int, ...], all_failed: bool) -> None:
    """Re-queue deliveries (by ID, or --all-failed) with a fresh set of attempts; the daemon
    or the next ``watcher run --once`` sends them."""
    if bool(ids) == all_failed:
        raise click.UsageError("give delivery IDs or --all-failed (one of them)")
    with opened_store(load(config_path, REDACTOR)) as store:
        count = store.requeue(None if all_failed else list(ids), utcnow())
    click.echo(f"re-queued {count} deliveries")
    sys.exit(0 if count else 1)
