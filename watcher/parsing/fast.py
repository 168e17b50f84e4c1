"""A fast path for well-formed RSS (0.91 to 2.0), RSS 1.0 and Atom (1.0, and 0.3 read as
1.0), read with lxml, giving exactly the entries feedparser would.

feedparser costs about 1 ms an entry; lxml reads the same items some thirty times faster. But
feedparser is the parser of record: its many rules (which element fills which field, in what
order, what counts as HTML) are what users' feeds have been tested against for twenty years.
So this path takes only documents made of elements whose feedparser treatment it reproduces,
and returns None for anything else — an item element feedparser reads in ways not reproduced
here, markup from another vocabulary inside a text element, a document that is not
well-formed — and the caller hands those to feedparser (``declined`` says why). A document is
decoded as feedparser decodes it: its bytes as they are when it is UTF-8 by every rule, else
through feedparser's own decoding (another encoding, an HTTP charset over the document's).
Elements feedparser keeps nothing of in the fields read here (a podcast's duration, a comment
count, an unknown vocabulary) are skipped, links are resolved against ``xml:base`` as
feedparser resolves them, summaries, content and markup are put together as feedparser puts
them together (``watcher.parsing.bodies``), and titles kept as it keeps them
(``watcher.parsing.titles``).
``tests/parsing/test_fastparse.py`` checks both paths give the same entries over a corpus of
real-world feeds and generated documents.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from urllib.parse import urljoin

from lxml import etree

from watcher.core.identity import TRACKING_PARAMS
from watcher.core.model import Entry, ParsedFeed
from watcher.core.schedule import feed_hint
from watcher.core.text import one_line
from watcher.parsing.bodies import Bodies, atom_body, body, content_flag
from watcher.parsing.decoding import root_of
from watcher.parsing.markup import html_to_text
from watcher.parsing.media import read_media
from watcher.parsing.names import ATOM, CONTENT, DC, DCTERMS, ITUNES, RDF, RSS1, SY
from watcher.parsing.normalise import normalised_entry
from watcher.parsing.people import atom_author, skip_contributor, skip_source
from watcher.parsing.prefixes import reading
from watcher.parsing.tags import Tag, categories, category, keywords, terms
from watcher.parsing.titles import (
    Titles,
    depth_in,
    images_in_a_category,
    offer_rss_title,
    read_image,
)
from watcher.parsing.treatment import (
    Unsupported,
    attribute,
    base_of,
    date,
    ignored_in_an_entry,
    plain_or_html,
    read_inside,
    resolved,
    rss_link,
    shown,
    stripped,
    text,
    to_a_page,
)

# A channel's elements that start titles of their own (feedparser's title_depth is reset by
# each): the next title of the channel's replaces the one it kept.
_TITLES_OF_THEIR_OWN = frozenset({"item", "image", "textinput"})
# An item's dates under each name feedparser reads them by (built once: they are compared
# for every element of every item).
_PUBLISHED = frozenset({"pubDate", "issued", f"{DCTERMS}issued"})
_UPDATED = frozenset(
    {f"{DC}date", f"{DCTERMS}modified", f"{ATOM}updated", "modified", "lastBuildDate"}
)
_DC_SUBJECT = f"{DC}subject"  # a category to feedparser, in RSS and Atom
_CATEGORIES = frozenset({"category", _DC_SUBJECT})
_TITLES = frozenset({"title", f"{DC}title"})  # a channel's or an item's
# Item elements whose treatment by feedparser this module reproduces (read or safely ignored).
_RSS_ITEM = _PUBLISHED | _UPDATED | _CATEGORIES | _TITLES | frozenset(
    {"link", "guid", "description", "author", "categories",
     "comments", "enclosure", "source", f"{CONTENT}encoded", f"{DC}creator",
     f"{ITUNES}author", f"{ITUNES}summary", f"{ITUNES}keywords",
     "{http://purl.org/rss/1.0/modules/slash/}comments",
     "{http://wellformedweb.org/CommentAPI/}commentRss",
     "{http://rssnamespace.org/feedburner/ext/1.0}origLink"}
)  # fmt: skip
_ATOM_ENTRY = frozenset(
    f"{ATOM}{name}"
    for name in ("title", "link", "id", "published", "updated", "summary", "content",
                 "author", "contributor", "source", "category", "rights")
)  # fmt: skip


def fast_parse(
    url: str,
    body: bytes,
    content_type: str | None = None,
    tracking: Sequence[str] = TRACKING_PARAMS,
) -> ParsedFeed | None:
    """The feed's entries, or None when the document needs feedparser."""
    read = _read(url, body, content_type, tracking)
    return read if isinstance(read, ParsedFeed) else None


def declined(url: str, body: bytes, content_type: str | None = None) -> str | None:
    """Why the fast path declines a document (None: it takes it), for benchmarks to count."""
    read = _read(url, body, content_type, TRACKING_PARAMS)
    return read if isinstance(read, str) else None


