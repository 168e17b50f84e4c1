"""JSON Feed 1.0 and 1.1 (https://jsonfeed.org/version/1.1) in, the same entries as RSS and
Atom out: ``id`` is the guid, ``url`` (else ``external_url``) the link, ``content_html`` or
``content_text`` the content, ``authors`` (1.1) or ``author`` (1.0) the author; extensions
(keys starting with ``_``) and the rest are ignored.

The document is validated before anything is read from it: a body that is not JSON, nests
deeper than any feed does, holds a number too long to read, or gives a field the wrong type
is refused as a whole with the place and the problem, like a malformed XML feed."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Annotated, Any
from urllib.parse import urljoin

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr, ValidationError

from watcher.core.errors import ParseError
from watcher.core.model import Entry, ParsedFeed
from watcher.core.text import one_line
from watcher.parsing.markup import html_to_text, plain_to_text
from watcher.parsing.normalise import normalised_entry
from watcher.parsing.treatment import date

VERSIONS = ("https://jsonfeed.org/version/1", "https://jsonfeed.org/version/1.1")


class _Lenient(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class _Author(_Lenient):
    name: StrictStr | None = None


class _Item(_Lenient):
    id: StrictStr | StrictInt  # a string by the spec; some publishers write numbers
    url: StrictStr | None = None
    external_url: StrictStr | None = None
    title: StrictStr | None = None
    content_html: StrictStr | None = None
    content_text: StrictStr | None = None
    summary: StrictStr | None = None
    date_published: StrictStr | None = None
    date_modified: StrictStr | None = None
    authors: list[_Author] | None = None
    author: _Author | None = None
    tags: list[StrictStr] | None = None


class _Feed(_Lenient):
    version: StrictStr
    title: StrictStr | None = None
    authors: list[_Author] | None = None  # an item's when it names none (the spec)
    author: _Author | None = None
    items: Annotated[list[_Item], Field(max_length=100_000)]


def parse_json_feed(url: str, body: bytes, tracking: Sequence[str]) -> ParsedFeed:
    """The feed's entries; ParseError naming the problem when it is not a JSON Feed."""
    document = _loaded(url, body)
    if not isinstance(document, dict) or document.get("version") not in VERSIONS:
        version = document.get("version") if isinstance(document, dict) else None
        seen = f" (version {str(version)[:80]!r})" if isinstance(version, str) else ""
        raise ParseError(url, f"JSON, but not a JSON Feed{seen}")
    try:
        feed = _Feed.model_validate(document)
    except ValidationError as exc:
        raise ParseError(url, f"invalid JSON Feed: {_first_problem(exc)}") from None
    authors = _authors(feed.authors, feed.author)
    entries = tuple(_entry(url, item, authors, tracking) for item in feed.items)
    return ParsedFeed(title=one_line(plain_to_text(feed.title or "")), entries=entries)


def _loaded(url: str, body: bytes) -> Any:
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ParseError(url, f"JSON that is not UTF-8 ({exc.reason})") from None
    try:
        return json.loads(text)
    except RecursionError:  # the decoder's own guard, long before the C stack runs out
        raise ParseError(url, "JSON nested too deeply") from None
    except ValueError as exc:  # also a number of more than 4,300 digits
        raise ParseError(url, f"not valid JSON: {str(exc)[:200]}") from None


def _first_problem(exc: ValidationError) -> str:
    error = exc.errors(include_url=False)[0]
    where = ".".join(str(part) for part in error["loc"])
    return f"{where}: {error['msg']}"


def _authors(authors: list[_Author] | None, author: _Author | None) -> str:
    """1.1's list of authors, else 1.0's one, as one line of names."""
    named = authors if authors is not None else [author] if author else []
    return ", ".join(one.name for one in named if one.name)


def _entry(url: str, item: _Item, feed_authors: str, tracking: Sequence[str]) -> Entry:
    link = item.url or item.external_url
    if item.content_html is not None:
        content = html_to_text(item.content_html)
    else:
        content = plain_to_text(item.content_text or "")
    # As feedparser does for RSS and Atom, the body stands in for a missing summary.
    summary = plain_to_text(item.summary) if item.summary else content
    return normalised_entry(
        plain_to_text(item.title or ""),
        summary,
        content,
        urljoin(url, link.strip()) if link else None,
        str(item.id),
        date(item.date_published or ""),
        date(item.date_modified or ""),
        _authors(item.authors, item.author) or feed_authors,
        item.tags or (),
        tracking,
    )
