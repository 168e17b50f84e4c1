"""``watcher show ENTRY_ID``: one entry with its revisions, matches, deliveries and story."""

from __future__ import annotations

import itertools
import json
import sys
from typing import Any

import click

from watcher.app import load
from watcher.cli.common import REDACTOR, common_options, format_option, opened_store
from watcher.core.views import EntryDetail
from watcher.render.alerts import format_diff, format_time


@click.command()
@click.argument("entry_id", type=int)
@format_option("text", "json")
@common_options
def show(config_path: str | None, entry_id: int, fmt: str) -> None:
    """An entry (ENTRY_ID from the digest) with its revisions and what changed, its
    matches, where it was sent, and the other sources of its story."""
    with opened_store(load(config_path, REDACTOR)) as store:
        detail = store.reports.entry_detail(entry_id)
    if detail is None:
        click.echo(f"no entry {entry_id}", err=True)
        sys.exit(1)
    if fmt == "json":
        click.echo(json.dumps(_detail_json(detail), indent=2, ensure_ascii=False))
    else:
        click.echo(_detail_text(detail))


def _detail_text(detail: EntryDetail) -> str:
    entry = detail.entry
    when = entry.published or entry.updated
    lines = [f"#{detail.entry_id}  {entry.title or '(untitled)'}"]
    if entry.link:
        lines.append(f"    {entry.link}")
    lines.append(
        f"    {detail.feed_name} · published {format_time(when) or 'unknown'}"
        f" · first seen {format_time(detail.first_seen)} · revision {detail.revision}"
        + (" · body pruned" if detail.pruned else "")
    )
    if entry.summary:
        lines += ["", entry.summary]
    if detail.revisions:
        lines += ["", "Revisions (what each changed):"]
        versions = [*detail.revisions, None]
        for old, new in itertools.pairwise(versions):
            assert old is not None
            title = new.title if new else entry.title
            summary = new.summary if new else entry.summary
            lines.append(f"  {old.number} ({format_time(old.seen_at)})")
            if old.title != title:
                lines.append(f"    title:   {format_diff(old.title, title, 'text')}")
            if old.summary != summary:
                lines.append(f"    summary: {format_diff(old.summary, summary, 'text')}")
    lines += ["", "Matches:"]
    for match, silent in detail.matches:
        note = " (silent: its story had already notified for this rule)" if silent else ""
        lines.append(f"  {match.rule}: {', '.join(match.terms)}{note}")
    if not detail.matches:
        lines.append("  none")
    lines += ["", "Deliveries:"]
    for sent in detail.deliveries:
        what = f" (revision {sent.revision})" if sent.revision else ""
        when_sent = f" {format_time(sent.sent_at)}" if sent.sent_at else ""
        error = f": {sent.last_error}" if sent.last_error else ""
        lines.append(
            f"  {sent.rule}{what} → {sent.target}: {sent.status}{when_sent}"
            f" ({sent.attempts} attempt{'' if sent.attempts == 1 else 's'}){error}"
        )
    if not detail.deliveries:
        lines.append("  none")
    if detail.story:
        lines += ["", f"Story {detail.story_id}, also reported by:"]
        for other in detail.story:
            lines.append(f"  #{other.entry_id} {other.feed_name}: {other.entry.title}")
    return "\n".join(lines)


def _detail_json(detail: EntryDetail) -> dict[str, Any]:
    entry = detail.entry
    return {
        "entry_id": detail.entry_id,
        "title": entry.title,
        "link": entry.link,
        "summary": entry.summary,
        "source": detail.feed_name,
        "feed_url": detail.feed_url,
        "published": entry.published.isoformat() if entry.published else None,
        "first_seen": detail.first_seen.isoformat(),
        "revision": detail.revision,
        "pruned": detail.pruned,
        "revisions": [
            {"number": r.number, "replaced_at": r.seen_at.isoformat(), "title": r.title,
             "summary": r.summary}
            for r in detail.revisions
        ],
        "matches": [
            {"rule": m.rule, "terms": list(m.terms), "silent": silent,
             "hits": [{"field": h.field, "start": h.start, "end": h.end, "term": h.term}
                      for h in m.hits]}
            for m, silent in detail.matches
        ],
        "deliveries": [
            {"rule": d.rule, "target": d.target, "revision": d.revision, "status": d.status,
             "attempts": d.attempts, "sent_at": d.sent_at.isoformat() if d.sent_at else None,
             "error": d.last_error}
            for d in detail.deliveries
        ],
        "story_id": detail.story_id,
        "story": [
            {"entry_id": o.entry_id, "source": o.feed_name, "title": o.entry.title,
             "link": o.entry.link}
            for o in detail.story
        ],
    }  # fmt: skip
