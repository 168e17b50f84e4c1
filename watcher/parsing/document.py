"""Feed bytes in, normalised entries out. feedparser lives here; the network does not.

The parser is handed bytes, never a URL or a str: feedparser fetches URLs by itself and reads
files named by bytes that look like paths.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from datetime import datetime
from time import struct_time
from typing import Any

import feedparser

from watcher.core.errors import ParseError
from watcher.core.identity import TRACKING_PARAMS
from watcher.core.model import Entry, ParsedFeed
from watcher.core.schedule import feed_hint
from watcher.core.text import one_line
from watcher.core.xmlsafe import prepared, references_repaired
from watcher.parsing.fast import fast_parse
from watcher.parsing.markup import html_to_text, plain_to_text
from watcher.parsing.normalise import feed_time, normalised_entry
from watcher.parsing.treatment import HTML_TYPES, feedparser_headers

_JSON_TYPES = ("application/feed+json", "application/json")


def parse_feed(
    url: str,
    body: bytes,
    content_type: str | None = None,
    tracking: Sequence[str] = TRACKING_PARAMS,
) -> ParsedFeed:
    """Parse one feed document; raise ParseError when it is not a feed at all."""
    if not body.strip():
        raise ParseError(url, "empty response body")
    if _looks_like_json(body, content_type):
        from watcher.parsing.jsonfeed import parse_json_feed  # pydantic, for JSON Feeds only

        return parse_json_feed(url, body, tracking)
    body = prepared(body)
    fast = fast_parse(url, body, content_type, tracking)
    if fast is None and (repaired := references_repaired(body)) is not body:
        # Not well-formed for HTML's references or a bare "&" alone: both parsers read it
        # repaired, strictly (feedparser's loose parser would, with a warning).
        body = repaired
        fast = fast_parse(url, body, content_type, tracking)
    if fast is not None:
        return fast
    return parse_with_feedparser(url, body, content_type, tracking)


def _looks_like_json(body: bytes, content_type: str | None) -> bool:
    """A JSON Feed's media type, or a body that opens like a JSON object."""
    media = (content_type or "").split(";")[0].strip().lower()
    return media in _JSON_TYPES or body.lstrip()[:1] == b"{"


def parse_with_feedparser(
    url: str, body: bytes, content_type: str | None, tracking: Sequence[str]
) -> ParsedFeed:
    """The parser of record, for every document the fast path declines."""
    parsed = feedparser.parse(
        io.BytesIO(body),
        response_headers=feedparser_headers(url, content_type),
        sanitize_html=False,  # we reduce everything to plain text and escape on output
        resolve_relative_uris=False,  # only entry links matter, and feedparser resolves those
    )
    problem = _bozo_reason(parsed)
    if not parsed.entries:
        if not parsed.get("version"):
            looks_html = content_type and content_type.split(";")[0].strip() in HTML_TYPES
            what = "an HTML page" if looks_html else "not an RSS, Atom or JSON feed"
            raise ParseError(url, f"{what}" + (f" ({problem})" if problem else ""))
        if problem:
            raise ParseError(url, f"malformed feed: {problem}")
    entries = tuple(_entry(raw, tracking) for raw in parsed.entries)
    title = one_line(_text(parsed.feed, "title"))
    feed = parsed.feed
    return ParsedFeed(
        title=title,
        entries=entries,
        warning=f"malformed feed: {problem}" if problem else None,
        hint=feed_hint(
            _string(feed.get("ttl")),
            _string(feed.get("sy_updateperiod")),
            _string(feed.get("sy_updatefrequency")),
        ),
    )


def _bozo_reason(parsed: Any) -> str | None:
    if not parsed.get("bozo"):
        return None
    exc = parsed.get("bozo_exception")
    # A wrong or missing declared encoding or content type is harmless: feedparser recovers.
    if isinstance(exc, feedparser.CharacterEncodingOverride | feedparser.NonXMLContentType):
        return None
    return str(exc) or type(exc).__name__


# feedparser stores an element it has no handler for under the element's own name, whatever
# that is: a feed's <summary_detail>, <published_parsed> or <ttl unit="m"> replaces what its
# handlers put there with a string or a dict. Each value is taken only in the form the
# handlers give it; anything else counts as absent, so that such a feed is read, not failed.


def _entry(raw: dict[str, Any], tracking: Sequence[str]) -> Entry:
    # dict.get: feedparser's own get() maps a missing "updated" to "published", noisily.
    return normalised_entry(
        _text(raw, "title"),
        _text(raw, "summary"),
        "\n".join(_detail_text(part) for part in _list(raw.get("content"))).strip(),
        _string(raw.get("link")),
        _string(raw.get("id")),
        _time(dict.get(raw, "published_parsed")),
        _time(dict.get(raw, "updated_parsed")),
        _string(raw.get("author")) or "",
        [term for tag in _list(raw.get("tags")) if (term := _string(tag.get("term")))],
        tracking,
    )


def _text(container: Mapping[str, Any], name: str) -> str:
    detail = container.get(f"{name}_detail")
    if isinstance(detail, Mapping):
        return _detail_text(detail)
    value = _string(container.get(name))
    if value is None:
        return ""
    # No detail: feedparser copied it from elsewhere (an Atom summary from xhtml content);
    # plain_to_text reduces any markup in it.
    return plain_to_text(value)


def _detail_text(detail: Mapping[str, Any]) -> str:
    value = _string(detail.get("value")) or ""
    if detail.get("type") in HTML_TYPES:
        return html_to_text(value)
    return plain_to_text(value)


def _string(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _list(value: object) -> list[Mapping[str, Any]]:
    """The mappings of a list (content parts, tags)."""
    return [part for part in value if isinstance(part, Mapping)] if isinstance(value, list) else []


def _time(value: object) -> datetime | None:
    return feed_time(value) if isinstance(value, struct_time) else None
