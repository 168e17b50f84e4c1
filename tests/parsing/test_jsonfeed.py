"""JSON Feed 1.0 and 1.1 read through the same normalisation as RSS and Atom; invalid and
hostile documents refused with the reason."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from watcher.core.errors import ParseError
from watcher.parsing.document import parse_feed

URL = "https://blog.example/feed.json"
V11 = "https://jsonfeed.org/version/1.1"


def document(*items: dict[str, Any], version: str = V11, **feed: Any) -> bytes:
    return json.dumps(
        {"version": version, "title": "A Blog", **feed, "items": list(items)}
    ).encode()


def test_a_json_feed_1_1_item_is_read_field_by_field() -> None:
    """id → guid, url → link (resolved), title, content_html → text, summary, both dates, the
    authors and the tags; extensions ignored."""
    body = document(
        {
            "id": "tag:blog.example,2025:1",
            "url": "/2025/09/tiktok?utm_source=rss",
            "title": "TikTok &amp; the <em>deadline</em>",
            "content_html": "<p>ByteDance <b>must</b> sell.</p><script>x()</script>",
            "summary": "The divestiture deadline.",
            "date_published": "2025-09-15T10:00:00+02:00",
            "date_modified": "2025-09-16T08:00:00Z",
            "authors": [{"name": "Ana"}, {"name": "Bo", "url": "https://bo.example/"}],
            "tags": ["tech", "china"],
            "_ext": {"deep": [1, 2, {"x": None}]},
        },
        _private=True,
    )
    parsed = parse_feed(URL, body, "application/feed+json")
    assert parsed.title == "A Blog"
    [entry] = parsed.entries
    assert entry.guid == "tag:blog.example,2025:1"
    assert entry.link == "https://blog.example/2025/09/tiktok"
    assert entry.title == "TikTok & the deadline"
    assert entry.content == "ByteDance must sell."
    assert entry.summary == "The divestiture deadline."
    assert entry.published == datetime(2025, 9, 15, 8, 0, tzinfo=UTC)
    assert entry.updated == datetime(2025, 9, 16, 8, 0, tzinfo=UTC)
    assert entry.author == "Ana, Bo"
    assert entry.tags == ("tech", "china")
    assert entry.key == "guid:tag:blog.example,2025:1"


@pytest.mark.parametrize(
    ("item", "expected"),
    [
        # JSON Feed 1.0: the feed's author when the item names none; external_url when there
        # is no url; a numeric id.
        ({"id": 7, "external_url": "https://other.example/a", "content_text": "Plain <b>text"},
         {"guid": "7", "link": "https://other.example/a", "summary": "Plain text", "content": "",
          "author": "Old"}),
        # No title: the entry still has an identity; content_text only, which stands in for
        # the summary (as feedparser's does in RSS and Atom).
        ({"id": "x", "content_text": "Tariffs rise.\n\nMore later.", "author": {"name": "Own"}},
         {"title": "", "summary": "Tariffs rise.\nMore later.", "content": "", "author": "Own"}),
        # content_html preferred over content_text; an unsafe link dropped.
        ({"id": "y", "url": "javascript:alert(1)", "content_html": "<i>html</i>",
          "content_text": "text"},
         {"link": None, "summary": "html"}),
    ],
    ids=["version-1", "no-title", "html-first"],
)  # fmt: skip
def test_json_feed_shapes(item: dict[str, Any], expected: dict[str, Any]) -> None:
    """Other shapes people publish, 1.0 and 1.1, read as the spec says."""
    version = "https://jsonfeed.org/version/1"
    body = document(item, version=version, author={"name": "Old"})
    [entry] = parse_feed(URL, body, "application/json").entries
    for name, value in expected.items():
        assert getattr(entry, name) == value, name


def test_a_json_body_is_recognised_without_its_media_type() -> None:
    """A JSON Feed served as text/plain (or with no type at all) is still read."""
    body = b"  \n" + document({"id": "1", "title": "Madrid talks resume"})
    for content_type in (None, "text/plain", "application/octet-stream"):
        [entry] = parse_feed(URL, body, content_type).entries
        assert entry.title == "Madrid talks resume"


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"{not json", "not valid JSON"),
        (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
        (b'{"version": "https://jsonfeed.org/version/1.1", "items": ' + b"[" * 100_000, "nested"),
        (b'{"version": "https://jsonfeed.org/version/1.1", "items": [], "n": '
         + b"9" * 5000 + b"}", "not valid JSON"),
        (b'{"title": "no version", "items": []}', "JSON, but not a JSON Feed"),
        (b'{"version": "https://example.com/2", "items": []}', "not a JSON Feed (version"),
        (document({"id": "1", "title": 5}), "invalid JSON Feed: items.0.title"),
        (document({"title": "no id"}), "invalid JSON Feed: items.0.id"),
        (json.dumps({"version": V11, "items": {"a": 1}}).encode(), "invalid JSON Feed: items"),
        (document({"id": "1", "tags": "one"}), "invalid JSON Feed: items.0.tags"),
        (b"\xff\xfe{}", "not UTF-8"),
    ],
    ids=["broken", "deep-list", "deep-items", "huge-number", "no-version", "other-version",
         "title-type", "no-id", "items-type", "tags-type", "encoding"],
)  # fmt: skip
def test_invalid_and_hostile_json_is_refused_with_the_reason(body: bytes, reason: str) -> None:
    """Malformed, deeply nested, oversized or mistyped JSON raises ParseError naming the
    problem (the feed is marked failed), and never anything else."""
    with pytest.raises(ParseError) as caught:
        parse_feed(URL, body, "application/feed+json")
    assert reason in str(caught.value)