def _read(
    url: str, body: bytes, content_type: str | None, tracking: Sequence[str]
) -> ParsedFeed | str:
    root = root_of(url, body, content_type)
    if isinstance(root, str):
        return root
    try:
        with reading(root):
            if root.tag == "rss":  # any version: feedparser reads 0.91 to 2.0 alike
                return _rss(root, url, tracking)
            if root.tag == f"{ATOM}feed":
                return _atom(root, url, tracking)
            if root.tag == f"{RDF}RDF":
                return _rdf(root, url, tracking)
    except Unsupported as exc:
        return str(exc)
    return "not RSS or Atom"


def _once(seen: set[str], tag: str) -> None:
    """feedparser's result for a repeated text element depends on the order of events."""
    if tag in seen:
        raise Unsupported(f"a repeated {tag}")
    seen.add(tag)


def _rss(root: etree._Element, url: str, tracking: Sequence[str]) -> ParsedFeed:
    channel = root.find("channel")
    if channel is None or len(root) != 1:
        raise Unsupported("not one channel")
    return _channel(channel, channel, url, tracking)


def _rdf(root: etree._Element, url: str, tracking: Sequence[str]) -> ParsedFeed:
    """RSS 1.0: the channel, and its items beside it rather than in it. feedparser reads its
    elements (in the RSS 1.0 namespace) as it reads RSS 2.0's."""
    channels = root.findall(f"{RSS1}channel")
    if len(channels) != 1 or root.find(f"{RSS1}channel/{RSS1}item") is not None:
        raise Unsupported("not one RSS 1.0 channel")
    item = root.find(f"{RSS1}item")
    if item is not None and root.index(item) < root.index(channels[0]):
        raise Unsupported("an item before the channel")  # the channel's flags come later
    return _channel(channels[0], root, url, tracking)


def _channel(
    channel: etree._Element, items: etree._Element, url: str, tracking: Sequence[str]
) -> ParsedFeed:
    """The feed's title and hint from ``channel``, its entries from the items in ``items``."""
    titles = Titles()  # the first title is kept, as an entry's is
    for child in channel:
        tag = _rss_name(child.tag)
        if tag in _TITLES:
            titles.offer(stripped(child), plain_or_html)
        elif isinstance(tag, str) and tag.lower() in _TITLES_OF_THEIR_OWN:
            titles.forget()
        elif _may_name_the_feed(tag):
            raise Unsupported("a feed title from another vocabulary")
    found = []
    for child in items:
        tag = _rss_name(child.tag)
        if tag == "item":
            found.append(child)
        elif _in_another_case(tag, "item"):
            raise Unsupported("an element name in another case")  # feedparser's <item> too
    flag = content_flag(channel)
    entries = [_rss_item(item, url, tracking, flag and n == 0) for n, item in enumerate(found)]
    return ParsedFeed(title=one_line(titles.value), entries=tuple(entries), hint=_hint(channel))


def _rss_name(tag: object) -> object:
    """An RSS 1.0 element's name as RSS 2.0's (feedparser gives both the same treatment)."""
    return tag[len(RSS1) :] if isinstance(tag, str) and tag.startswith(RSS1) else tag


def _hint(container: etree._Element) -> timedelta | None:
    def value(tag: str) -> str | None:
        found = container.find(tag)
        return None if found is None else text(found)

    return feed_hint(value("ttl"), value(f"{SY}updatePeriod"), value(f"{SY}updateFrequency"))


def _may_name_the_feed(tag: object) -> bool:
    """Other vocabularies' titles (dc:title, media:title…) and a title in another case
    (feedparser reads element names in lower case) may become the feed's title; the rest of a
    channel's elements (links, images, languages…) do not concern us."""
    return isinstance(tag, str) and tag.rpartition("}")[2].lower() == "title"


def _in_another_case(tag: object, name: str) -> bool:
    """``tag`` is ``name`` but for the case of its letters, which feedparser ignores."""
    return isinstance(tag, str) and tag != name and tag.lower() == name.lower()


