"""How feedparser treats what the fast path meets, learnt from its code so that the fast path
gives what it gives: which elements it keeps nothing of, the charset rules under which lxml
reads a document as feedparser does, and how it resolves links and reads dates."""

from __future__ import annotations

import contextlib
import re
from datetime import datetime
from urllib.parse import urljoin

from feedparser.datetimes import _parse_date
from feedparser.encodings import convert_to_utf8
from feedparser.html import _cp1252
from feedparser.mixin import _FeedParserMixin
from feedparser.urls import make_safe_absolute_uri
from feedparser.util import FeedParserDict
from lxml import etree

from watcher.parsing.markup import html_to_text, plain_to_text
from watcher.parsing.normalise import feed_time
from watcher.parsing.prefixes import prefix_of

_DECLARED = re.compile(rb"""^\s*<\?xml[^>]*encoding=["']([A-Za-z0-9._-]+)["']""")
_CHARSET = re.compile(r"charset=[\"']?([A-Za-z0-9._-]+)", re.IGNORECASE)
# Elements feedparser has a handler for that fill none of the fields read here (read in its
# namespaces/ modules, one by one): an item may carry them, and their children are checked too.
_HARMLESS = frozenset(
    {"itunes_image", "itunes_link", "itunes_explicit", "itunes_block", "itunes_subtitle",
     "media_group", "media_content", "media_thumbnail", "media_rating", "media_credit",
     "media_restriction", "media_license", "media_player",
     "georss_point", "georss_line", "georss_polygon", "georss_box",
     "dc_publisher", "dc_rights", "dc_language", "dcterms_created", "dcterms_valid",
     "created"}
)  # fmt: skip
# Names an unknown element must not have: feedparser would store it as it stands over a key
# read here (watcher.parsing.document), directly or through an alias of its keymap.
_TAKEN_KEYS = frozenset(FeedParserDict.keymap) | {
    "title", "title_detail", "summary", "summary_detail", "content", "link", "links", "id",
    "guidislink", "published", "published_parsed", "updated", "updated_parsed", "author",
    "author_detail", "authors", "tags",
}  # fmt: skip
# The parts of a person: feedparser reads them inside an author, a contributor or a publisher
# only; anywhere else in an entry it stores them under keys of their own.
_PERSON_PARTS = frozenset({"name", "email", "uri", "url", "homepage"})
_XML_BASE = "{http://www.w3.org/XML/1998/namespace}base"
# The media types feedparser takes for HTML: of a text element, of a link to a page, of a
# response. A tuple: whatever a document puts in a type is compared, never hashed.
HTML_TYPES = tuple(sorted(_FeedParserMixin.html_types))


def ignored_by_feedparser(element: etree._Element, allowing: frozenset[str] = frozenset()) -> bool:
    """Whether feedparser keeps nothing of ``element`` (and its descendants) in an entry's
    title, link, id, dates, summary, content, author or tags: feedparser either has no
    handler for it (it stores the text under the element's name, ``prefix_name`` in a
    namespace, a key of its own) or has one known to be harmless. A name feedparser reads
    (``<id>``, ``<summary>``…) has a handler, or is an alias of a key read here, or is that
    key itself (``<summary_detail>`` would overwrite it): not ignored. ``allowing``: more
    names (``media_title``) the caller reads itself."""
    return all(_ignored(node, allowing) for node in element.iter())


def _ignored(node: etree._Element, allowing: frozenset[str]) -> bool:
    """``ignored_by_feedparser`` for one element, not its descendants."""
    tag = node.tag
    if not isinstance(tag, str):
        return True  # a comment or processing instruction
    name = _feedparser_name(tag)
    if name is None:
        return False
    handled = hasattr(_FeedParserMixin, f"_start_{name}") or hasattr(
        _FeedParserMixin, f"_end_{name}"
    )
    if handled and name not in _HARMLESS and name not in allowing:
        return False
    if name in _TAKEN_KEYS:
        return False
    # dc:publisher is harmless, but the parts of a person in it make a publisher
    parts = (_name_of(part) for part in node.iter())
    return name != "dc_publisher" or not any(part in _PERSON_PARTS for part in parts)


