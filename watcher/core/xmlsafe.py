"""XML from strangers, made safe to hand to a parser: no DOCTYPE, so no entity is declared
and none can be expanded ("billion laughs", quadratic blowup, external entities)."""

from __future__ import annotations

import re

# A DOCTYPE in a feed or an OPML file only serves to declare entities: it is removed.
_DOCTYPE = re.compile(rb"<!DOCTYPE[^\[>]*(\[.*?\])?\s*>", re.IGNORECASE | re.DOTALL)
_PROLOG = 4096  # a DOCTYPE, if any, stands in the first bytes
# A reference to an entity no DTD declares any more: XML's five and character references are
# all that is left to expand.
_UNDECLARED = re.compile(
    rb"&(?!(?:amp|lt|gt|quot|apos|#[0-9]+|#x[0-9A-Fa-f]+);)([A-Za-z_][\w.-]*);"
)


def strip_doctype(body: bytes) -> bytes:
    """``body`` without its DOCTYPE declaration (and the entities it declares)."""
    head = body[:_PROLOG]
    if b"<!" not in head.upper() or b"DOCTYPE" not in head.upper():
        return body
    match = _DOCTYPE.search(body, 0, len(body))
    if match is None or match.start() > _PROLOG:
        return body
    return body[: match.start()] + body[match.end() :]


def literal_entities(body: bytes) -> bytes:
    """``body`` with every reference to a declared entity (``&x;``) turned into its literal
    text, so that a parser shows ``&x;`` as written instead of expanding or refusing it."""
    return _UNDECLARED.sub(rb"&amp;\1;", body)
