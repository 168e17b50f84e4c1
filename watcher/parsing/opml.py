"""OPML, the list of feeds that every reader imports and exports: read any reasonable one
(nested folders, attribute names in any case, the peers' extra attributes), write OPML 2.0."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from email.utils import format_datetime

from lxml import etree

from watcher.core.xmlsafe import literal_entities, prepared

_SCHEMES = ("http://", "https://", "file://")


@dataclass(frozen=True, slots=True)
class Outline:
    """A feed in an OPML file."""

    url: str
    title: str | None
    folder: str | None = None  # the enclosing outlines' titles, outermost first: "News/Asia"
    page: bool = False  # a web page (``htmlUrl`` alone), whose feeds are to be discovered


class OpmlError(ValueError):
    """The file is not OPML we can read; the message says why."""


def read_opml(data: bytes) -> list[Outline]:
    """Every outline with a feed URL (``xmlUrl``), or with only a web page's (``htmlUrl``,
    marked ``page``), at any depth, each URL once, in order.
    Entities are not expanded (the DOCTYPE that declares them is removed, and a reference to
    one is read as the literal text ``&x;``) and nothing is fetched, so a hostile file can
    neither blow up nor slip text in: lxml expands internal entities in attribute values even
    with ``resolve_entities=False``."""
    parser = etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False
    )
    try:
        root = etree.fromstring(literal_entities(prepared(data)), parser)
    except etree.XMLSyntaxError as exc:
        raise OpmlError(f"not well-formed XML: {exc}") from None
    if root is None or etree.QName(root).localname.lower() != "opml":
        raise OpmlError("not an OPML document (the root element is not <opml>)")
    found: dict[str, Outline] = {}
    for element in root.iter():
        if not isinstance(element.tag, str) or etree.QName(element).localname != "outline":
            continue
        attributes = {str(k).lower(): str(v).strip() for k, v in element.attrib.items()}
        url = attributes.get("xmlurl", "")
        if not url and attributes.get("type", "").lower() in ("rss", "atom"):
            url = attributes.get("url", "")  # some writers put a feed's address there
        page = not url
        if page:
            url = attributes.get("htmlurl", "")
        if not url.lower().startswith(_SCHEMES) or url in found:
            continue
        title = attributes.get("title") or attributes.get("text") or None
        found[url] = Outline(url, title, _folder(element), page)
    return list(found.values())


def _folder(element: etree._Element) -> str | None:
    """The titles of the outlines around ``element``, outermost first, joined by "/"."""
    names = []
    for parent in element.iterancestors():
        if not isinstance(parent.tag, str) or etree.QName(parent).localname != "outline":
            break
        name = str(parent.get("title") or parent.get("text") or "").strip().replace("/", "-")
        if name:
            names.append(name)
    return "/".join(reversed(names)) or None


def write_opml(
    feeds: Sequence[tuple[str, str | None, str | None]], title: str, now: datetime
) -> str:
    """OPML 2.0 with one ``<outline type="rss">`` per (url, name, category), inside an
    outline per folder of its category ("News/Asia": two, one in the other)."""
    root = etree.Element("opml", version="2.0")
    head = etree.SubElement(root, "head")
    etree.SubElement(head, "title").text = title
    etree.SubElement(head, "dateCreated").text = format_datetime(now)
    body = etree.SubElement(root, "body")
    folders: dict[str, etree._Element] = {}
    for url, name, category in feeds:
        parent, path = body, ""
        for part in (category or "").split("/"):
            if not part:
                continue
            path = f"{path}/{part}"
            if path not in folders:
                folders[path] = etree.SubElement(parent, "outline", text=part, title=part)
            parent = folders[path]
        label = name or url
        etree.SubElement(parent, "outline", type="rss", text=label, title=label, xmlUrl=url)
    xml: bytes = etree.tostring(root, xml_declaration=True, encoding="utf-8", pretty_print=True)
    return xml.decode("utf-8")
