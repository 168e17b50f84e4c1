"""A document's root element, read by lxml from its bytes decoded as feedparser decodes them
(``treatment.charset_agrees``): for the fast path, which declines what it cannot read."""

from __future__ import annotations

from feedparser.mixin import _FeedParserMixin
from lxml import etree

from watcher.parsing.names import ATOM, ATOM03, USERLAND
from watcher.parsing.treatment import as_feedparser_decodes, attribute, charset_agrees

_PARSER = etree.XMLParser(
    resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False, recover=False
)
# Atom 0.3's names for Atom 1.0's elements, where they differ (feedparser's aliases).
_ATOM03_NAMES = {"issued": "published", "modified": "updated"}


def root_of(url: str, body: bytes, content_type: str | None) -> etree._Element | str:
    """The document's root element, its bytes decoded as feedparser decodes them, RSS in
    UserLand's namespaces renamed as plain RSS and Atom 0.3 as Atom 1.0; else why not."""
    root = _parsed(url, body, content_type)
    if isinstance(root, str):
        return root
    if USERLAND in root.tag.lower():
        _userland_as_plain(root)
    elif root.tag == f"{ATOM03}feed":
        return _atom03_as_atom10(root)
    return root


def _parsed(url: str, body: bytes, content_type: str | None) -> etree._Element | str:
    if charset_agrees(body, content_type):
        try:
            return etree.fromstring(body, _PARSER)
        except etree.XMLSyntaxError:
            if _is_utf8(body):
                return "not well-formed"
    # Another encoding, an HTTP charset over the document's, or bytes that are not the UTF-8
    # they claim to be: decoded by feedparser's own function, then read.
    try:
        return etree.fromstring(as_feedparser_decodes(url, body, content_type), _PARSER)
    except etree.XMLSyntaxError:
        return "not well-formed"


def _userland_as_plain(root: etree._Element) -> None:
    """RSS in one of UserLand's namespaces (``…/rss2``): feedparser reads every element in
    any of them as RSS without a namespace, whatever its prefix; so, renamed, does this."""
    for node in root.iter():
        tag = node.tag
        if isinstance(tag, str) and USERLAND in tag.partition("}")[0].lower():
            node.tag = tag.partition("}")[2]


def _atom03_as_atom10(root: etree._Element) -> etree._Element | str:
    """Atom 0.3 renamed as Atom 1.0: feedparser reads the elements of both by their names alone
    (``issued`` and ``modified`` are its aliases of ``published`` and ``updated``), except
    that it unwraps the ``div`` around XHTML in Atom 1.0 only: that is declined."""
    for node in root.iter():
        tag = node.tag
        if isinstance(tag, str) and tag.startswith(ATOM03):
            kind = _FeedParserMixin.map_content_type(attribute(node, "type") or "")
            if kind == "application/xhtml+xml":
                return "XHTML in Atom 0.3"
            name = tag[len(ATOM03) :]
            node.tag = ATOM + _ATOM03_NAMES.get(name, name)
    return root


def _is_utf8(body: bytes) -> bool:
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True
