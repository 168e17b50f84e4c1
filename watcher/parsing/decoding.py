"""A document's root element, read by lxml from its bytes decoded as feedparser decodes them
(``treatment.charset_agrees``): for the fast path, which declines what it cannot read."""

from __future__ import annotations

from lxml import etree

from watcher.parsing.names import USERLAND
from watcher.parsing.treatment import as_feedparser_decodes, charset_agrees

_PARSER = etree.XMLParser(
    resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False, recover=False
)


def root_of(url: str, body: bytes, content_type: str | None) -> etree._Element | str:
    """The document's root element, its bytes decoded as feedparser decodes them and RSS in
    UserLand's namespaces renamed as plain RSS; else why not."""
    root = _parsed(url, body, content_type)
    if not isinstance(root, str) and USERLAND in root.tag.lower():
        _userland_as_plain(root)
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


def _is_utf8(body: bytes) -> bool:
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True
