"""The matches as live feeds a reader can follow: Atom 1.0 and JSON Feed 1.1, one item per
story, newest first.

A story keeps one id for ever (``urn:feed-watcher:story:N``, or the entry's when stories are
off), so a reader that polls the feed shows it once, and shows it again as updated when the
entry changes. The body depends on the stored stories only (no "generated at"), so that an
unchanged feed keeps its ETag and readers get a 304.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from watcher.core.views import DigestRow
from watcher.render.alerts import highlight, spans_of

ATOM_NS = "http://www.w3.org/2005/Atom"
JSON_FEED_VERSION = "https://jsonfeed.org/version/1.1"
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)  # an empty feed's "updated": it never changes
SAFE_LINK = re.compile(r"https?://", re.IGNORECASE)
_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")


@dataclass(frozen=True, slots=True)
class FeedStory:
    """One story of a feed: its first row (the newest match), and every rule it matched."""

    row: DigestRow
    rules: tuple[str, ...]

    @property
    def id(self) -> str:
        return story_urn(self.row)

    @property
    def updated(self) -> datetime:
        return self.row.changed_at or self.row.time


@dataclass(frozen=True, slots=True)
class FeedInfo:
    """What a feed is: its id, title, its own URL and the page it stands for."""

    id: str
    title: str
    self_url: str
    page_url: str


def feed_path(rule: str | None, kind: str) -> str:
    """Where the listener serves the feed of ``rule`` (None: every match), ``kind`` being
    "atom" or "json"."""
    return ("/feeds/matches" if rule is None else f"/feeds/rules/{quote(rule, safe='')}") + (
        f".{kind}"
    )


def story_urn(row: DigestRow) -> str:
    """The id a row's story keeps in every feed: its story's, else (stories off) its entry's."""
    if row.story_id is not None:
        return f"urn:feed-watcher:story:{row.story_id}"
    return f"urn:feed-watcher:entry:{row.entry_id}"


def feed_stories(rows: Sequence[DigestRow]) -> list[FeedStory]:
    """Each story once, in the order of its first row (the digest's: newest first), with the
    rules of all its rows."""
    firsts: dict[str, DigestRow] = {}
    rules: dict[str, list[str]] = {}
    for row in rows:
        key = story_urn(row)
        firsts.setdefault(key, row)
        if row.rule not in rules.setdefault(key, []):
            rules[key].append(row.rule)
    return [FeedStory(row, tuple(rules[key])) for key, row in firsts.items()]


def last_modified(stories: Sequence[FeedStory]) -> datetime:
    """When the newest story appeared or changed (the epoch for an empty feed)."""
    return max((story.updated for story in stories), default=EPOCH)


def content_html(story: FeedStory) -> str:
    """The story as HTML a reader shows: headline and summary with the matched words in bold,
    what it matched, and every outlet that reported it. Feed text is escaped; only http(s)
    links become links."""
    row = story.row
    parts = [
        f"<p><b>{highlight(row.title or '(untitled)', spans_of(row.hits, 'title'), 'html')}</b></p>"
    ]
    if row.summary:
        parts.append(f"<p>{highlight(row.summary, spans_of(row.hits, 'summary'), 'html')}</p>")
    rules = ", ".join(story.rules)
    parts.append(f"<p>Matched {esc(', '.join(row.terms))} (rule: {esc(rules)}).</p>")
    sources = row.members or ()
    if len(sources) > 1:
        items = "".join(
            f"<li>{_linked(m.title or '(untitled)', m.link)} ({esc(m.source)})</li>"
            for m in sources
        )
        parts.append(f"<p>Reported by {len(sources)} sources:</p><ul>{items}</ul>")
    else:
        parts.append(f"<p>Source: {esc(row.feed_name)}</p>")
    return "".join(parts)


