"""An entry as either parser hands it on: values read from the document, normalised the
same way (plain text on one line where it is a title, safe links without tracking parameters,
an identity key), so that the two parsers give equal entries."""

from __future__ import annotations

import calendar
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from time import struct_time

from watcher.core.identity import entry_key, normalise_link
from watcher.core.model import Entry
from watcher.core.text import one_line, safe_link, strip_controls
from watcher.parsing.markup import plain_to_text


def feed_time(value: struct_time | None) -> datetime | None:
    """feedparser's parsed time as an aware datetime; None if absent or out of range."""
    if value is None:
        return None
    try:
        return datetime.fromtimestamp(calendar.timegm(value), tz=UTC)
    except (OverflowError, ValueError, OSError):
        return None


def normalised_entry(
    title: str,
    summary: str,
    content: str,
    link: str | None,
    guid: str | None,
    published: datetime | None,
    updated: datetime | None,
    author: str,
    terms: Iterable[str],
    tracking: Sequence[str],
) -> Entry:
    """``title``, ``summary`` and ``content`` are already text; the rest as read."""
    if content == summary:
        content = ""
    safe = safe_link(link)
    if safe:
        safe = normalise_link(safe, tracking)
    guid = strip_controls(guid or "").strip() or None
    title = one_line(title)
    return Entry(
        key=entry_key(guid, safe, title, published or updated, summary or content),
        title=title,
        link=safe,
        guid=guid,
        published=published,
        updated=updated,
        summary=summary,
        content=content,
        author=one_line(plain_to_text(author)),
        tags=tuple(one_line(plain_to_text(term)) for term in terms),
    )
