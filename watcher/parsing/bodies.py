"""An entry's summary and content as feedparser builds them: which element lands where, in
its order of events, and markup inside an element re-serialised as feedparser writes it out.

feedparser reads the summary-like and content elements of an entry with a flag ("has content")
that it clears only when an entry ends, and it turns the child elements of a text element back
into markup — and from then on reads that element as XHTML. Both are reproduced here, so that
the fast path takes such entries instead of declining them."""

from __future__ import annotations

from collections.abc import Callable
from xml.sax.saxutils import escape

from feedparser.mixin import _FeedParserMixin
from lxml import etree

from watcher.parsing.markup import html_to_text, plain_to_text
from watcher.parsing.names import ATOM, CONTENT, ITUNES, MEDIA, RSS1, SVG
from watcher.parsing.prefixes import known_prefix, prefix_of
from watcher.parsing.treatment import Unsupported, attribute, repaired, stripped

Reader = Callable[[str], str]
_QUOTE = {'"': "&quot;"}  # feedparser's escaping of attribute values

# What feedparser reads as a summary (_start_summary), as a description, as content.
_SUMMARY_LIKE = frozenset({"summary", f"{ATOM}summary", f"{ITUNES}summary"})
_DESCRIPTION_LIKE = frozenset({"description", f"{RSS1}description", f"{MEDIA}description"})
_CONTENT_LIKE = frozenset({"content", f"{ATOM}content", f"{CONTENT}encoded"})
_ITEMS = frozenset({"item", f"{RSS1}item", f"{ATOM}entry"})
# The names feedparser pushes a text element under, whatever it is called in the document.
_TEXT_ELEMENTS = frozenset(
    {"title", "description", "summary", "content", "subtitle", "rights", "info"}
)


def content_flag(feed: etree._Element) -> bool:
    """feedparser's "has content" flag as the first entry finds it. It is cleared only when an
    entry ends, so feed-level content, or a second summary-like element of the feed's, makes
    the first entry read its summaries as if its content had come first."""
    summary = has_content = False
    for element in feed:
        if element.tag in _ITEMS:
            break
        for tag in _body_tags(element):
            if tag in _CONTENT_LIKE:
                has_content = True
            elif tag in _SUMMARY_LIKE or tag in _DESCRIPTION_LIKE:
                if summary and not has_content:
                    has_content = True
                elif tag in _SUMMARY_LIKE:
                    summary = True  # a feed's description is its subtitle, not its summary
    return has_content


def _body_tags(element: etree._Element) -> list[str]:
    """The tags of a feed's child that feedparser reads as a summary, description or content:
    its own, or those of the media:description elements inside a Media RSS element."""
    tag = element.tag
    if isinstance(tag, str) and tag.startswith(MEDIA):
        return [f"{MEDIA}description" for _ in element.iter(f"{MEDIA}description")]
    return [tag] if isinstance(tag, str) else []


class Bodies:
    """An entry's summary and content, built in feedparser's order of events: a second
    summary-like element becomes content unless content came first (then it replaces the
    summary), and content fills a missing summary with its raw text."""

    def __init__(self, has_content: bool) -> None:
        self._summary: str | None = None
        self._contents: list[str] = []
        self._has_content = has_content

    def summary(self, value: str, as_summary: Reader, as_content: Reader) -> None:
        if self._summary is not None and not self._has_content:
            self._has_content = True
            self._contents.append(as_content(value))
        else:
            self._summary = as_summary(value)

    def content(self, value: str, as_content: Reader) -> None:
        self._has_content = True
        self._contents.append(as_content(value))
        if self._summary is None:
            self._summary = plain_to_text(value)  # as it stands: feedparser keeps no type

    def texts(self) -> tuple[str, str]:
        """The summary and the content."""
        return self._summary or "", "\n".join(self._contents).strip()


def body(element: etree._Element) -> tuple[str, bool]:
    """A text element's value, and whether it holds markup: child elements, which feedparser
    writes back out as markup, and from the first of them on reads the element as XHTML (the
    text before it as it stands, the rest escaped)."""
    _not_base64(element)
    if not len(element):
        return stripped(element), False
    return repaired(_markup(element, escaped=False)), True


def xhtml_body(element: etree._Element) -> str:
    """An Atom text element of type ``xhtml``: its children written back out as markup,
    without the ``div`` that wraps them all."""
    _not_base64(element)
    return repaired("".join(_unwrapped(_pieces(element, escaped=True))))


