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
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from watcher.core.model import Entry
from watcher.core.views import DigestRow
from watcher.render.alerts import escape_markdown, format_time, highlight, spans_of

SCHEMA_VERSION = 2
_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_SAFE_LINK = re.compile(r"https?://", re.IGNORECASE)
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
            if row.link and _SAFE_LINK.match(row.link):
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


def to_html(page: DigestPage) -> str:
    """One page with its style inline and no scripts or external assets. Feed text is
    escaped by the template engine; only http(s) links become links."""
    from jinja2 import Environment
    from markupsafe import Markup

    environment = Environment(autoescape=True)
    template = environment.from_string(_HTML)
    groups = [
        (
            rule,
            [
                {
                    "row": row,
                    # highlight() escapes the feed's text itself, around its own <b> marks.
                    "headline": Markup(  # noqa: S704
                        highlight(row.title or "(untitled)", spans_of(row.hits, "title"), "html")
                    ),
                    "link": row.link if row.link and _SAFE_LINK.match(row.link) else None,
                    "time": format_time(row.time),
                    "others": row.sources[1:],
                    "delivered": delivered(row),
                }
                for row in rows
            ],
        )
        for rule, rows in by_rule(page.rows)
    ]
    return template.render(title=page.title, groups=groups, generated=format_time(page.generated))


_HTML = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<meta name="referrer" content="no-referrer">
<title>{{ title }}</title>
<style>
body { font: 16px/1.5 system-ui, sans-serif; max-width: 52rem; margin: 2rem auto;
       padding: 0 1rem; color: #1d1d1f; background: #fff; }
h1 { font-size: 1.5rem; margin-bottom: .2rem; }
.generated { color: #6e6e73; margin-top: 0; }
h2 { font-size: 1.15rem; border-bottom: 1px solid #d2d2d7; padding-bottom: .3rem;
     margin-top: 2rem; }
h2 .count { color: #6e6e73; font-weight: normal; }
ul { list-style: none; padding: 0; }
li { margin: 0 0 1rem; }
.headline { font-weight: 600; }
.headline a { color: #0b57d0; text-decoration: none; }
.headline a:hover { text-decoration: underline; }
.headline b { background: #fff3b0; font-weight: 700; }
.meta { color: #6e6e73; font-size: .9rem; }
.changed { color: #b3261e; font-size: .8rem; text-transform: uppercase; margin-left: .4rem; }
@media (prefers-color-scheme: dark) {
  body { background: #1c1c1e; color: #f2f2f7; }
  .headline a { color: #8ab4f8; }
  .headline b { background: #5c4b00; }
  h2 { border-color: #3a3a3c; }
}
</style>
</head>
<body>
<h1>{{ title }}</h1>
<p class="generated">Generated {{ generated }}</p>
{% if not groups %}<p>No matches.</p>{% endif %}
{% for rule, stories in groups %}
<section>
<h2>{{ rule }} <span class="count">({{ stories|length }})</span></h2>
<ul>
{% for s in stories %}
<li>
<div class="headline">
{%- if s.link %}<a href="{{ s.link }}" rel="noopener noreferrer">{{ s.headline }}</a>
{%- else %}{{ s.headline }}{% endif %}
{%- if s.row.revision %}<span class="changed">changed</span>{% endif %}</div>
<div class="meta">{{ s.row.feed_name }}
{%- if s.row.category %} [{{ s.row.category }}]{% endif %}
{%- if s.others %} (also {{ s.others|join(", ") }}){% endif %} · {{ s.time }}
· matched {{ s.row.terms|join(", ") }} · {{ s.delivered }} · #{{ s.row.entry_id }}</div>
</li>
{% endfor %}
</ul>
</section>
{% endfor %}
</body>
</html>
"""


def to_atom(page: DigestPage, feed_id: str = "urn:feed-watcher:digest") -> str:
    """An Atom 1.0 feed with one entry per story and rule (the rule as its category), so a
    feed reader can follow the filtered stream."""
    from lxml import etree

    ns = "http://www.w3.org/2005/Atom"

    def add(parent: Any, tag: str, text: str | None = None, **attributes: str) -> Any:
        element = etree.SubElement(parent, f"{{{ns}}}{tag}", attributes)
        if text is not None:
            element.text = _XML_INVALID.sub("", text)
        return element

    feed = etree.Element(f"{{{ns}}}feed", nsmap={None: ns})  # type: ignore[dict-item]
    add(feed, "id", feed_id)
    add(feed, "title", page.title)
    newest = max((row.time for row in page.rows), default=page.generated)
    add(feed, "updated", newest.isoformat())
    add(add(feed, "author"), "name", "feed-watcher")
    add(feed, "generator", "feed-watcher")
    for row in page.rows:
        entry = add(feed, "entry")
        add(entry, "id", f"urn:feed-watcher:entry:{row.entry_id}:rule:{row.rule}")
        add(entry, "title", row.title or "(untitled)", type="text")
        if row.link and _SAFE_LINK.match(row.link):
            add(entry, "link", href=row.link, rel="alternate")
        add(entry, "updated", row.time.isoformat())
        add(entry, "published", row.time.isoformat())
        add(add(entry, "author"), "name", row.feed_name)
        add(entry, "category", term=row.rule)
        others = f" Also reported by {', '.join(row.sources[1:])}." if row.sources[1:] else ""
        summary = f"{row.summary}\n\nMatched: {', '.join(row.terms)}.{others}".strip()
        add(entry, "summary", summary, type="text")
    xml: bytes = etree.tostring(feed, xml_declaration=True, encoding="utf-8", pretty_print=True)
    return xml.decode("utf-8")


def _markdown_link(url: str) -> str:
    return url.replace("(", "%28").replace(")", "%29").replace(" ", "%20")
