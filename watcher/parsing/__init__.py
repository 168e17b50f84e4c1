"""Feed bytes in, a ParsedFeed out: the fast path for plain RSS and Atom, feedparser for the
rest, and the normalisation both share."""

from __future__ import annotations

from collections.abc import Sequence

from watcher.core.model import ParsedFeed


def parse_when_needed(
    url: str, body: bytes, content_type: str | None, tracking: Sequence[str]
) -> ParsedFeed:
    """``watcher.parsing.document.parse_feed``, imported on first use: feedparser and lxml
    take a sixth of a second to import, and a round where nothing changed parses nothing."""
    from watcher.parsing.document import parse_feed

    return parse_feed(url, body, content_type, tracking)
