"""An Atom entry's people and its ``source``, as feedparser treats them.

An author becomes the entry's author (``name (email)``). A contributor and a source feedparser
keeps apart (``contributors``, ``source``), nothing of them in the fields read here — except
that a source, like an RSS item's, makes feedparser forget which title it kept, and a title
inside the source then counts as one kept a level down (``watcher.parsing.titles``)."""

from __future__ import annotations

from lxml import etree

from watcher.parsing.bodies import atom_body
from watcher.parsing.names import ATOM
from watcher.parsing.titles import Titles
from watcher.parsing.treatment import Unsupported, ignored_by_feedparser, text

_PERSON = frozenset(f"{ATOM}{name}" for name in ("name", "email", "uri"))
# A source's parts, each of which feedparser stores in the source, not the entry. Others
# (a summary, content) would change how the entry's own are read: declined.
_SOURCE_TEXTS = frozenset(f"{ATOM}{name}" for name in ("title", "subtitle", "rights"))
_SOURCE_VALUES = frozenset(
    f"{ATOM}{name}" for name in ("id", "updated", "generator", "icon", "logo")
)
_SOURCE_EMPTY = frozenset(f"{ATOM}{name}" for name in ("link", "category"))
_SOURCE_PARTS = (
    _SOURCE_TEXTS | _SOURCE_VALUES | _SOURCE_EMPTY | {f"{ATOM}author", f"{ATOM}contributor"}
)


def atom_author(element: etree._Element) -> str:
    """An Atom author as feedparser writes it: ``name (email)``, the name or the email."""
    name, email = _person(element, "an author")
    if name and email:
        return f"{name} ({email})"
    return name or email


def skip_contributor(element: etree._Element) -> None:
    """A contributor, which feedparser keeps apart; Unsupported if it holds what it reads."""
    _person(element, "a contributor")


def skip_source(element: etree._Element, titles: Titles) -> None:
    """A source, which feedparser keeps apart but for its trace on the entry's title;
    Unsupported if it holds anything else feedparser reads."""
    titles.forget()
    for part in element:
        tag = part.tag
        if not isinstance(tag, str) or (tag not in _SOURCE_PARTS and ignored_by_feedparser(part)):
            continue
        if tag in _SOURCE_TEXTS:
            value = atom_body(part)[0]  # read to see it is read alike; an empty title keeps none
            if tag == f"{ATOM}title" and value:
                titles.hold(1)
        elif tag in _SOURCE_VALUES:
            text(part)
        elif tag in _SOURCE_EMPTY:
            if len(part):
                raise Unsupported("markup in a text element")
        elif tag == f"{ATOM}author":
            _person(part, "an author")
        elif tag == f"{ATOM}contributor":
            _person(part, "a contributor")
        else:
            raise Unsupported(f"a source with {tag}")


def _person(element: etree._Element, what: str) -> tuple[str, str]:
    name = email = ""
    for part in element:
        # feedparser does not expect text here, so it leaves these as they stand.
        if part.tag == f"{ATOM}name":
            name = text(part).strip()
        elif part.tag == f"{ATOM}email":
            email = text(part).strip()
        elif part.tag not in _PERSON and not ignored_by_feedparser(part):
            raise Unsupported(f"{what} with other children")
    return name, email
