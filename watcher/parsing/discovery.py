"""Finding a site's feeds from one of its pages, as every feed reader does: the
``<link rel="alternate">`` elements of the page's head that name a feed type, resolved against
the page's address and its ``<base>``."""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urljoin

from lxml import etree

FEED_TYPES = {
    "application/rss+xml": "RSS",
    "application/atom+xml": "Atom",
    "application/feed+json": "JSON Feed",
    "application/rdf+xml": "RSS 1.0",
}
LOOKED_FOR = '<link rel="alternate"> of type ' + ", ".join(FEED_TYPES)
_HEAD_END = re.compile(rb"</head\s*>|<body[\s>]", re.IGNORECASE)
_SCHEMES = ("http://", "https://")


@dataclass(frozen=True, slots=True)
class Found:
    """A feed a page links to."""

    url: str
    kind: str  # RSS, Atom, JSON Feed, RSS 1.0
    title: str | None


def looks_like_page(body: bytes, content_type: str | None) -> bool:
    """An HTML page, by its media type or its first bytes."""
    media = (content_type or "").split(";")[0].strip().lower()
    if media in ("text/html", "application/xhtml+xml"):
        return True
    start = body.lstrip()[:64].lower()
    return start.startswith((b"<!doctype html", b"<html"))


def discover(page_url: str, body: bytes) -> list[Found]:
    """The feeds the page's head links to, in its order, each once."""
    end = _HEAD_END.search(body)
    head = body[: end.start()] if end else body
    parser = etree.HTMLParser(recover=True, no_network=True, remove_comments=True)
    try:
        root = etree.fromstring(head, parser)
    except (ValueError, etree.LxmlError):
        return []
    if root is None:
        return []
    base = page_url
    for element in root.iter("base"):
        href = (element.get("href") or "").strip()
        if href:
            base = urljoin(page_url, href)
            break
    found: dict[str, Found] = {}
    for link in root.iter("link"):
        rels = (link.get("rel") or "").lower().split()
        kind = FEED_TYPES.get((link.get("type") or "").split(";")[0].strip().lower())
        href = (link.get("href") or "").strip()
        if "alternate" not in rels or kind is None or not href:
            continue
        url = urljoin(base, href)
        if url.lower().startswith(_SCHEMES) and url not in found:
            title = " ".join((link.get("title") or "").split()) or None
            found[url] = Found(url, kind, title)
    return list(found.values())