def _rss_item(item: etree._Element, url: str, tracking: Sequence[str], has_content: bool) -> Entry:
    seen: set[str] = set()
    bodies = Bodies(has_content)
    titles = Titles()
    author = ""
    link = guid = None
    guid_is_link = False
    published = updated = None
    tags: list[Tag] = []
    if attribute(item, "href") is not None or attribute(item, "lastmod") is not None:
        raise Unsupported("an item with CDF attributes")  # feedparser reads them as fields
    about = item.get(f"{RDF}about")
    if about:  # RSS 1.0: feedparser takes rdf:about, as it stands, for the id
        guid = about
    for child in item:
        tag = _rss_name(child.tag)
        if not isinstance(tag, str):
            continue  # a comment or processing instruction
        if read_media(child, bodies, titles, guess=True):
            continue
        if tag == "image":
            read_image(titles, child, depth=1)
            continue
        if tag not in _RSS_ITEM:
            if ignored_in_an_entry(child):
                continue
            raise Unsupported(f"an element feedparser reads: {shown(tag)}")
        if tag in _TITLES:
            offer_rss_title(titles, child)
        elif tag == "source":
            titles.forget()
        elif tag == "link":
            _once(seen, tag)
            link = rss_link(base_of(child, url), stripped(child))
        elif tag == "guid":
            _once(seen, tag)
            guid_is_link = attribute(child, "ispermalink", "true") == "true"
            guid = stripped(child)
            if guid and guid_is_link:  # feedparser resolves a permalink guid like a link
                guid = resolved(base_of(child, url), guid)
        elif tag in _PUBLISHED:
            _once(seen, "published")
            published = date(stripped(child))
        elif tag in ("description", f"{ITUNES}summary"):
            value, marked = body(child)
            as_content = html_to_text if marked else plain_or_html
            as_summary = html_to_text if tag == "description" else as_content
            bodies.summary(value, as_summary, as_content)
        elif tag == f"{CONTENT}encoded":
            _once(seen, "content")
            bodies.content(body(child)[0], html_to_text)
        elif tag in _UPDATED:
            _once(seen, "updated")
            updated = date(stripped(child))
        elif tag in ("author", f"{DC}creator", f"{ITUNES}author"):
            author = stripped(child)  # the last of them, in feedparser
        elif tag in _CATEGORIES:
            category(tags, child, images_in_a_category(child, titles) if len(child) else None)
        elif tag == "categories":
            categories(tags, child)
        elif tag == f"{ITUNES}keywords":
            keywords(tags, child)
    if guid_is_link and guid and link is None:
        link = guid
    return normalised_entry(
        titles.value, *bodies.texts(), link, guid, published, updated, author, terms(tags), tracking
    )


def _atom(root: etree._Element, url: str, tracking: Sequence[str]) -> ParsedFeed:
    titles = Titles()  # the first title is kept, as an entry's is
    entries = []
    has_content = content_flag(root)
    for child in root:
        if child.tag == f"{ATOM}title":
            titles.offer(*atom_body(child))
        elif child.tag == f"{ATOM}entry":
            entries.append(_atom_entry(child, url, tracking, has_content))
            has_content = False
            titles.forget()
        elif _in_another_case(child.tag, f"{ATOM}entry"):
            raise Unsupported("an element name in another case")  # feedparser's <entry> too
        elif _may_name_the_feed(child.tag):
            raise Unsupported("a feed title from another vocabulary")
    return ParsedFeed(title=one_line(titles.value), entries=tuple(entries), hint=_hint(root))


def _atom_entry(
    entry: etree._Element, url: str, tracking: Sequence[str], has_content: bool
) -> Entry:
    seen: set[str] = set()
    bodies = Bodies(has_content)
    titles = Titles()
    author = ""
    link = guid = None
    id_is_link = False
    published = updated = None
    tags: list[Tag] = []
    for child in entry:
        tag = child.tag
        if not isinstance(tag, str):
            continue
        if read_media(child, bodies, titles, guess=False):
            continue
        if tag == _DC_SUBJECT:
            category(tags, child)
            continue
        if tag not in _ATOM_ENTRY:
            for name, node in read_inside(child):
                if name == "title":
                    titles.offer(*atom_body(node), depth_in(node, child))
                elif not id_is_link or not guid:  # else the entry's id and link stand
                    raise Unsupported("an id inside another element")
            continue
        name = tag[len(ATOM) :]
        if name == "title":
            _once(seen, name)
            titles.offer(*atom_body(child))
        elif name == "link":
            if to_a_page(child):  # the last of them, as in feedparser
                link = urljoin(base_of(child, url), (attribute(child, "href") or "").strip())
        elif name == "id":
            _once(seen, name)
            # Not a permalink (as an RSS guid may say): not resolved, and no link.
            id_is_link = attribute(child, "ispermalink", "true") == "true"
            guid = stripped(child)
            guid = resolved(base_of(child, url), guid) if id_is_link else guid
        elif name == "published":
            _once(seen, name)
            published = date(stripped(child))
        elif name == "updated":
            _once(seen, name)
            updated = date(stripped(child))
        elif name == "summary":
            value, reader = atom_body(child)
            bodies.summary(value, reader, reader)
        elif name == "content":  # out-of-line too: feedparser keeps its src apart
            _once(seen, "content")
            bodies.content(*atom_body(child))
        elif name == "author":
            _once(seen, name)
            author = atom_author(child)
        elif name == "rights":
            atom_body(child)  # kept apart by feedparser; read to see it is read alike
        elif name == "contributor":
            skip_contributor(child)
        elif name == "source":
            skip_source(child, titles)
        elif name == "category":
            category(tags, child)
    if guid and link is None and id_is_link:
        link = guid  # an Atom id stands for the link when there is none, in feedparser
    return normalised_entry(
        titles.value, *bodies.texts(), link, guid, published, updated, author, terms(tags), tracking
    )