def to_atom_feed(info: FeedInfo, stories: Sequence[FeedStory]) -> bytes:
    """An Atom 1.0 document (RFC 4287) of ``stories``."""
    feed = atom_feed(info.id, info.title, last_modified(stories))
    atom_child(feed, "link", rel="self", href=info.self_url, type="application/atom+xml")
    atom_child(feed, "link", rel="alternate", href=info.page_url, type="text/html")
    for story in stories:
        entry = atom_entry(feed, story.id, story.row, story.updated)
        for rule in story.rules:
            atom_child(entry, "category", term=rule)
        atom_child(entry, "content", content_html(story), type="html")
    return atom_bytes(feed)


def atom_feed(feed_id: str, title: str, updated: datetime) -> Any:
    """An Atom feed element with what RFC 4287 requires of it (our name as its author)."""
    from lxml import etree

    feed = etree.Element(f"{{{ATOM_NS}}}feed", nsmap={None: ATOM_NS})  # type: ignore[dict-item]
    atom_child(feed, "id", feed_id)
    atom_child(feed, "title", title)
    atom_child(feed, "updated", updated.isoformat())
    atom_child(atom_child(feed, "author"), "name", "feed-watcher")
    atom_child(feed, "generator", "feed-watcher")
    return feed


def atom_entry(feed: Any, entry_id: str, row: DigestRow, updated: datetime) -> Any:
    """An entry of ``feed`` for ``row``: its id, headline, link (http(s) only), times, and
    the feed that reported it as its author."""
    entry = atom_child(feed, "entry")
    atom_child(entry, "id", entry_id)
    atom_child(entry, "title", row.title or "(untitled)", type="text")
    if row.link and SAFE_LINK.match(row.link):
        atom_child(entry, "link", href=row.link, rel="alternate")
    atom_child(entry, "published", row.time.isoformat())
    atom_child(entry, "updated", updated.isoformat())
    atom_child(atom_child(entry, "author"), "name", row.feed_name)
    return entry


def atom_bytes(feed: Any) -> bytes:
    from lxml import etree

    xml: bytes = etree.tostring(feed, xml_declaration=True, encoding="utf-8", pretty_print=True)
    return xml


def to_json_feed(info: FeedInfo, stories: Sequence[FeedStory]) -> bytes:
    """A JSON Feed 1.1 document of ``stories``."""
    items: list[dict[str, Any]] = []
    for story in stories:
        row = story.row
        item: dict[str, Any] = {
            "id": story.id,
            "title": row.title or "(untitled)",
            "content_html": content_html(story),
            "date_published": row.time.isoformat(),
            "date_modified": story.updated.isoformat(),
            "authors": [{"name": row.feed_name}],
            "tags": list(story.rules),
        }
        if row.link and SAFE_LINK.match(row.link):
            item["url"] = row.link
        items.append(item)
    document = {
        "version": JSON_FEED_VERSION,
        "title": info.title,
        "home_page_url": info.page_url,
        "feed_url": info.self_url,
        "authors": [{"name": "feed-watcher"}],
        "items": items,
    }
    return json.dumps(document, ensure_ascii=False, indent=1).encode("utf-8")


def atom_child(parent: Any, tag: str, text: str | None = None, **attributes: str) -> Any:
    """An Atom element under ``parent``; text XML cannot hold (control characters, lone
    surrogates) is left out rather than failing the whole feed."""
    from lxml import etree

    element = etree.SubElement(
        parent, f"{{{ATOM_NS}}}{tag}", {k: xml_safe(v) for k, v in attributes.items()}
    )
    if text is not None:
        element.text = xml_safe(text)
    return element


def xml_safe(text: str) -> str:
    return _XML_INVALID.sub("", text)


def esc(text: str) -> str:
    return html.escape(text, quote=True)


def _linked(text: str, link: str | None) -> str:
    if link and SAFE_LINK.match(link):
        return f'<a href="{esc(link)}">{esc(text)}</a>'
    return esc(text)
