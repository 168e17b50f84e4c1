"""The stored digest in the forms people and tools read: Markdown for a briefing, JSON for
scripts (schema: ``digest.schema.json``), CSV for a spreadsheet, one self-contained HTML page,
and an Atom feed any reader can subscribe to. Also the ad hoc ``--search`` filter.

Rows come grouped by rule, newest first within each rule; each row is one story (its first
match for that rule), with the other outlets that reported it and where it was delivered.
Feed text is untrusted: every format escapes it for itself.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from watcher.core.matching.matcher import Matcher
from watcher.core.model import Entry
from watcher.core.settings import make_rule
from watcher.core.views import DigestRow
from watcher.render.alerts import escape_markdown, format_time, highlight, spans_of
from watcher.render.feeds import SAFE_LINK, atom_bytes, atom_child, atom_entry, atom_feed

SCHEMA_VERSION = 2
_FORMULA = ("=", "+", "-", "@", "\t", "\r")  # what a spreadsheet would run as a formula


@dataclass(frozen=True, slots=True)
class DigestPage:
    """A digest and what it covers, for titles and for the JSON's ``filters``."""

    rows: tuple[DigestRow, ...]
    generated: datetime
    since: datetime | None
    until: datetime | None = None
    filters: tuple[tuple[str, Any], ...] = ()

    @property
    def span(self) -> str:
        """``since 2026-09-14 10:05 UTC [until …]``, or ``everything stored``."""
        span = f"since {format_time(self.since)}" if self.since else "everything stored"
        return f"{span} until {format_time(self.until)}" if self.until else span

    @property
    def title(self) -> str:
        return f"feed-watcher digest, {self.span}"


def by_rule(rows: Sequence[DigestRow]) -> list[tuple[str, list[DigestRow]]]:
    """Rows grouped by rule: the rule with the newest story first, order kept within."""
    groups: dict[str, list[DigestRow]] = {}
    for row in rows:
        groups.setdefault(row.rule, []).append(row)
    return list(groups.items())


def search_entry(row: DigestRow) -> Entry:
    """What ``--search`` matches against: the row's title and summary, as a rule would."""
    return Entry(key=str(row.entry_id), title=row.title, link=row.link, summary=row.summary)


def search_matcher(query: str) -> Matcher:
    """What ``--search`` (and the page's search) keeps, as a rule; QueryError if it cannot
    be read."""
    return Matcher([make_rule("search", query)])


def searched(rows: Sequence[DigestRow], matcher: Matcher, limit: int | None) -> list[DigestRow]:
    """The rows ``matcher`` matches, at most ``limit`` of them."""
    kept = [
        row
        for row in rows
        if matcher.match(search_entry(row), row.feed_name, row.feed_url, row.category)
    ]
    return kept[:limit] if limit else kept


def delivered(row: DigestRow) -> str:
    """``desk: sent, slack: pending`` (the first alert of each target), or ``not sent``."""
    firsts = [mark for mark in row.deliveries if mark.revision == 0]
    return ", ".join(f"{mark.target}: {mark.status}" for mark in firsts) or "not notified"


def to_markdown(page: DigestPage) -> str:
    out = [f"# {escape_markdown(page.title)}", ""]
    if not page.rows:
        return "\n".join([*out, "No matches.", ""])
    for rule, rows in by_rule(page.rows):
        out += [f"## {escape_markdown(rule)} ({len(rows)})", ""]
        for row in rows:
            headline = highlight(row.title or "(untitled)", spans_of(row.hits, "title"), "markdown")
            if row.link and SAFE_LINK.match(row.link):
                headline = f"[{headline}]({_markdown_link(row.link)})"
            others = row.sources[1:]
            reported = f"; also {escape_markdown(', '.join(others))}" if others else ""
            changed = " (changed)" if row.revision else ""
            out.append(
                f"- {headline}{changed} — {escape_markdown(row.feed_name)}, "
                f"{format_time(row.time)} (matched: {escape_markdown(', '.join(row.terms))}"
                f"{reported}; #{row.entry_id})"
            )
        out.append("")
    return "\n".join(out)


