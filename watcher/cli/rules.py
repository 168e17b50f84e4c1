"""``watcher rules``: the rules with their recent match counts, and ``watcher rules test``, a
dry run of a query or a rule on a text or on the stored entries (nobody is notified)."""

from __future__ import annotations

import json
import sys
from typing import Any

import click
from rich.table import Table
from rich.text import Text

from watcher.app import load, open_store, utcnow
from watcher.cli.common import (
    REDACTOR,
    common_options,
    console,
    format_option,
    json_flag,
    parse_since,
)
from watcher.config import Rule, make_rule
from watcher.matching.matcher import Matcher
from watcher.matching.query import QueryError
from watcher.model import Entry, Hit, Match, StoredEntry
from watcher.render import format_time, highlight, spans_of


@click.group(invoke_without_command=True)
@format_option("table", "json")
@json_flag
@common_options
@click.pass_context
def rules(ctx: click.Context, config_path: str | None, fmt: str) -> None:
    """List the rules, with how many matches each found in the last 24 hours and 7 days."""
    if ctx.invoked_subcommand is not None:
        return
    config = load(config_path, REDACTOR)
    store = open_store(config, REDACTOR)
    try:
        counts = store.rule_counts(utcnow())
    finally:
        store.engine.dispose()
    listed = [
        {
            "name": rule.name,
            "query": rule.source,
            "targets": list(config.targets_for(rule)) or ["console"],
            "matches_24h": counts.get(rule.name, (0, 0))[0],
            "matches_7d": counts.get(rule.name, (0, 0))[1],
        }
        for rule in config.rules
    ]
    if fmt == "json":
        click.echo(json.dumps(listed, indent=2, ensure_ascii=False))
        return
    table = Table(title=f"{len(listed)} rules")
    table.add_column("Rule", no_wrap=True)
    table.add_column("Query", overflow="fold", ratio=3)
    table.add_column("Targets", overflow="fold")
    table.add_column("24 h", justify="right")
    table.add_column("7 d", justify="right")
    for rule in config.rules:
        day, week = counts.get(rule.name, (0, 0))
        targets = ", ".join(config.targets_for(rule)) or "console"
        table.add_row(Text(rule.name), Text(rule.source), Text(targets), str(day), str(week))
    console().print(table)


@rules.command("test")
@click.argument("query", required=False)
@click.option("--rule", "rule_name", metavar="NAME", help="Try this rule from the config instead.")
@click.option(
    "--text",
    help="The text to try: its first line is the title, the rest the summary "
    "(default: standard input).",
)
@click.option("--stored", is_flag=True, help="Try the stored entries instead of a text.")
@click.option(
    "--since",
    default="7d",
    show_default=True,
    help="With --stored: entries first seen this far back (a duration or a date).",
)
@click.option("--plurals/--no-plurals", default=True, help="Fold plurals in QUERY.")
@click.option("--json", "as_json", is_flag=True, help="Print the evidence as JSON.")
@common_options
def test_rule(
    config_path: str | None,
    query: str | None,
    rule_name: str | None,
    text: str | None,
    stored: bool,
    since: str,
    plurals: bool,
    as_json: bool,
) -> None:
    """Dry-run QUERY (or --rule NAME) on a text, or on the stored entries with --stored.

    Nobody is notified. Exit status, like grep: 0 something matched, 1 nothing did, 2 the
    query is invalid.
    """
    if (query is None) == (rule_name is None):
        raise click.UsageError("give a QUERY or --rule NAME (one of them)")
    rule = _rule(config_path, query, rule_name, plurals)
    matcher = Matcher([rule])
    if stored:
        found = _try_stored(config_path, matcher, since, as_json)
    else:
        found = _try_text(matcher, sys.stdin.read() if text is None else text, as_json)
    sys.exit(0 if found else 1)


def _rule(config_path: str | None, query: str | None, name: str | None, plurals: bool) -> Rule:
    if query is not None:
        try:
            return make_rule("query", query, plurals=plurals)
        except QueryError as exc:
            click.echo(exc.explain(), err=True)
            sys.exit(2)
    config = load(config_path, REDACTOR)
    for rule in config.rules:
        if rule.name == name:
            return rule
    known = ", ".join(r.name for r in config.rules) or "none"
    raise click.BadParameter(f"no rule named {name!r} (rules: {known})", param_hint="--rule")


def _try_text(matcher: Matcher, text: str, as_json: bool) -> bool:
    title, _, summary = text.strip("\n").partition("\n")
    entry = Entry(key="text", title=title, link=None, summary=summary)
    found = matcher.match(entry)
    hits = found[0].hits if found else ()
    if as_json:
        click.echo(json.dumps({"match": bool(found), "hits": _hits_json(entry, hits)}, indent=2))
    elif found:
        click.echo(f"match ({', '.join(found[0].terms)})")
        for field, value in (("title", entry.title), ("summary", entry.summary)):
            if value:
                click.echo(f"  {field}: {highlight(value, spans_of(hits, field), 'brackets')}")
    else:
        click.echo("no match")
    return bool(found)


def _try_stored(config_path: str | None, matcher: Matcher, since: str, as_json: bool) -> bool:
    start = parse_since(since)
    store = open_store(load(config_path, REDACTOR), REDACTOR)
    scanned, hits = 0, []
    try:
        for stored in store.stored_entries(start):
            scanned += 1
            found = matcher.match(stored.entry, stored.feed_name, stored.feed_url)
            if found:
                hits.append((stored, found[0]))
    finally:
        store.engine.dispose()
    if as_json:
        click.echo(json.dumps(_stored_json(hits, scanned), indent=2, ensure_ascii=False))
    else:
        for stored, match in hits:
            title = highlight(stored.entry.title, spans_of(match.hits, "title"), "brackets")
            click.echo(f"{format_time(stored.time)}  {title} — {stored.feed_name}")
            if stored.entry.link:
                click.echo(f"    {stored.entry.link}")
        click.echo(
            f"{len(hits)} of {scanned} entries stored since {format_time(start)} would match"
        )
    return bool(hits)


def _stored_json(hits: list[tuple[StoredEntry, Match]], scanned: int) -> dict[str, Any]:
    return {
        "scanned": scanned,
        "matched": len(hits),
        "entries": [
            {
                "entry_id": stored.entry_id,
                "time": stored.time.isoformat(),
                "source": stored.feed_name,
                "title": stored.entry.title,
                "link": stored.entry.link,
                "hits": _hits_json(stored.entry, match.hits),
            }
            for stored, match in hits
        ],
    }


def _hits_json(entry: Entry, hits: tuple[Hit, ...]) -> list[dict[str, Any]]:
    texts = {"title": entry.title, "summary": entry.summary, "content": entry.content}
    return [
        {
            "field": hit.field,
            "start": hit.start,
            "end": hit.end,
            "term": hit.term,
            "text": texts.get(hit.field, "")[hit.start : hit.end],
        }
        for hit in hits
    ]
