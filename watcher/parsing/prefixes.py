"""The prefix feedparser names a namespace's elements with, in the document being read.

A namespace it knows gets its own prefix (``media``, ``dc``), whatever the document writes. One
it does not know gets, at each element, the first prefix the document has bound to it *so far*
in document order (feedparser keeps every binding it has seen, ``namespaces_in_use``, and
ignores the element's own prefix), or none at all: a WordPress ``<post-id
xmlns="com-wordpress:feed-additions:1">`` is ``post-id``, the same element after an earlier
``xmlns:wp="com-wordpress:feed-additions:1"`` would be ``wp_post-id``. So the name depends on
the whole document before the element; it is worked out once per document (``reading``).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextvars import ContextVar

from feedparser.mixin import _FeedParserMixin
from lxml import etree

from watcher.parsing.names import USERLAND

# feedparser's own prefix for each namespace it knows (it ignores the document's prefix).
_KNOWN_PREFIX = {uri.lower(): prefix for uri, prefix in _FeedParserMixin.namespaces.items()}
_VARIES = "\0"  # an unknown namespace whose elements feedparser names differently in places


class _Document:
    """The document being read; the prefixes of its unknown namespaces worked out when first
    asked for (most documents have none, and are never walked for them)."""

    def __init__(self, root: etree._Element) -> None:
        self._root = root
        self._unknown: dict[str, str] | None = None

    def unknown(self) -> dict[str, str]:
        if self._unknown is None:
            self._unknown = _unknown_prefixes(self._root)
        return self._unknown


_READING: ContextVar[_Document] = ContextVar("document")


def known_prefix(uri: str) -> str | None:
    """feedparser's own prefix for a namespace (``""`` for none, RSS 1.0 and Atom's)."""
    if not uri:
        return ""
    lowered = uri.lower()
    return "" if USERLAND in lowered else _KNOWN_PREFIX.get(lowered)


def prefix_of(uri: str) -> str | None:
    """The prefix feedparser gives the elements of namespace ``uri`` in the document being read
    (``""``: none); None when that is not one prefix throughout the document."""
    known = known_prefix(uri)
    if known is not None:
        return known
    document = _READING.get(None)
    prefix = _VARIES if document is None else document.unknown().get(uri, _VARIES)
    return None if prefix == _VARIES else prefix


@contextlib.contextmanager
def reading(root: etree._Element) -> Iterator[None]:
    """While reading the document under ``root``: ``prefix_of`` answers for it."""
    token = _READING.set(_Document(root))
    try:
        yield
    finally:
        _READING.reset(token)


def _unknown_prefixes(root: etree._Element) -> dict[str, str]:
    """For each namespace feedparser does not know that the document's elements are in, the
    prefix feedparser names them with, replaying its bookkeeping in document order."""
    in_use: dict[str, str] = {}  # prefix (or "") → URI, in the order first bound
    renamed: dict[str, str] = {}  # a prefix the document bound to a known namespace → its own
    named: dict[str, str] = {}  # the prefix of each URI since the last binding (a root's many)
    found: dict[str, str] = {}
    for event, item in etree.iterwalk(root, events=("start-ns", "start")):
        if event == "start-ns":
            prefix, uri = item
            if uri:
                known = known_prefix(uri)
                if known is not None and prefix:  # (a default namespace renames nothing)
                    renamed[prefix] = known
                in_use[prefix if known is None else known] = uri
                named.clear()
            continue
        tag = item.tag
        if not isinstance(tag, str) or not tag.startswith("{"):
            continue
        uri = tag[1:].partition("}")[0]
        if known_prefix(uri) is not None:
            continue
        if uri not in named:
            first = next((name for name, bound in in_use.items() if name and bound == uri), "")
            named[uri] = renamed.get(first, first)
        if found.setdefault(uri, named[uri]) != named[uri]:
            found[uri] = _VARIES
    return found
