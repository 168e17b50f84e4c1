"""An entry's tags as feedparser makes them: from categories (attributes, then text) and
from a podcast's keywords, each added once, in document order."""

from __future__ import annotations

from lxml import etree

from watcher.parsing.treatment import Unsupported, attribute, stripped

Tag = list[str | None]  # term, scheme, label


def category(tags: list[Tag], element: etree._Element, value: str | None = None) -> None:
    """feedparser's two steps for a category, each with its own de-duplication: the
    attributes, then the text (``value``, when the caller has read it), which names the last
    tag if that has no term yet."""
    scheme = attribute(element, "scheme", attribute(element, "domain"))
    _add(tags, [attribute(element, "term"), scheme, attribute(element, "label")])
    value = stripped(element) if value is None else value
    if not value:
        return
    if tags and not tags[-1][0]:
        tags[-1][0] = value
    else:
        _add(tags, [value, None, None])


def categories(tags: list[Tag], element: etree._Element) -> None:
    """A wrapper of categories (``<categories><category>…``): feedparser reads each inside
    as a category, and keeps the wrapper's own text apart (under ``categories``)."""
    for child in element:
        if not isinstance(child.tag, str):
            continue
        if child.tag != "category":
            raise Unsupported(f"categories with {child.tag}")
        category(tags, child)


def keywords(tags: list[Tag], element: etree._Element) -> None:
    """feedparser's itunes:keywords: each of its comma-separated terms a tag in iTunes'
    scheme. With attributes feedparser never reads the text (it keeps them instead, then
    fails to split nothing), and with child elements the text would be their markup."""
    if element.attrib or len(element):
        raise Unsupported("itunes:keywords with attributes or children")
    for term in stripped(element).split(","):
        if term.strip():
            _add(tags, [term.strip(), "http://www.itunes.com/", None])


def terms(tags: list[Tag]) -> list[str]:
    """The terms of the tags that have one."""
    return [tag[0] for tag in tags if tag[0]]


def _add(tags: list[Tag], tag: Tag) -> None:
    if any(tag) and tag not in tags:
        tags.append(tag)
