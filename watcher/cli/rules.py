"""``watcher rules``: the rules with their recent match counts, and ``watcher rules test``, a
dry run of a query or a rule on a text or on the stored entries (nobody is notified)."""

from __future__ import annotations

import json
import sys
from typing import Any

import click
from rich.table import Table
from rich.text import Text

from watcher.app import load, utcnow, with_stored_rules
from watcher.cli.common import (
    REDACTOR,
    common_options,
    console,
    format_option,
    json_flag,
    opened_store,
    parse_since,
)
from watcher.config.schema import NAME
from watcher.core.matching.matcher import Matcher
from watcher.core.matching.tree import QueryError
from watcher.core.model import Entry, Hit, Match
from watcher.core.redact import mask_feed_url
from watcher.core.settings import Config, Rule, make_rule
from watcher.core.text import counted
from watcher.core.views import StoredEntry
from watcher.render.alerts import format_time, highlight, spans_of


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
    with opened_store(config) as store:
        declared = {rule.name for rule in config.rules}
        config, _ = with_stored_rules(config, store)
        counts = store.reports.rule_counts(utcnow())
    listed = [
        {
            "name": rule.name,
            "origin": "config" if rule.name in declared else "cli",
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
    table = Table(title=counted(len(listed), "rule"))
    table.add_column("Rule", no_wrap=True)
    table.add_column("Query", overflow="fold", ratio=3)
    table.add_column("Targets", overflow="fold")
    table.add_column("24 h", justify="right")
    table.add_column("7 d", justify="right")
    for rule in config.rules:
        day, week = counts.get(rule.name, (0, 0))
        targets = ", ".join(config.targets_for(rule)) or "console"
        name = Text(rule.name)
        if rule.name not in declared:
            name.append(" (added)", style="dim")
        table.add_row(name, Text(rule.source), Text(targets), str(day), str(week))
    console().print(table)


@rules.command("add")
@click.argument("name")
@click.argument("query")
@click.option(
    "--notify",
    "targets",
    multiple=True,
    metavar="TARGET",
    help="Send its alerts to this target (repeatable; default: every target).",
)
@common_options
def add_rule(config_path: str | None, name: str, query: str, targets: tuple[str, ...]) -> None:
    """Add a rule NAME matching QUERY (the query language of the config's rules), without
    editing the config file. A running daemon applies it from its next pass on, to entries
    it has not seen yet. Try a query first with `watcher rules test`."""
    if not NAME.fullmatch(name):
        raise click.BadParameter("use letters, digits, '-', '_' or '.'", param_hint="NAME")
    config = load(config_path, REDACTOR)
    try:
        make_rule(name, query)
    except QueryError as exc:
        click.echo(exc.explain(), err=True)
        sys.exit(2)
    known = {target.name for target in config.targets}
    for target in targets:
        if target not in known:
            listed = ", ".join(sorted(known)) or "none are configured"
            raise click.BadParameter(
                f"unknown target {target!r} (targets: {listed})", param_hint="--notify"
            )
    _refuse_declared(config, name, "edit")
    with opened_store(config) as store:
        added = store.rules.add_rule(name, query, targets or None, utcnow())
    if not added:
        click.echo(f"a rule named {name!r} was added before: remove it first", err=True)
        sys.exit(1)
    click.echo(f"added rule {name}: {' '.join(query.split())}")


@rules.command("remove")
@click.argument("name")
@common_options
def remove_rule(config_path: str | None, name: str) -> None:
    """Remove the rule NAME added with `rules add`. Its matches stay in the digest."""
    config = load(config_path, REDACTOR)
    _refuse_declared(config, name, "remove")
    with opened_store(config) as store:
        removed = store.rules.remove_rule(name)
    if not removed:
        click.echo(f"no rule {name!r} was added from the command line", err=True)
        sys.exit(1)
    click.echo(f"removed rule {name}")


def _refuse_declared(config: Config, name: str, verb: str) -> None:
    """Exit 2 if the config file declares the rule: it is the authority on its own rules."""
    if name in {rule.name for rule in config.rules}:
        click.echo(f"rule {name!r} is declared in {config.source}: {verb} it there", err=True)
        sys.exit(2)


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
    scanned, hits = 0, []
    with opened_store(load(config_path, REDACTOR)) as store:
        for stored in store.reports.stored_entries(start):
            scanned += 1
            found = matcher.match(stored.entry, stored.feed_name, stored.feed_url, stored.category)
            if found:
                hits.append((stored, found[0]))
    if as_json:
        click.echo(json.dumps(_stored_json(hits, scanned), indent=2, ensure_ascii=False))
    else:
        for stored, match in hits:
            title = highlight(stored.entry.title, spans_of(match.hits, "title"), "brackets")
            click.echo(f"{format_time(stored.time)}  {title} — {stored.feed_name}")
            if stored.entry.link:
                click.echo(f"    {stored.entry.link}")
        click.echo(
            f"{len(hits)} of {counted(scanned, 'entry', 'entries')} stored since "
            f"{format_time(start)} would match"
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
                "source": mask_feed_url(stored.feed_name),
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
