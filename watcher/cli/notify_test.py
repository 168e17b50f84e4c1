"""``watcher notify-test``: a test message to each target, or what an alert would look like."""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping

import click

from watcher import __version__
from watcher.app import build_notifiers, check_targets, load
from watcher.cli.common import REDACTOR, common_options
from watcher.core.errors import DeliveryError
from watcher.ports import Notifier
from watcher.render.templates import SAMPLE


@click.command("notify-test")
@click.argument("target", required=False)
@click.option(
    "--render",
    is_flag=True,
    help="Print the alert a sample match would send (title and body, in the target's format) "
    "instead of sending anything.",
)
@common_options
def notify_test(config_path: str | None, target: str | None, render: bool) -> None:
    """Send a test notification to TARGET (default: every target)."""
    config = load(config_path, REDACTOR)
    check_targets(config)
    notifiers = build_notifiers(config, REDACTOR)
    if target is not None and target not in notifiers:
        known = ", ".join(notifiers) or "none"
        raise click.BadParameter(f"unknown target {target!r} (targets: {known})")
    if render:
        sys.exit(1 if render_samples(notifiers, target) else 0)
    title = "feed-watcher test notification"
    body = f"This is a test from feed-watcher {__version__} (config {config.source})."
    sys.exit(1 if _each_target(notifiers, target, lambda _, n: n.send_message(title, body)) else 0)


def render_samples(notifiers: Mapping[str, Notifier], target: str | None) -> int:
    """Print what the sample match would send to each target; how many could not render."""

    def show(name: str, notifier: Notifier) -> None:
        title, body = notifier.render(SAMPLE)
        click.echo(f"--- {name} ---\n{title}\n\n{body}\n")

    return _each_target(notifiers, target, show, report_ok=False)


def _each_target(
    notifiers: Mapping[str, Notifier],
    target: str | None,
    act: Callable[[str, Notifier], None],
    report_ok: bool = True,
) -> int:
    """``act`` on each target (or only ``target``); a target's failure (its template, its
    server) is reported as its own and the others go on. Returns the number that failed."""
    failures = 0
    for name, notifier in notifiers.items():
        if target is not None and name != target:
            continue
        try:
            act(name, notifier)
        except DeliveryError as exc:
            failures += 1
            click.echo(f"{name}: FAILED: {exc.reason}", err=True)
        else:
            if report_ok:
                click.echo(f"{name}: sent", err=True)
    return failures