def _not_base64(element: etree._Element) -> None:
    """feedparser decodes a text element as base64 (when it can) if it says ``mode="base64"``
    (Atom 0.3's), or if its type is not text, HTML or XML (a PDF's, an image's): declined,
    unless it is blank (empty either way)."""
    if not element.attrib or (not len(element) and not (element.text or "").strip()):
        return  # no type or mode (most text elements, on every entry), or blank
    given = attribute(element, "type")
    kind = "text/plain" if given is None else _FeedParserMixin.map_content_type(given)
    textual = kind.startswith("text/") or kind.endswith(("+xml", "/xml"))
    if attribute(element, "mode") == "base64" or not textual:
        raise Unsupported(f"{'base64' if textual else kind} text")


def _markup(element: etree._Element, escaped: bool) -> str:
    return "".join(_pieces(element, escaped))


def _pieces(element: etree._Element, escaped: bool) -> list[str]:
    """The tags and texts feedparser collects for ``element``, one piece each."""
    pieces = [escape(element.text or "") if escaped else element.text or ""]
    for child in element:
        _write(child, pieces, escaped)
    return pieces


def _unwrapped(pieces: list[str]) -> list[str]:
    """feedparser's removal of a ``div`` around all of an Atom element's XHTML (after blank
    pieces at either end): what is left is trimmed, so the wrapper decides what is trimmed."""
    while len(pieces) > 1 and not pieces[-1].strip():
        del pieces[-1]
    while len(pieces) > 1 and not pieces[0].strip():
        del pieces[0]
    if not (pieces[0] == "<div>" or pieces[0].startswith("<div ")) or pieces[-1] != "</div>":
        return pieces
    depth = 0
    for piece in pieces[:-1]:
        if piece.startswith("</"):
            depth -= 1
            if depth == 0:
                return pieces  # the div closes before the end: it wraps only a part
        elif piece.startswith("<"):
            depth += 1
    return pieces[1:-1]


def _write(element: etree._Element, parts: list[str], escaped: bool) -> None:
    """``element`` and what follows it, as feedparser's unknown_starttag and unknown_endtag
    write them: lower-case names without their prefix, every element closed."""
    if not isinstance(element.tag, str):
        if not escaped:
            raise Unsupported("a comment in markup")  # the text around it: which escaping?
        parts.append(escape(element.tail or ""))  # feedparser never sees comments
        return
    name = _name(element, escaped)
    attributes = "".join(
        f' {etree.QName(key).localname.lower()}="{escape(str(value), _QUOTE)}"'
        for key, value in element.attrib.items()
    )
    parts += (f"<{name}{attributes}>", escape(element.text or ""))
    for child in element:
        _write(child, parts, escaped)
    parts += (f"</{name}>", escape(element.tail or ""))


def _name(element: etree._Element, escaped: bool) -> str:
    """The element's name, if feedparser writes it out and does nothing more with it."""
    qname = etree.QName(element)
    name = qname.localname.lower()
    if qname.namespace == SVG:
        # Unknown to feedparser, which names it as the document does; it writes SVG out as
        # it writes XHTML, and calls no end handler inside it (its svgOK), but pops its
        # element stack by the name: an unprefixed <title> there closes an enclosing title.
        prefix = prefix_of(SVG)
        if prefix not in ("", "svg"):
            raise Unsupported("SVG under another prefix")
        if not prefix and name in _TEXT_ELEMENTS:
            raise Unsupported("an SVG element named as a text element")
        if name != "svg" and next(element.iterancestors(f"{{{SVG}}}svg"), None) is None:
            raise Unsupported("SVG outside an svg element")  # its end handlers are called
        return name
    prefix = known_prefix(qname.namespace or "")
    if prefix not in ("", "xhtml"):
        raise Unsupported("markup from another vocabulary")
    # feedparser calls its end handler for the element (_end_title, _end_xhtml_body…) first
    if hasattr(_FeedParserMixin, f"_end_{prefix}{'_' if prefix else ''}{name}"):
        raise Unsupported("markup feedparser reads")
    if name == "div" and not escaped:
        raise Unsupported("a div in markup")  # dropped, with its end tag, in html and text
    return name


_HTML = ("html", "text/html")  # an Atom text element's types for HTML


def atom_body(element: etree._Element) -> tuple[str, Reader]:
    """An Atom text element's value, and how it becomes text (by its type)."""
    kind = attribute(element, "type", "text")
    if kind in ("xhtml", "application/xhtml+xml"):
        return xhtml_body(element), html_to_text
    value, marked = body(element)  # blank, if of a type that is not text
    if value and kind not in (*_HTML, "text", "text/plain"):
        raise Unsupported(f"{kind} text")
    return value, html_to_text if marked or kind in _HTML else plain_to_text
