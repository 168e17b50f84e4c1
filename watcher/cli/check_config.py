"""``watcher check-config``: the config as it will be used, or every problem it has."""

from __future__ import annotations

import click

from watcher.app import check_targets, database_url, load, shown_database_url, stored_additions
from watcher.cli.common import REDACTOR, common_options
from watcher.core.durations import format_duration
from watcher.core.redact import mask_feed_url, mask_url
from watcher.core.settings import WEEKDAYS, Config, Feed, StoredRule, Target


@click.command("check-config")
@common_options
def check_config(config_path: str | None) -> None:
    """Validate the config and print it as it will be used (secrets masked)."""
    config = load(config_path, REDACTOR)
    check_targets(config)
    click.echo(_describe_config(config, stored_additions(config)))


def _describe_config(config: Config, added: tuple[list[Feed], list[StoredRule]] | None) -> str:
    lines = [
        f"config:      {config.source}",
        f"database:    {shown_database_url(database_url(config))}",
        f"interval:    {format_duration(config.interval)}",
        f"timeout:     {format_duration(config.timeout)}",
        f"max_body:    {config.max_body} bytes",
        f"concurrency: {config.concurrency}",
        "clustering:  "
        + (
            f"threshold {config.cluster_threshold}, window {format_duration(config.cluster_window)}"
            if config.clustering
            else "off"
        ),
        "retention:   " + (format_duration(config.retention) if config.retention else "forever"),
        f"backlog:     {format_duration(config.backlog)}"
        + (" (notified)" if config.notify_backlog else " (not notified)"),
        f"feeds ({len(config.feeds)}):",
    ]
    for feed in config.feeds:
        name = f"{feed.name}: " if feed.name else ""
        lines.append(
            f"  - {name}{mask_feed_url(feed.url)} (every {format_duration(feed.interval)})"
        )
    feeds, rules = added if added is not None else ([], [])
    if added is None:
        lines.append("feeds added with `watcher feeds add`: (no database yet)")
    else:
        lines.append(f"feeds added with `watcher feeds add` ({len(feeds)}):")
        for feed in feeds:
            name = f"{feed.name}: " if feed.name else ""
            lines.append(
                f"  - {name}{mask_feed_url(feed.url)} (every {format_duration(feed.interval)})"
            )
    lines.append(f"rules ({len(config.rules)}):")
    for rule in config.rules:
        targets = ", ".join(config.targets_for(rule)) or "console"
        scope = "".join(
            f" [{name}: {', '.join(values)}]"
            for name, values in (("feeds", rule.feeds), ("tags", rule.tags))
            if values
        )
        plurals = "" if rule.plurals else " [plurals off]"
        changes = " [also on changes]" if "changed" in rule.notify_on else ""
        lines.append(f"  - {rule.name}: {rule.source}{scope}{plurals}{changes} -> {targets}")
    if added is not None:
        lines.append(f"rules added with `watcher rules add` ({len(rules)}):")
        for name, query, notify in rules:
            targets = ", ".join(notify) if notify else "every target"
            lines.append(f"  - {name}: {query} -> {targets}")
    lines.append(f"targets ({len(config.targets)}):")
    for target in config.targets:
        lines.append(f"  - {target.name}: {mask_url(target.url)} ({_delivery(target)})")
    if not config.targets:
        lines.append("  (none: matches are printed to standard output)")
    return "\n".join(lines)


def _feed_line(feed: Feed) -> str:
    name = f"{feed.name}: " if feed.name else ""
    return f"  - {name}{mask_feed_url(feed.url)} (every {format_duration(feed.interval)})"


def _delivery(target: Target) -> str:
    if target.mode == "batch":
        how = f"batch every {format_duration(target.every)}"
    elif target.mode == "digest" and target.digest is not None:
        times = ", ".join(t.strftime("%H:%M") for t in target.digest.times)
        days = ", ".join(WEEKDAYS[d] for d in sorted(target.digest.days))
        how = f"digest at {times} {target.digest.timezone} on {days}"
    else:
        how = f"instant, at most 1 per {format_duration(target.gap)}"
    rules = f"; rules {', '.join(target.rules)}" if target.rules else ""
    return f"{how}; {target.retry.attempts} attempts{rules}"