def ignored_in_an_entry(element: etree._Element) -> bool:
    """``ignored_by_feedparser`` for a child of an item or entry, which stands in no person:
    the parts of one in it are ignored too (Google's ``<gd:lastModifiedBy><name>…</name>``),
    unless they stand in a ``<dc:publisher>``."""
    return ignored_by_feedparser(element, allowing=_PERSON_PARTS)


def read_inside(element: etree._Element) -> list[tuple[str, etree._Element]]:
    """The ids and titles inside one of an Atom entry's elements that feedparser otherwise
    keeps nothing of (Shopify's ``<s:variant>`` holds an ``<id>`` and a ``<title>``), each
    with the name feedparser reads it by (``id`` or ``title``, whatever its namespace): it
    reads them as the entry's, a level down. Empty when ``element`` is ignored all through;
    Unsupported when feedparser reads anything else in it."""
    found: list[tuple[str, etree._Element]] = []
    if not _gather(element, found):
        raise Unsupported(f"an element feedparser reads: {shown(str(element.tag))}")
    return found


def _gather(node: etree._Element, found: list[tuple[str, etree._Element]]) -> bool:
    """``read_inside``'s walk: False when feedparser reads something else below ``node``."""
    if not _ignored(node, _PERSON_PARTS):
        return False
    for child in node:
        name = _name_of(child)
        if name in ("id", "title"):
            found.append((name, child))  # its own markup is its reader's to judge
        elif not _gather(child, found):
            return False
    return True


def _name_of(node: etree._Element) -> str | None:
    return _feedparser_name(node.tag) if isinstance(node.tag, str) else None


def _feedparser_name(tag: str) -> str | None:
    """The name feedparser gives an element: ``prefix_name`` with the prefix it gives the
    namespace, the bare name without one (no namespace, Atom's and RSS's, which it reads as
    unprefixed, or an unknown namespace no prefix is bound to); None when that varies
    within the document (see ``prefixes``)."""
    if not tag.startswith("{"):
        return tag.lower()
    uri, local = tag[1:].split("}", 1)
    prefix = prefix_of(uri)
    if prefix is None:
        return None
    return f"{prefix.lower()}_{local.lower()}" if prefix else local.lower()


def shown(tag: str) -> str:
    """``{uri}name`` as ``uri name``, short enough to count by."""
    return tag[1:].replace("}", " ") if tag.startswith("{") else tag


def plain_or_html(value: str) -> str:
    """An RSS element that is nominally plain text, reduced as feedparser's type guess says."""
    return html_to_text(value) if _FeedParserMixin.looks_like_html(value) else plain_to_text(value)


def charset_agrees(body: bytes, content_type: str | None) -> bool:
    """Whether feedparser decodes ``body`` as UTF-8, as lxml does: it lets an HTTP charset
    override the document's, and by RFC 3023 gives a ``text/*`` type without one us-ascii,
    falling back on failure to the encoding the document declares (then to chardet, when
    installed, whose guess lxml would not make)."""
    body = body.removeprefix(b"\xef\xbb\xbf")  # UTF-8's byte order mark: both drop it
    declared = _DECLARED.match(body[:200])
    encoding = declared.group(1).decode("ascii").lower() if declared else "utf-8"
    if encoding not in ("utf-8", "utf8"):
        return False
    if body.startswith((b"\xff\xfe", b"\xfe\xff")):  # UTF-16 or UTF-32
        return False
    if content_type is None:
        return True
    charset = _CHARSET.search(content_type)
    if charset is not None:
        return charset.group(1).lower() in ("utf-8", "utf8")
    media = content_type.split(";")[0].strip().lower()
    # us-ascii reads an ASCII document as UTF-8 does; any other falls back to its declaration
    # (which feedparser finds only at the very start).
    declares = declared is not None and body.startswith(b"<?xml")
    return not media.startswith("text/") or body.isascii() or declares


