"""Media RSS as feedparser reads it: of its elements, nothing but titles and descriptions.

A media:title sets the entry's title unless one is kept already, and keeps none itself; a
media:description is read as an item's description (a summary, or content after one); each
by its ``type``. Every other Media RSS element (content, thumbnails, credits, groups) leaves
nothing in the fields read here."""

from __future__ import annotations

from feedparser.mixin import _FeedParserMixin
from lxml import etree

from watcher.parsing.bodies import Bodies, Reader, body
from watcher.parsing.markup import html_to_text, plain_to_text
from watcher.parsing.names import MEDIA
from watcher.parsing.titles import Titles, depth_in
from watcher.parsing.treatment import (
    HTML_TYPES,
    Unsupported,
    attribute,
    ignored_by_feedparser,
    plain_or_html,
)

# The Media RSS elements an entry may hold, and what of them is read here.
MEDIA_ELEMENTS = frozenset(
    f"{MEDIA}{name}" for name in ("title", "description", "group", "content", "thumbnail")
)
_READ_HERE = frozenset({"media_title", "media_description"})


def read_media(element: etree._Element, bodies: Bodies, titles: Titles, guess: bool) -> bool:
    """Whether ``element`` (one of an entry's) is a Media RSS element; if so, its titles and
    descriptions, in order, are read into ``titles`` and ``bodies``. ``guess``: plain text
    that looks like HTML is read as HTML (not in Atom). Unsupported when it holds anything
    else feedparser reads."""
    if element.tag not in MEDIA_ELEMENTS:
        return False
    if not ignored_by_feedparser(element, allowing=_READ_HERE):
        raise Unsupported("media with children feedparser reads")
    for node in element.iter(f"{MEDIA}title", f"{MEDIA}description"):
        value, marked = body(node)
        if node.tag == f"{MEDIA}description":
            # Read as a description: a summary of type text/html unless its type says
            # otherwise, or content (text/plain unless…) after a summary.
            as_summary = typed(node, marked, "text/html", guess)
            bodies.summary(value, as_summary, typed(node, marked, "text/plain", guess))
        else:
            reader = typed(node, marked, "text/plain", guess)
            titles.offer(value, reader, depth_in(node, element), keeps=False)
    return True


def typed(node: etree._Element, marked: bool, default: str, guess: bool) -> Reader:
    """How feedparser reduces a text element it reads as ``default`` unless the element's
    ``type`` says otherwise: as HTML, or as plain text — which outside Atom (``guess``) is
    read as HTML when it looks like HTML. Markup inside it makes it XHTML."""
    given = attribute(node, "type")
    kind = _FeedParserMixin.map_content_type(default if given is None else given)
    if marked or kind in HTML_TYPES:
        return html_to_text
    return plain_or_html if guess and kind == "text/plain" else plain_to_text