def to_json(page: DigestPage) -> str:
    """One object per story; the schema is ``watcher/render/digest.schema.json``."""
    return json.dumps(
        {
            "version": SCHEMA_VERSION,
            "generated_at": page.generated.isoformat(),
            "since": page.since.isoformat() if page.since else None,
            "until": page.until.isoformat() if page.until else None,
            "filters": dict(page.filters),
            "stories": [_story_json(row) for row in page.rows],
        },
        ensure_ascii=False,
        indent=2,
    )


def _story_json(row: DigestRow) -> dict[str, Any]:
    return {
        "id": row.entry_id,
        "match_id": row.match_id,
        "rule": row.rule,
        "time": row.time.isoformat(),
        "title": row.title,
        "link": row.link,
        "source": row.feed_name,
        "feed_url": row.feed_url,
        "category": row.category,
        "summary": row.summary,
        "changed": row.revision > 0,
        "revision": row.revision,
        "story_id": row.story_id,
        "other_sources": list(row.sources[1:]),
        "terms": list(row.terms),
        "matches": [
            {"field": h.field, "start": h.start, "end": h.end, "term": h.term} for h in row.hits
        ],
        "entries": [
            {
                "id": m.entry_id,
                "title": m.title,
                "link": m.link,
                "source": m.source,
                "time": m.time.isoformat(),
            }
            for m in row.members
        ]
        or [
            {
                "id": row.entry_id,
                "title": row.title,
                "link": row.link,
                "source": row.feed_name,
                "time": row.time.isoformat(),
            }
        ],
        "deliveries": [
            {
                "target": d.target,
                "status": d.status,
                "attempts": d.attempts,
                "sent_at": d.sent_at.isoformat() if d.sent_at else None,
                "revision": d.revision,
            }
            for d in row.deliveries
        ],
    }


CSV_COLUMNS = (
    "id", "time", "rule", "title", "link", "source", "category", "other_sources", "terms",
    "changed", "delivered",
)  # fmt: skip


def to_csv(page: DigestPage) -> str:
    """One row per story and rule. A cell that a spreadsheet would take for a formula gets a
    leading apostrophe."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for row in page.rows:
        writer.writerow(
            _cell(value)
            for value in (
                str(row.entry_id),
                row.time.isoformat(),
                row.rule,
                row.title,
                row.link or "",
                row.feed_name,
                row.category or "",
                "; ".join(row.sources[1:]),
                "; ".join(row.terms),
                "yes" if row.revision else "no",
                delivered(row),
            )
        )
    return out.getvalue()


def _cell(value: str) -> str:
    return "'" + value if value.startswith(_FORMULA) else value


def to_atom(page: DigestPage, feed_id: str = "urn:feed-watcher:digest") -> str:
    """An Atom 1.0 feed with one entry per story and rule (the rule as its category), so a
    feed reader can follow the filtered stream."""
    newest = max((row.time for row in page.rows), default=page.generated)
    feed = atom_feed(feed_id, page.title, newest)
    for row in page.rows:
        entry_id = f"urn:feed-watcher:entry:{row.entry_id}:rule:{row.rule}"
        entry = atom_entry(feed, entry_id, row, row.time)
        atom_child(entry, "category", term=row.rule)
        others = f" Also reported by {', '.join(row.sources[1:])}." if row.sources[1:] else ""
        summary = f"{row.summary}\n\nMatched: {', '.join(row.terms)}.{others}".strip()
        atom_child(entry, "summary", summary, type="text")
    return atom_bytes(feed).decode("utf-8")


def _markdown_link(url: str) -> str:
    return url.replace("(", "%28").replace(")", "%29").replace(" ", "%20")