def feedparser_headers(url: str, content_type: str | None) -> dict[str, str]:
    """The response headers feedparser is given for a document: its location and type."""
    headers = {"content-location": url}
    if content_type:
        headers["content-type"] = content_type
    return headers


def as_feedparser_decodes(url: str, body: bytes, content_type: str | None) -> bytes:
    """``body`` in UTF-8 as feedparser decodes it (by its own function, given what it is
    given), its XML declaration saying so: for the documents whose bytes lxml would read
    otherwise (``charset_agrees``). feedparser's last resort, ISO-8859-2, decodes any bytes."""
    data: bytes = convert_to_utf8(feedparser_headers(url, content_type), body, {})
    return data


_REFERENCE_LIKE = re.compile("&([A-Za-z0-9_]+);")


def rss_link(url: str, value: str) -> str:
    """feedparser undoes ``&amp;`` and ``&name;`` in RSS links, taking them for mis-escaped
    query strings."""
    link = resolved(url, value)
    return _REFERENCE_LIKE.sub(r"&\g<1>", link.replace("&amp;", "&")) if "&" in link else link


def to_a_page(link: etree._Element) -> bool:
    """Whether an Atom link is an entry's link for feedparser: an alternate (the default
    relation) to HTML (the default type; ``html`` is its short name). A link it reads
    otherwise (its text, or a ``url`` or ``uri`` attribute before ``href``) is declined."""
    names = {str(key).lower() for key in link.attrib}
    if "href" not in names or names & {"url", "uri"}:
        raise Unsupported("a link without href, or with url or uri")
    kind = _FeedParserMixin.map_content_type(attribute(link, "type", "text/html") or "")
    return attribute(link, "rel", "alternate") == "alternate" and kind in HTML_TYPES


def attribute(element: etree._Element, name: str, default: str | None = None) -> str | None:
    """An attribute as feedparser reads it: named in any case (``isPermaLink``,
    ``ispermalink``: the last of them), and the value of ``rel`` or ``type`` in lower case."""
    value = None
    for key, given in element.items():  # an element's attributes, in document order
        if key.lower() == name:
            value = str(given)
    if value is None:
        return default
    return value.lower() if name in ("rel", "type") else value


def base_of(element: etree._Element, url: str) -> str:
    """The URI feedparser resolves an element's references against: the document's, then
    each ``xml:base`` (or plain ``base``) on the way down to it, made safe as feedparser makes
    it (a ``javascript:`` base is ignored)."""
    base = url
    for node in [*reversed(list(element.iterancestors())), element]:
        # feedparser also joins the base with itself where no element sets one: a no-op.
        given = node.get(_XML_BASE, attribute(node, "base"))
        if given:
            base = make_safe_absolute_uri(base, given) or base
    return base


def resolved(url: str, value: str) -> str:
    """A reference made absolute against the document's URL, as feedparser does (not an
    empty one)."""
    return urljoin(url, value) if value else value


def date(value: str) -> datetime | None:
    """A date as feedparser reads it (its own parser, for the formats feeds really use)."""
    return feed_time(_parse_date(value)) if value else None


class Unsupported(Exception):
    """Something feedparser treats in ways the fast path does not reproduce; the reason, as
    ``declined`` reports it."""


def text(element: etree._Element) -> str:
    """An element's text, which must not hold markup (feedparser would re-serialise it)."""
    if len(element):
        raise Unsupported("markup in a text element")
    return element.text or ""


def stripped(element: etree._Element) -> str:
    """An element's text as feedparser hands it on (see ``repaired``)."""
    return repaired(text(element))


def repaired(value: str) -> str:
    """A value as feedparser hands it on: trimmed, UTF-8 read as Latin-1 repaired, and the C1
    controls read as the Windows-1252 characters they usually stand for."""
    value = value.strip()
    if value.isascii():
        return value  # both repairs leave ASCII as it is
    with contextlib.suppress(UnicodeEncodeError, UnicodeDecodeError):
        value = value.encode("iso-8859-1").decode("utf-8")
    return value.translate(_cp1252)
