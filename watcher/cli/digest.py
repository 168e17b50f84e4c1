"""``watcher digest``: the stored matches, by rule and story, in a choice of formats."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import nullcontext
from dataclasses import replace
from datetime import datetime
from pathlib import Path

import click
from rich.table import Table
from rich.text import Text

from watcher.app import OpenStore, load, utcnow
from watcher.cli.common import (
    REDACTOR,
    common_options,
    console,
    format_option,
    opened_store,
    parse_since,
    write_atomically,
)
from watcher.core.matching.matcher import Matcher
from watcher.core.matching.tree import QueryError
from watcher.core.views import DigestQuery, DigestRow
from watcher.render.alerts import format_time, highlight, spans_of
from watcher.render.digest import (
    DigestPage,
    by_rule,
    delivered,
    search_matcher,
    searched,
    to_atom,
    to_csv,
    to_json,
    to_markdown,
)


@click.command()
@click.option(
    "--since",
    default="24h",
    show_default=True,
    help="Matches found this far back: a duration (24h, 7d) or a date (2026-09-01).",
)
@click.option("--until", help="Matches found before this: a duration back or a date.")
@click.option("--rule", "rules", multiple=True, help="Only this rule (repeatable).")
@click.option(
    "--feed", "feed_names", multiple=True, help="Only from this feed, by name or URL (repeatable)."
)
@click.option(
    "--search", metavar="QUERY", help="Only stories matching QUERY (the rules' query language)."
)
@click.option("--category", help="Only from feeds of this category (or a folder inside it).")
@click.option("--changed", is_flag=True, help="Only stories that changed after first seen.")
@click.option("--limit", type=click.IntRange(min=1), help="At most this many stories.")
@format_option("table", "markdown", "json", "csv", "html", "atom")
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, writable=True),
    help="Write to this file (atomically: readers never see half of it) instead of stdout.",
)
@common_options
def digest(
    config_path: str | None,
    since: str,
    until: str | None,
    rules: tuple[str, ...],
    feed_names: tuple[str, ...],
    search: str | None,
    category: str | None,
    changed: bool,
    limit: int | None,
    fmt: str,
    output: str | None,
) -> None:
    """The stored matches grouped by rule, then story, newest first: each story once, with
    its time, headline (matched words highlighted), source, the other outlets that reported
    it, and where it was delivered.

    Filters combine: --rule A --rule B shows either rule; every other filter must hold too.
    """
    matcher = _search_matcher(search)
    start, end = parse_since(since), parse_since(until) if until else None
    wanted = DigestQuery(
        start, end, rules, feed_names, changed, None if matcher else limit, category
    )
    config = load(config_path, REDACTOR)
    with opened_store(config) as store:
        rows = store.reports.digest(wanted)
        now = utcnow()
        if fmt == "html":  # the trend of each rule shown, read while the store is open
            render = _charted(store, wanted, now, rules or [r.name for r in config.rules])
        else:
            render = _RENDERERS.get(fmt, _plain_text)
    if matcher is not None:
        rows = searched(rows, matcher, limit)
    filters = {
        "rules": list(rules), "feeds": list(feed_names), "category": category, "search": search
    }  # fmt: skip
    page = DigestPage(
        tuple(rows),
        now,
        start,
        end,
        (*filters.items(), ("changed", changed), ("limit", limit)),
    )
    if fmt == "table" and output is None:
        _print_digest_table(page)
        return
    text = render(page)
    if output is None:
        click.echo(text, nl=not text.endswith("\n"))
    else:
        write_atomically(Path(output), text)


def _charted(
    store: OpenStore, wanted: DigestQuery, now: datetime, rules: Sequence[str]
) -> Callable[[DigestPage], str]:
    """The HTML page's renderer, with each rule's matches per day over the last 30 days
    (imported here: the charts and the page cost every other command's start nothing)."""
    from watcher.render.chart import span_start, trends
    from watcher.render.page import to_html

    counted = replace(wanted, since=span_start(now), until=None, limit=None)
    drawn = trends(store.reports.match_times(counted), now, rules)
    return lambda page: to_html(page, drawn)


def _search_matcher(search: str | None) -> Matcher | None:
    if search is None:
        return None
    try:
        return search_matcher(search)
    except QueryError as exc:
        raise click.BadParameter(exc.explain(), param_hint="--search") from None


_RENDERERS = {
    "markdown": to_markdown, "json": to_json, "csv": to_csv, "atom": to_atom,
}  # fmt: skip


def _print_digest_table(page: DigestPage) -> None:
    """A table per rule on a terminal (through a pager when longer than the screen); plain
    lines when piped."""
    out = console()
    if not out.is_terminal:
        click.echo(_plain_text(page), nl=False)
        return
    if not page.rows:
        out.print(f"No matches {page.span}.", markup=False, highlight=False)
        return
    tables = [_rule_table(rule, rows) for rule, rows in by_rule(page.rows)]
    with out.pager(styles=True) if len(page.rows) * 3 > out.height else nullcontext():
        out.print(Text(page.title, style="bold"))
        for table in tables:
            out.print(table)
        out.print(
            Text("ID: see it with `watcher show ID`; +N: also reported by N other sources"),
            style="dim",
        )


def _rule_table(rule: str, rows: list[DigestRow]) -> Table:
    table = Table(title=f"{rule} ({len(rows)})", title_justify="left", expand=True)
    table.add_column("ID", no_wrap=True, justify="right")
    table.add_column("Time", no_wrap=True)
    table.add_column("Title / link", overflow="fold", ratio=3)
    table.add_column("Source", overflow="fold", ratio=1)
    table.add_column("Delivered", overflow="fold", ratio=1)
    for row in rows:
        # Text(), never a str: feed text must not be read as rich markup.
        headline = Text(row.title or "(untitled)")
        for first, last in spans_of(row.hits, "title"):
            headline.stylize("bold yellow", first, last)
        if row.revision:
            headline.append(" (changed)", style="red")
        if row.link:
            headline.append("\n" + row.link, style="dim")
        source = Text(row.feed_name)
        if len(row.sources) > 1:
            source.append(f" +{len(row.sources) - 1}", style="bold")
        table.add_row(
            Text(str(row.entry_id)), Text(format_time(row.time)), headline, source,
            Text(delivered(row)),
        )  # fmt: skip
    return table


def _plain_text(page: DigestPage) -> str:
    """One line per story under a heading per rule, for pipes and files."""
    if not page.rows:
        return f"No matches {page.span}.\n"
    lines = [page.title, ""]
    for rule, rows in by_rule(page.rows):
        lines.append(f"{rule} ({len(rows)})")
        for row in rows:
            others = f" +{len(row.sources) - 1}" if len(row.sources) > 1 else ""
            changed = " (changed)" if row.revision else ""
            lines.append(
                f"  #{row.entry_id}  {format_time(row.time)}  "
                f"{highlight(row.title or '(untitled)', spans_of(row.hits, 'title'), 'brackets')}"
                f"{changed} — {row.feed_name}{others}; {delivered(row)}"
            )
            if row.link:
                lines.append(f"      {row.link}")
        lines.append("")
    return "\n".join(lines)
