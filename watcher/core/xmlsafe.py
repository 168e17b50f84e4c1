"""XML from strangers, made safe to hand to a parser: no DOCTYPE, so no entity is declared
and none can be expanded ("billion laughs", quadratic blowup, external entities); and nothing
before the XML declaration, so that it is read at all."""

from __future__ import annotations

import re
from html.entities import html5

# A DOCTYPE in a feed or an OPML file only serves to declare entities: it is removed.
_DOCTYPE = re.compile(rb"<!DOCTYPE[^\[>]*(\[.*?\])?\s*>", re.IGNORECASE | re.DOTALL)
_PROLOG = 4096  # a DOCTYPE, if any, stands in the first bytes
_XML_NAMES = (b"amp", b"lt", b"gt", b"quot", b"apos")  # the entities XML itself declares
# A reference to an entity no DTD declares any more: XML's five and character references are
# all that is left to expand.
_UNDECLARED = re.compile(
    rb"&(?!(?:" + b"|".join(_XML_NAMES) + rb"|#[0-9]+|#x[0-9A-Fa-f]+);)([A-Za-z_][\w.-]*);"
)


def strip_doctype(body: bytes) -> bytes:
    """``body`` without its DOCTYPE declaration (and the entities it declares)."""
    start = body[:_PROLOG].upper().find(b"<!DOCTYPE")
    if start < 0:
        return body
    # Matched where it starts, once: searched for, every "<!DOCTYPE x [" left open made the
    # search read the rest of the document again (a hostile 500 kB of them took minutes).
    match = _DOCTYPE.match(body, start)
    if match is None:
        return body
    return body[: match.start()] + body[match.end() :]


# White space before the XML declaration (a template's blank line, famously WordPress's): XML
# allows nothing there. expat refuses it, and feedparser falls back to its loose parser, which
# ignores the declared encoding (mojibake in a windows-1251 or GB2312 feed) and keeps markup in
# a description escaped; lxml refuses it too. Without it, both read what the author meant.
_SPACE_BEFORE_DECLARATION = re.compile(rb"(\xef\xbb\xbf)?([ \t\r\n]+)<\?xml[ \t\r\n]")


def declaration_first(body: bytes) -> bytes:
    """``body`` without the white space a server sent before its XML declaration (a UTF-8
    byte order mark stays first)."""
    found = _SPACE_BEFORE_DECLARATION.match(body)
    if found is None:
        return body
    return body[: found.start(2)] + body[found.end(2) :]


def prepared(body: bytes) -> bytes:
    """``body`` as a parser is to see it: no DOCTYPE, and the XML declaration first."""
    return declaration_first(strip_doctype(body))


# What XML refuses and HTML reads, as feeds written by hand or by templates have it: a
# character named as HTML names it (``&nbsp;``, ``&uuml;``: a feed has no DTD to declare them)
# and a bare ampersand (``Q&A``). Text that is literal (CDATA, comments, processing
# instructions) is matched whole, to be left as it is; one left open runs to the end (else
# every opening after it would search the rest again: a hostile document of "<!--" repeated
# took minutes).
_REFERENCE_OR_LITERAL = re.compile(
    rb"<!\[CDATA\[(?:.*?\]\]>|.*)|<!--(?:.*?-->|.*)|<\?(?:.*?\?>|.*)"
    rb"|&(?:([A-Za-z][A-Za-z0-9]*);|#[0-9]+;|#[xX][0-9A-Fa-f]+;)?",
    re.DOTALL,
)


def references_repaired(body: bytes) -> bytes:
    """``body`` with HTML's named character references made numeric and bare ampersands
    escaped, outside literal text; ``body`` itself when there was nothing to repair (as in
    any well-formed document). A name HTML does not define stays, and the document with it
    stays not well-formed."""
    repaired = _REFERENCE_OR_LITERAL.sub(_repair, body)
    return body if repaired == body else repaired


def _repair(found: re.Match[bytes]) -> bytes:
    text = found.group()
    name = found.group(1)
    if text == b"&":
        return b"&amp;"
    if name is None or name in _XML_NAMES:
        return text  # literal text, a numeric reference, or one of XML's own
    characters = html5.get(name.decode("ascii") + ";")
    if characters is None:
        return text
    return b"".join(b"&#%d;" % ord(character) for character in characters)


def literal_entities(body: bytes) -> bytes:
    """``body`` with every reference to a declared entity (``&x;``) turned into its literal
    text, so that a parser shows ``&x;`` as written instead of expanding or refusing it."""
    return _UNDECLARED.sub(rb"&amp;\1;", body)
