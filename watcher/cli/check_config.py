"""``watcher check-config``: the config as it will be used, or every problem it has."""

from __future__ import annotations

import urllib.request

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
        f"proxy:       {_proxy(config)}",
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
    lines += [_feed_line(feed) for feed in config.feeds]
    feeds, rules = added if added is not None else ([], [])
    if added is None:
        lines.append("feeds added with `watcher feeds add`: (no database yet)")
    else:
        lines.append(f"feeds added with `watcher feeds add` ({len(feeds)}):")
        lines += [_feed_line(feed) for feed in feeds]
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
    """A feed, how often, and what its requests carry (header names, never their values)."""
    name = f"{feed.name}: " if feed.name else ""
    details = [f"every {format_duration(feed.interval)}"]
    if feed.category:
        details.append(f"category {feed.category}")
    headers = [header for header, _ in feed.access.headers]
    if headers:
        secret = feed.access.secret
        shown = (f"{h} (secret)" if h.lower() in secret else h for h in headers)
        details.append("headers " + ", ".join(shown))
    if feed.access.proxy:
        details.append(f"proxy {mask_feed_url(feed.access.proxy)}")
    return f"  - {name}{mask_feed_url(feed.url)} ({'; '.join(details)})"


def _proxy(config: Config) -> str:
    """The proxy feeds go through: the config's, else the environment's (which httpx
    honours), with the hosts reached directly."""
    direct = f" (not for {', '.join(config.no_proxy)})" if config.no_proxy else ""
    if config.proxy:
        return f"{mask_feed_url(config.proxy)}{direct}"
    found = urllib.request.getproxies()
    given = [f"{scheme}: {mask_feed_url(url)}" for scheme, url in found.items() if scheme != "no"]
    if not given:
        return "none" + direct
    skipped = f", not for {found['no']}" if found.get("no") else ""
    return f"from the environment ({'; '.join(given)}{skipped}){direct}"


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
