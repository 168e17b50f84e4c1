"""The lxml fast path gives exactly feedparser's entries, or declines.

Checked over real-world feeds (tests/fixtures/corpus), the project's own fixtures, and
generated documents full of what trips parsers up: markup and entities in titles, CDATA,
C1 controls, odd whitespace, relative links, missing fields.
"""

from __future__ import annotations

from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from watcher.core.model import ParsedFeed
from watcher.core.xmlsafe import prepared, references_repaired
from watcher.parsing.document import parse_feed, parse_with_feedparser
from watcher.parsing.fast import declined, fast_parse

FIXTURES = Path(__file__).parents[1] / "fixtures"
CORPUS = sorted(
    path
    for path in [*(FIXTURES / "corpus").iterdir(), *(FIXTURES / "feeds").glob("*.xml")]
    if path.suffix in (".xml", ".rss", ".atom", ".rdf")
)
URL = "https://news.example/feeds/main.xml"
TRACKING = ("utm_source", "utm_medium")


def both(body: bytes, content_type: str | None = "application/xml") -> tuple[ParsedFeed, ...]:
    """Both parsers' readings of ``body`` as the watcher hands it to them (prepared, and
    repaired where that makes it well-formed: see ``parse_feed``), or none when the fast path
    declines it."""
    body = references_repaired(prepared(body))
    fast = fast_parse(URL, body, content_type, TRACKING)
    if fast is None:
        return ()
    return fast, parse_with_feedparser(URL, body, content_type, TRACKING)


def assert_same(fast: ParsedFeed, slow: ParsedFeed) -> None:
    assert fast.title == slow.title
    assert len(fast.entries) == len(slow.entries)
    for ours, theirs in zip(fast.entries, slow.entries, strict=True):
        assert ours == theirs


def read_alike(body: bytes) -> ParsedFeed:
    """The fast path's reading of ``body``, which it must take and read as feedparser does."""
    parsed = both(body)
    assert parsed, declined(URL, body)
    assert_same(*parsed)
    return parsed[0]


# As servers label feeds: RFC 3023's types, text/xml with and without a charset (us-ascii
# then, by the RFC), and a type that is not XML's.
SERVED_AS = ("application/xml", "text/xml; charset=utf-8", "text/xml", "text/html; charset=UTF-8")


@pytest.mark.parametrize("content_type", SERVED_AS)
@pytest.mark.parametrize("path", CORPUS, ids=lambda path: path.name)
def test_real_feeds_read_alike(path: Path, content_type: str) -> None:
    """Every real-world feed the fast path takes gives the same entries as feedparser, under
    each content type a server gives it."""
    parsed = both(path.read_bytes(), content_type)
    if parsed:
        assert_same(*parsed)


def test_a_utf8_byte_order_mark_is_read_past() -> None:
    """UTF-8's byte order mark before the declaration: both parsers drop it (taken, alike)."""
    body = RSS_ITEM.format("<title>café</title>").encode()
    for content_type in (None, "application/rss+xml", "text/xml"):
        assert_same(*both(b"\xef\xbb\xbf" + body, content_type))


_ALPHABETS = {  # an encoding, and letters it has beyond ASCII
    "iso-8859-1": "éüßñ¿",
    "windows-1252": "éü\u2019\u201c\u20ac",
    "windows-1251": "жщЯё",
    "gb2312": "中文新闻",
    "shift_jis": "日本語",
    "utf-16": "é中\u2019",
    "utf-8": "é中\u2019",
}


@st.composite
def encoded_documents(draw: st.DrawFn) -> tuple[bytes, str]:
    """An RSS document in some encoding, declared rightly, wrongly or not at all, served
    with or without a charset, under an XML or a text type."""
    encoding = draw(st.sampled_from(sorted(_ALPHABETS)))
    words = st.text(alphabet="ab " + _ALPHABETS[encoding], max_size=12)
    items = "".join(
        f"<item><title>{escape(title)}</title><category>{escape(term)}</category></item>"
        for title, term in draw(st.lists(st.tuples(words, words), min_size=1, max_size=3))
    )
    declared = draw(st.sampled_from([encoding, "utf-8", "iso-8859-1", None]))
    head = "" if declared is None else f'<?xml version="1.0" encoding="{declared}"?>'
    text = f'{head}<rss version="2.0"><channel><title>T</title>{items}</channel></rss>'
    media = draw(st.sampled_from(["application/rss+xml", "application/xml", "text/xml"]))
    charset = draw(st.sampled_from([encoding, "utf-8", None]))
    return text.encode(encoding), media + (f"; charset={charset}" if charset else "")


@settings(max_examples=300, deadline=None)
@given(encoded_documents())
def test_documents_in_any_encoding_read_alike(document: tuple[bytes, str]) -> None:
    """Whatever the encoding, the declaration and the HTTP charset, a document the fast path
    takes is decoded as feedparser decodes it (by feedparser's own function, when lxml alone
    would read its bytes otherwise)."""
    parsed = both(*document)
    if parsed:
        assert_same(*parsed)


def test_documents_in_other_encodings_are_taken() -> None:
    """Not a vacuous comparison: declared Latin-1, Cyrillic and Chinese documents, and an HTTP
    charset over the document's declaration, go the fast way."""
    for encoding, letters in _ALPHABETS.items():
        body = RSS_ITEM.format(f"<title>{letters}</title>").replace("utf-8", encoding)
        fast, slow = both(body.encode(encoding), "application/rss+xml")
        assert_same(fast, slow)
        assert fast.entries[0].title == letters
    latin1 = RSS_ITEM.format("<title>é</title>").encode("iso-8859-1")  # declared utf-8
    fast, slow = both(latin1, "application/xml; charset=iso-8859-1")
    assert_same(fast, slow)
    assert fast.entries[0].title == "é"


def test_text_types_are_taken_where_feedparser_reads_utf8() -> None:
    """A text/* type with a UTF-8 charset, or without one for an ASCII document or one that
    declares UTF-8 first thing, is read as lxml reads it: taken."""
    ascii_only = RSS_ITEM.format("<title>a</title>").encode()
    accented = RSS_ITEM.format("<title>café</title>").encode()
    undeclared = accented.replace(b'<?xml version="1.0" encoding="utf-8"?>', b"")
    for body, content_type in [
        (accented, "text/xml; charset=utf-8"),
        (accented, "text/html; charset=UTF-8"),
        (ascii_only, "text/xml"),
        (accented, "text/xml"),
        (undeclared.replace(b"caf\xc3\xa9", b"cafe"), "text/plain"),
    ]:
        fast, slow = both(body, content_type)
        assert_same(fast, slow)


def test_the_fast_path_takes_most_plain_feeds() -> None:
    """Not a vacuous comparison: a good share of the corpus goes the fast way."""
    taken = [path.name for path in CORPUS if both(path.read_bytes())]
    assert len(taken) >= 102, taken  # 32, then 47: ignored elements, xml:base, RSS 1.0; then
    # summaries in any order with the content, repeated authors and titles, markup and XHTML,
    # Media RSS titles (64); unknown elements without a namespace, itunes:keywords (67); a
    # UTF-8 byte order mark, other encodings decoded as feedparser decodes them (70); Media
    # RSS descriptions and typed titles (72); images and sources in items (75); RSS 0.9x
    # and RSS without a version (79); Atom sources, contributors and rights (81); RSS in
    # UserLand's namespace (82); wrapped categories and other names of dates (84); white
    # space before the XML declaration dropped before either parser reads (91); unknown
    # namespaces named as feedparser names them, a person's parts outside one (93); a feed's
    # title kept as feedparser keeps it, dcterms:issued (94); the last of several links (95);
    # HTML's references and bare ampersands repaired before either parser reads (96); SVG in
    # markup, blank text of a type that is not text (99); ids and titles inside an unknown
    # element, images in a category (101); Atom 0.3 (102 of 106; of the real-world corpus
    # alone, 99 of 103)
    assert {"feedrs__rss_2.0_ch9.xml", "business-atom.xml", "rssparser__narro.rss"} <= set(taken)
    assert {"feedjira__SamRuby.xml", "nnw__draw-down.atom", "feedjira__GoogleDocsList.xml"} <= set(
        taken
    )
    assert "world-rss2.xml" in taken


_PIECES = [
    *"abc xyz",
    *["é", "ü", "中", "\x85", "\x96", "\xa0", "\t", "\n", "  ", "\u2019s", "'", '"'],
    *["<b>", "</b>", "<p>", "</p>", "<br/>", "&amp;", "&lt;", "&#233;", "&nbsp;", "&", "<"],
    "http://x.example/",
]
_TEXT = st.lists(st.sampled_from(_PIECES), max_size=12).map("".join)


def _element(tag: str, text: str | None, cdata: bool) -> str:
    if text is None:
        return ""
    if cdata and "]]>" not in text:
        return f"<{tag}><![CDATA[{text}]]></{tag}>"
    return f"<{tag}>{escape(text)}</{tag}>"


_LINKS = st.sampled_from(
    [None, "https://news.example/a?utm_source=x&id=1", "/relative/b", "c.html", "ftp://no/", ""]
)
# xml:base (or a plain base attribute, which feedparser also honours) on the way to a link.
_BASES = st.sampled_from(
    ["", ' xml:base="https://other.example/dir/"', ' xml:base="sub/"', ' xml:base="/root/"',
     ' xml:base="javascript:alert(1)"', ' xml:base=""', ' base="https://b.example/"']
)  # fmt: skip
_DATES = st.sampled_from(
    [None, "Mon, 15 Sep 2025 10:00:00 GMT", "2025-09-15T10:00:00Z", "yesterday", "Tue, 31 Feb"]
)


# Elements feedparser keeps nothing of in the fields we read: the fast path may skip them.
# No namespace (RSS 1.0's or Atom's, in their documents) and no handler in feedparser: it
# keeps each under a name of its own.
_UNPREFIXED = [
    "<byline>Someone</byline>",
    '<thumbnail url="https://news.example/t.jpg"/>',
    "<source_id>7</source_id>",
    "<extra><inner>x</inner> tail</extra>",
]
_IGNORED = [
    "<dc:publisher>A publisher</dc:publisher>",
    "<dc:rights>© Someone &lt;b&gt;</dc:rights>",
    "<dc:language>fr</dc:language>",
    "<dcterms:created>2025-09-01T08:00:00Z</dcterms:created>",
    "<dcterms:valid>start=2025-09-01;end=2025-10-01</dcterms:valid>",
    "<itunes:duration>12:34</itunes:duration>",
    "<itunes:explicit>no</itunes:explicit>",
    '<itunes:image href="https://news.example/i.png"/>',
    "<itunes:subtitle>A &lt;b&gt;subtitle&lt;/b&gt;</itunes:subtitle>",
    "<thr:total>3</thr:total>",
    "<georss:point>45.2 4.5</georss:point>",
    '<media:group><media:thumbnail url="https://news.example/t.jpg"/>'
    '<media:content url="https://news.example/v.mp4"><media:rating>nonadult</media:rating>'
    "</media:content></media:group>",
    '<wp:story id="9"><wp:byline>Someone</wp:byline></wp:story>',
    *_UNPREFIXED,
    "<atom:updated>2025-09-16T08:00:00Z</atom:updated>",  # last: RSS 1.0 items go without
]
# Elements in namespaces feedparser does not know. It names them by the first prefix bound to
# the namespace so far in the document, not by their own (none bound: the bare name, which may
# be one it reads), so the root's declarations below change their names; and the parts of a
# person, which it ignores outside one and gives a publisher inside ``dc:publisher``.
_ELSEWHERE = [
    '<post-id xmlns="com-wordpress:feed-additions:1">7</post-id>',
    '<title xmlns="urn:other">Not the title</title>',
    '<link xmlns="urn:other">https://elsewhere.example/</link>',
    '<o:title xmlns:o="urn:other">o</o:title>',
    '<media:x xmlns:media="urn:other">m</media:x>',
    '<gd:lastModifiedBy xmlns:gd="http://schemas.google.com/g/2005"><name>N</name>'
    "<email>n@news.example</email></gd:lastModifiedBy>",
    '<s:variant xmlns:s="urn:shop"><uri>https://news.example/v</uri><s:sku/></s:variant>',
    "<dc:publisher><name>P</name></dc:publisher>",
    "<name>bare</name>",
]
# Atom's elements inside an unknown one (a Shopify product's variants): feedparser reads them
# as the entry's, a level down.
_VARIANTS = [
    '<s:variant xmlns:s="urn:shop"><id>https://news.example/v/1</id><title>Default Title</title>'
    '<s:price currency="USD">15.50</s:price><s:sku/></s:variant>',
    '<s:variant xmlns:s="urn:shop"><s:o><title type="html">&lt;b&gt;Deep&lt;/b&gt;</title></s:o>'
    "</s:variant>",
]
_ROOT_BINDINGS = st.sampled_from(
    ["", ' xmlns:wpa="com-wordpress:feed-additions:1"', ' xmlns:o="urn:other"',
     ' xmlns:sy="urn:other"', ' xmlns:zz="urn:other" xmlns:o2="urn:other"',
     ' xmlns:s="urn:shop"']
)  # fmt: skip
_NAMESPACES = (
    'xmlns:content="http://purl.org/rss/1.0/modules/content/" '
    'xmlns:dc="http://purl.org/dc/elements/1.1/" '
    'xmlns:dcterms="http://purl.org/dc/terms/" '
    'xmlns:itunes="http://www.itunes.com/dtds/podcast-1.0.dtd" '
    'xmlns:thr="http://purl.org/syndication/thread/1.0" '
    'xmlns:georss="http://www.georss.org/georss" '
    'xmlns:media="http://search.yahoo.com/mrss/" '
    'xmlns:wp="http://www.washingtonpost.com/wp-namespace" '
    'xmlns:atom="http://www.w3.org/2005/Atom"'
)


_AUTHORS = st.sampled_from(["dc:creator", "author", "itunes:author"])
# Markup as child elements of a text element, which feedparser writes back out.
_FRAGMENTS = [
    "<b>bold</b>", '<p class="x">a &amp; b <i>it</i></p>', "<br/>", '<img src="/i.png" alt="i"/>',
    "<div>d</div>", '<x:y xmlns:x="urn:x">z</x:y>', "<!-- c -->", "<script>s()</script>",
    "<span>&lt;b&gt;x</span>", "<UL><LI>one</LI></UL>", "<title>t</title>",
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 2 2"><title>chart</title>'
    '<text x="1">10 %</text><rect width="1"/></svg>',
    '<svg xmlns="http://www.w3.org/2000/svg"><desc>d</desc><g><text>t</text></g></svg>',
]  # fmt: skip
_MARKUP = st.lists(st.sampled_from(_FRAGMENTS) | _TEXT.map(escape), min_size=1, max_size=5).map(
    "".join
)


def _text_or_markup(draw: st.DrawFn, tag: str) -> str:
    if draw(st.integers(0, 3)) == 0:
        return f"<{tag}>{draw(_MARKUP)}</{tag}>"
    return _element(tag, draw(st.none() | _TEXT), draw(st.booleans()))


_TITLES = st.sampled_from(["title", "dc:title"])
# A Media RSS title sets the entry's title unless one is kept, and keeps none itself; a
# description is read as the item's description (a summary, or content after one), each with
# the type it is given, if any; credits are kept aside.
_MEDIA_TITLES = st.sampled_from(
    ["<media:title>Media title</media:title>", "<media:title></media:title>",
     '<media:title type="html">Typed &lt;i&gt;html&lt;/i&gt;</media:title>',
     '<media:title type="plain">Typed &lt;i&gt;plain&lt;/i&gt;</media:title>',
     "<media:group><media:title>Grouped &amp; <b>bold</b></media:title>"
     '<media:thumbnail url="https://news.example/t.jpg"/></media:group>',
     '<media:content url="https://news.example/v.mp4"><media:title>In content</media:title>'
     "</media:content>",
     "<media:description>A caption &amp; &lt;b&gt;more&lt;/b&gt;</media:description>",
     '<media:description type="plain">Plain &lt;b&gt;x&lt;/b&gt;\nline</media:description>',
     '<media:description type="html">Html &lt;b&gt;x&lt;/b&gt;</media:description>',
     '<media:description type="text">Text &lt;b&gt;x&lt;/b&gt;</media:description>',
     "<media:credit>Photo: A. Person</media:credit>",
     '<media:content url="https://news.example/p.jpg" medium="image"><media:credit>P</media:credit>'
     "<media:description>In content</media:description></media:content>",
     "<media:group><media:title>G</media:title><media:description>Gd <b>b</b>"
     "</media:description><media:community><media:statistics views=\"3\"/></media:community>"
     "</media:group>"]
)  # fmt: skip
# An item's image (feedparser then forgets which title it kept; the image's title is one,
# a level down) and its source (forgets too).
_ITEM_IMAGES = st.sampled_from(
    ["<image>https://news.example/i.jpg</image>",
     "<image><url>https://news.example/i.jpg</url><title>Image title</title>"
     "<link>https://news.example/img</link><width>90</width></image>",
     "<image><url>u</url><title></title></image>",
     "<image><title>Image &lt;b&gt;html&lt;/b&gt;</title></image>",
     '<source url="https://wire.example/rss">The Wire</source>']
)  # fmt: skip
# Atom contributors, which feedparser keeps apart from the author (an unknown child is kept
# under its own name); a source's parts, kept in the source (its title counts for the entry's,
# a level down; a summary in it would change the entry's own, so it is declined).
_CONTRIBUTORS = st.sampled_from(
    ["<contributor><name>C. Writer</name></contributor>",
     "<contributor><name>C</name><email>c@news.example</email><uri>/c</uri></contributor>",
     "<contributor><email>only@news.example</email><nick>n</nick></contributor>",
     "<contributor></contributor>"]
)  # fmt: skip
_SOURCE_PARTS = st.sampled_from(
    ["<id>tag:wire.example,2025:feed</id>", "<updated>2025-09-15T08:00:00Z</updated>",
     '<link href="https://wire.example/"/>', '<link rel="self" href="/feed.atom"/>',
     "<author><name>Wire desk</name><email>desk@wire.example</email></author>",
     "<contributor><name>Wire</name></contributor>", '<category term="wire"/>',
     "<subtitle>All the news</subtitle>", "<rights>(c) Wire</rights>",
     "<generator>gen</generator>", "<icon>/i.png</icon>", "<logo>/l.png</logo>",
     "<title></title>", '<title type="html">Second &lt;b&gt;title&lt;/b&gt;</title>',
     "<summary>a source's summary</summary>", "<nick>n</nick>"]
)  # fmt: skip
# More of a feed's titles, and what makes feedparser forget the one it kept (an image, a
# text input; in RSS 2.0 an item too): the first kept is the feed's, as in an entry.
_CHANNEL_TITLES = st.lists(
    st.sampled_from(
        ["<title>Second</title>", "<title></title>", "<dc:title>Dublin</dc:title>",
         "<image><title>Image</title><url>https://news.example/i.png</url></image>",
         "<textInput><title>Search</title><name>q</name></textInput>"]
    ),
    max_size=3,
)  # fmt: skip
_FEED_TITLES = st.lists(st.sampled_from(["<title>Second</title>", "<title></title>"]), max_size=2)
# The feed's own summaries and content, which set a flag feedparser keeps into the first item.
_FEED_LEVEL = st.lists(
    st.sampled_from(
        ["<description>fd</description>", "<itunes:summary>fs</itunes:summary>",
         "<content:encoded>fc</content:encoded>"]
    ),
    max_size=3,
)  # fmt: skip


@st.composite
def rss_documents(draw: st.DrawFn) -> bytes:
    items = []
    for _ in range(draw(st.integers(0, 3))):
        guid = draw(st.sampled_from([None, "g1", "https://news.example/g2", "/g3"]))
        permalink = draw(  # feedparser reads attributes' names in any case
            st.sampled_from(
                ["", ' isPermaLink="false"', ' isPermaLink="true"', ' ispermalink="false"',
                 ' isPermaLink="true" ISPERMALINK="false"', ' isPermaLink="False"']
            )
        )  # fmt: skip
        parts = [
            *(_text_or_markup(draw, draw(_TITLES)) for _ in range(draw(st.integers(0, 2)))),
            _element("link", draw(_LINKS), False).replace("<link>", f"<link{draw(_BASES)}>"),
            f"<guid{permalink}>{escape(guid)}</guid>" if guid is not None else "",
            _element(
                draw(st.sampled_from(["pubDate", "issued", "dcterms:issued"])), draw(_DATES), False
            ),
            # feedparser's names for an updated date
            _element(draw(st.sampled_from(["modified", "lastBuildDate"])), draw(_DATES), False),
            _text_or_markup(draw, "description"),
            _text_or_markup(draw, "content:encoded"),
            _text_or_markup(draw, "itunes:summary"),
            *(_element(draw(_AUTHORS), name, False) for name in draw(st.lists(_TEXT, max_size=2))),
            *(
                _element(draw(st.sampled_from(["category", "dc:subject"])), term, False)
                for term in draw(st.lists(_TEXT, max_size=3))
            ),
            # categories in a wrapper, which feedparser reads as if bare
            "<categories> "
            + "".join(_element("category", t, False) for t in draw(st.lists(_TEXT, max_size=2)))
            + "</categories>"
            if draw(st.booleans())
            else "",
            *(
                _element("itunes:keywords", f"{words},{more}", draw(st.booleans()))
                for words, more in draw(st.lists(st.tuples(_TEXT, _TEXT), max_size=2))
            ),
            *draw(st.lists(st.sampled_from(_IGNORED), max_size=3)),
            *draw(st.lists(st.sampled_from(_ELSEWHERE), max_size=2)),
            *draw(st.lists(_MEDIA_TITLES, max_size=2)),
            *draw(st.lists(_ITEM_IMAGES, max_size=2)),
        ]
        order = draw(st.permutations(parts))
        items.append(f"<item{draw(_BASES)}>" + "".join(order) + "</item>")
    title = _element("title", draw(_TEXT), draw(st.booleans()))
    # Every version feedparser reads as RSS, and none.
    version = draw(st.sampled_from(['version="2.0"', 'version="0.91"', 'version="0.92"', ""]))
    # UserLand's namespaces, which feedparser reads as none.
    version += draw(st.sampled_from(["", f' xmlns="{USERLAND}2"', f' xmlns="{USERLAND}"']))
    return (
        (
            f'<?xml version="1.0" encoding="utf-8"?><rss {version} {_NAMESPACES}'
            f"{draw(_ROOT_BINDINGS)}><channel>"
            f"{title}{''.join(draw(_CHANNEL_TITLES))}<link>https://news.example/</link>"
            f"{''.join(draw(_FEED_LEVEL))}{''.join(items)}{''.join(draw(_CHANNEL_TITLES))}"
            "</channel></rss>"
        )
        .replace("<channel>", f"<channel{draw(_BASES)}>", 1)
        .encode()
    )


@st.composite
def rdf_documents(draw: st.DrawFn) -> bytes:
    """RSS 1.0: items beside the channel, each named by rdf:about."""
    items = []
    for _ in range(draw(st.integers(0, 3))):
        about = draw(
            st.sampled_from(["", ' rdf:about="https://news.example/r1"', ' rdf:about="/r2"'])
        )
        parts = [
            _element("title", draw(st.none() | _TEXT), draw(st.booleans())),
            _element("link", draw(_LINKS), False),
            _element("description", draw(st.none() | _TEXT), draw(st.booleans())),
            _element("content:encoded", draw(st.none() | _TEXT), draw(st.booleans())),
            _element("dc:date", draw(_DATES), False),
            _element("dc:creator", draw(st.none() | _TEXT), False),
            *draw(st.lists(st.sampled_from(_IGNORED[:-1]), max_size=2)),
        ]
        items.append(f"<item{about}>" + "".join(draw(st.permutations(parts))) + "</item>")
    title = _element("title", draw(_TEXT), draw(st.booleans()))
    return (
        '<?xml version="1.0" encoding="utf-8"?>'
        '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" '
        f'xmlns="http://purl.org/rss/1.0/" {_NAMESPACES}>'
        f'<channel rdf:about="https://news.example/">{title}<link>https://news.example/</link>'
        f"</channel>{''.join(items)}</rdf:RDF>"
    ).encode()


# More links of an entry: the last alternate to HTML is its link, whatever comes between.
_OTHER_LINKS = st.tuples(
    st.sampled_from(["https://news.example/other", "/rel", ""]),
    st.sampled_from(["", ' rel="alternate"', ' rel="related"', ' rel="enclosure"', ' rel=""',
                     ' REL="Alternate"']),
    st.sampled_from(["", ' type="text/html"', ' type="html"', ' type="application/xhtml+xml"',
                     ' type="application/pdf"', ' type="TEXT/HTML"', ' type="xhtml"']),
)  # fmt: skip


@st.composite
def atom_documents(draw: st.DrawFn) -> bytes:
    kinds = st.sampled_from(["", ' type="text"', ' type="html"', ' type="xhtml"'])

    def text(tag: str, value: str) -> str:
        kind = draw(kinds)
        if draw(st.integers(0, 9)) == 0:  # read as base64 by feedparser: taken only blank
            kind = draw(st.sampled_from([' type="application/pdf"', ' mode="base64"']))
            return f"<{tag}{kind}>{draw(st.sampled_from(['', ' ', 'aGVsbG8=']))}</{tag}>"
        if kind == ' type="xhtml"':
            value = f'<div xmlns="http://www.w3.org/1999/xhtml">{draw(_MARKUP)}</div>'
        elif draw(st.integers(0, 4)) == 0:
            value = draw(_MARKUP)  # markup in the Atom namespace, in a text or html element
        else:
            value = escape(value)
        return f"<{tag}{kind}>{value}</{tag}>"

    entries = []
    for _ in range(draw(st.integers(0, 3))):
        link = draw(_LINKS)
        parts = [
            text("title", draw(_TEXT)),
            f"<link{draw(_BASES)} href={quoteattr(link)}/>" if link is not None else "",
            *(
                f"<link{relation}{kind} href={quoteattr(other)}/>"
                for other, relation, kind in draw(st.lists(_OTHER_LINKS, max_size=2))
            ),
            _element(
                "id", draw(st.sampled_from([None, "urn:x:1", "tag:a,2025:1", "/p/1"])), False
            ).replace("<id>", draw(st.sampled_from(["<id>", '<id isPermaLink="false">'])), 1),
            _element("published", draw(_DATES), False),
            _element("updated", draw(_DATES), False),
        ]
        summaries = draw(st.lists(_TEXT, max_size=2))  # a second one becomes content
        content = draw(st.none() | _TEXT)
        for summary in summaries:
            parts.append(text("summary", summary))
        if content is not None:  # out-of-line or not
            src = draw(st.sampled_from(["", ' src="https://news.example/c"', ' src="/c.pdf"']))
            parts.append(text("content", content).replace("<content", f"<content{src}", 1))
        name = draw(st.none() | _TEXT)
        if name is not None:
            extra = draw(
                st.sampled_from(["", '<gd:image xmlns:gd="urn:g" src="x"/>', "<nick>n</nick>"])
            )
            parts.append(f"<author><name>{escape(name)}</name>{extra}</author>")
        for term in draw(st.lists(_TEXT, max_size=2)):
            parts.append(f"<category term={quoteattr(term)}/>")
        for term in draw(st.lists(_TEXT, max_size=1)):
            parts.append(f"<dc:subject>{escape(term)}</dc:subject>")
        parts += draw(st.lists(_MEDIA_TITLES, max_size=2))
        parts += draw(st.lists(st.sampled_from(_UNPREFIXED), max_size=2))  # Atom's namespace
        parts += draw(st.lists(st.sampled_from(_ELSEWHERE + _VARIANTS), max_size=2))
        parts += draw(st.lists(_CONTRIBUTORS, max_size=2))
        if draw(st.booleans()):
            parts.append(text("rights", draw(_TEXT)))
        if draw(st.booleans()):
            source = [text("title", draw(_TEXT)), *draw(st.lists(_SOURCE_PARTS, max_size=4))]
            parts.append(f"<source{draw(_BASES)}>{''.join(draw(st.permutations(source)))}</source>")
        entries.append(
            f"<entry{draw(_BASES)}>" + "".join(draw(st.permutations(parts))) + "</entry>"
        )
    return (
        '<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom" '
        f'xmlns:media="http://search.yahoo.com/mrss/" xmlns:dc="http://purl.org/dc/elements/1.1/"'
        f"{draw(_ROOT_BINDINGS)}>"
        f"<title>{escape(draw(_TEXT))}</title>{''.join(draw(_FEED_TITLES))}"
        f"{''.join(draw(st.lists(st.just('<summary>fs</summary>'), max_size=2)))}"
        f"{''.join(entries)}{''.join(draw(_FEED_TITLES))}</feed>"
    ).encode()


def _as_atom03(body: bytes) -> bytes:
    """An Atom 1.0 document as Atom 0.3 writes it: its namespace and version, and its names
    for dates (``issued``, ``modified``)."""
    for new, old in (
        (b'version="0.3" xmlns="http://purl.org/atom/ns#"', b'xmlns="http://www.w3.org/2005/Atom"'),
        (b"<issued>", b"<published>"), (b"</issued>", b"</published>"),
        (b"<modified>", b"<updated>"), (b"</modified>", b"</updated>"),
    ):  # fmt: skip
        body = body.replace(old, new)
    return body


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rss_documents() | rdf_documents() | atom_documents() | atom_documents().map(_as_atom03))
def test_generated_feeds_read_alike(body: bytes) -> None:
    """So does every generated document the fast path takes (hypothesis); none of them, all
    well-formed, is touched by the repair of HTML's references."""
    assert references_repaired(body) is body
    parsed = both(body)
    if parsed:
        assert_same(*parsed)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    rss_documents() | rdf_documents() | atom_documents(),
    st.text(alphabet=" \t\r\n", min_size=1, max_size=4),
)
def test_white_space_before_the_declaration_changes_no_reading(body: bytes, space: str) -> None:
    """A generated document read with white space before its XML declaration is read as
    without it, by whichever parser takes it."""
    assert parse_feed(URL, space.encode() + body, None, TRACKING) == parse_feed(
        URL, body, None, TRACKING
    )


MEDIA = "http://search.yahoo.com/mrss/"
ATOM = "http://www.w3.org/2005/Atom"
USERLAND = "http://backend.userland.com/rss"
ITUNES = "http://www.itunes.com/dtds/podcast-1.0.dtd"
XHTML = "http://www.w3.org/1999/xhtml"
_SVG = "http://www.w3.org/2000/svg"
RSS_ITEM = (
    '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>T</title>'
    "<item>{}</item></channel></rss>"
)


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (RSS_ITEM.replace("<item>", f"<m:title xmlns:m='{MEDIA}'>M</m:title><item>"), None),
        (RSS_ITEM.format("<title>a <div>bold</div></title>"), None),  # a div: dropped
        (RSS_ITEM.format("<title>a</title><pubDate>x</pubDate><pubDate>y</pubDate>"), None),
        (RSS_ITEM.format("<title>a</title"), None),  # not well-formed
        # markup in an item's image: feedparser then reads the rest of it as the item's
        (RSS_ITEM.format("<image><url>u<b>x</b></url><link>l</link></image>"), None),
        (b'<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"/>', None),
    ],
    ids=[
        "other-title", "markup", "twice", "broken", "image-markup", "rss1",
    ],
)  # fmt: skip
def test_what_the_fast_path_declines(body: str | bytes, content_type: str | None) -> None:
    """Documents the fast path cannot reproduce are declined, for feedparser to read."""
    data = body.encode() if isinstance(body, str) else body
    assert fast_parse(URL, data, content_type) is None


def test_links_resolve_against_xml_base_as_feedparser_resolves_them() -> None:
    """xml:base on the channel, the item and the link itself, relative to one another, and
    one with a scheme feedparser refuses: taken, with feedparser's links and guids."""
    body = (
        b'<?xml version="1.0" encoding="utf-8"?><rss version="2.0">'
        b'<channel xml:base="https://cdn.example/news/"><title>T</title>'
        b'<item xml:base="world/"><title>a</title><link>a.html</link>'
        b"<guid>b.html</guid></item>"
        b'<item><title>b</title><link xml:base="/top/">c.html</link></item>'
        b'<item xml:base="javascript:alert(1)"><title>c</title><link>d.html</link></item>'
        b"</channel></rss>"
    )
    read = read_alike(body)
    links = [entry.link for entry in read.entries]
    assert links == [
        "https://cdn.example/news/world/a.html",
        "https://cdn.example/top/c.html",
        "https://cdn.example/news/d.html",
    ]


def _rss(item: str) -> bytes:
    return RSS_ITEM.format(item).encode()


def _atom(entry: str, ident: str = "<id>urn:x:1</id>") -> bytes:
    return (
        f'<feed xmlns="http://www.w3.org/2005/Atom" xmlns:media="{MEDIA}"><title>F</title>'
        f"<entry>{ident}{entry}</entry></feed>"
    ).encode()


@pytest.mark.parametrize(
    ("parts", "title"),
    [
        ("<title>Own</title><source><title>Wire</title></source>", "Own"),
        ("<title>Own</title><source><title>Wire</title></source>"
         "<media:title>Media</media:title>", "Media"),
        ("<title>Own</title><source/><media:title>Media</media:title>", "Media"),
        ("<title>Own</title><media:title>Media</media:title>", "Own"),
        ("<source><title>Wire</title></source>", ""),
    ],
    ids=["kept", "media-after-source", "media-after-empty-source", "no-source",
         "only-the-sources"],
)  # fmt: skip
def test_an_atom_source_makes_feedparser_forget_the_title_it_kept(parts: str, title: str) -> None:
    """An Atom entry's source and contributors are taken, not declined; a source's title is
    the source's, and after a source a media title replaces the entry's, as in feedparser."""
    read = read_alike(_atom(f"{parts}<contributor><name>C</name></contributor>"))
    assert read.entries[0].title == title


@pytest.mark.parametrize(
    ("body", "field", "value"),
    [
        (_rss('<guid ispermalink="false">https://a.example/x</guid>'), "link", None),
        (_rss('<guid isPermaLink="true" ispermalink="false">https://a.example/x</guid>'),
         "link", None),
        (_rss('<guid ispermalink="false" isPermaLink="true">https://a.example/x</guid>'),
         "link", "https://a.example/x"),
        (_atom('<link REL="Alternate" TYPE="TEXT/HTML" HREF="https://a.example/l"/>'),
         "link", "https://a.example/l"),
        (_atom('<category Term="t" Scheme="s"/>'), "tags", ("t",)),
        (_rss('<category Domain="d">x</category>'), "tags", ("x",)),
        (_atom('<title TYPE="HTML">a &lt;b&gt;b&lt;/b&gt;</title>'), "title", "a b"),
        (_atom('<summary type="XHTML"><div xmlns="http://www.w3.org/1999/xhtml">a <b>b</b>'
               "</div></summary>"), "summary", "a b"),
    ],
    ids=["ispermalink", "last-of-two", "last-of-two-reversed", "link-upper", "term-upper",
         "domain-upper", "type-upper", "type-value-upper"],
)  # fmt: skip
def test_attributes_are_read_in_any_case_as_feedparser_reads_them(
    body: bytes, field: str, value: object
) -> None:
    """feedparser reads an attribute's name in any case (the last of two that differ only in
    case) and a ``type`` or ``rel`` value in any case; so does the fast path. A lower-case
    ``ispermalink="false"`` had made the guid the entry's link."""
    read = read_alike(body)
    assert getattr(read.entries[0], field) == value


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b'<rss version="2.0"><channel><TITLE>Wire</TITLE><item><title>a</title></item>'
         b"</channel></rss>", "a feed title from another vocabulary"),
        (b'<rss version="2.0"><channel><title>Wire</title><Item><title>a</title></Item>'
         b"</channel></rss>", "an element name in another case"),
        (b'<feed xmlns="http://www.w3.org/2005/Atom"><Title>Wire</Title><entry><id>x</id>'
         b"</entry></feed>", "a feed title from another vocabulary"),
        (b'<feed xmlns="http://www.w3.org/2005/Atom"><title>Wire</title><Entry><id>x</id>'
         b"</Entry></feed>", "an element name in another case"),
    ],
    ids=["rss-title", "rss-item", "atom-title", "atom-entry"],
)  # fmt: skip
def test_a_feeds_title_or_entries_named_in_another_case_are_declined(
    body: bytes, reason: str
) -> None:
    """feedparser reads element names in any case: a channel's ``<TITLE>`` is the feed's
    title, an ``<Item>`` an entry. The fast path had taken such a document with no title (or
    without those entries); it now leaves it to feedparser."""
    slow = parse_with_feedparser(URL, body, None, TRACKING)
    assert (slow.title, len(slow.entries)) == ("Wire", 1)
    assert fast_parse(URL, body, None, TRACKING) is None
    assert declined(URL, body) == reason


def test_rss_in_userlands_namespace_is_read_as_rss_whatever_its_prefix() -> None:
    """feedparser reads every element in a UserLand namespace (``…/rss2`` too) as RSS
    without a namespace, prefixed or not; the fast path takes such a document and reads it
    alike."""
    body = (
        f'<u:rss xmlns:u="{USERLAND}2" version="2.0"><u:channel><u:title>Wire</u:title>'
        "<u:item><u:title>Talks</u:title><u:link>https://news.example/a</u:link>"
        f'<description xmlns="{USERLAND}2">In Madrid</description></u:item>'
        "</u:channel></u:rss>"
    ).encode()
    read = read_alike(body)
    entry = read.entries[0]
    assert (read.title, entry.title, entry.summary) == ("Wire", "Talks", "In Madrid")


@pytest.mark.parametrize(
    ("bindings", "taken"),
    [
        ("", False),  # title, which feedparser reads: declined
        (" xmlns:o='urn:x'", True),  # o_title, a key of its own: skipped
        (" xmlns:dc='urn:x'", False),  # dc_title: Dublin Core's title, though not its namespace
        (" xmlns:o='http://purl.org/dc/elements/1.1/'", False),  # o is dc; urn:x has none
    ],
)
def test_an_unknown_namespace_is_named_by_the_prefixes_bound_to_it(
    bindings: str, taken: bool
) -> None:
    """feedparser names an element of a namespace it does not know by the first prefix the
    document has bound to that namespace, not by the element's own: a ``<title
    xmlns="urn:x">`` is read as a title, unless a prefix is bound to urn:x before it, and then
    as a title again if that prefix is ``dc``. A WordPress ``<post-id>`` in its own default
    namespace is skipped (a key of its own)."""
    item = (
        "<title>Tariffs</title><post-id xmlns='com-wordpress:feed-additions:1'>7</post-id>"
        "<title xmlns='urn:x'>Not the title</title>"
    )
    body = RSS_ITEM.replace("<rss ", f"<rss{bindings} ").format(item).encode()
    if taken:
        assert read_alike(body).entries[0].title == "Tariffs"
    else:
        assert declined(URL, body) == "an element feedparser reads: urn:x title"


def test_an_unknown_namespace_named_two_ways_in_one_document_is_declined() -> None:
    """A prefix bound to the namespace between two of its elements names the second one
    otherwise (``post-id``, then ``p_post-id``): no one name holds, the document is left to
    feedparser."""
    post_id = "<post-id xmlns='urn:wp'>7</post-id>"
    items = f"<title>a</title>{post_id}</item><item><p:x xmlns:p='urn:wp'/>{post_id}"
    assert declined(URL, RSS_ITEM.format(items).encode()) == (
        "an element feedparser reads: urn:wp post-id"
    )
    assert both(RSS_ITEM.format(f"<title>a</title>{post_id}").encode())


def test_the_parts_of_a_person_outside_one_are_skipped() -> None:
    """A ``<name>``, ``<email>`` or ``<uri>`` outside an author or contributor is kept under
    a key of its own (Google's ``<gd:lastModifiedBy>``); inside a ``<dc:publisher>`` it
    makes a publisher, which may touch the author: declined."""
    who = (
        "<gd:lastModifiedBy xmlns:gd='urn:gd'><name>N</name><email>n@x</email></gd:lastModifiedBy>"
    )
    assert read_alike(_atom(f"<title>Chips</title>{who}")).entries[0].author == ""
    assert read_alike(_rss(f"<title>Chips</title>{who}<uri>https://news.example/u</uri>"))
    publisher = (
        "<dc:publisher xmlns:dc='http://purl.org/dc/elements/1.1/'><name>P</name></dc:publisher>"
    )
    assert declined(URL, _rss(f"<title>Chips</title>{publisher}")) is not None


@pytest.mark.parametrize(
    ("channel", "title"),
    [
        ("<title>First</title><title>Second</title>", "First"),
        ("<title></title><title>Second</title>", "Second"),
        ("<title>First</title><dc:title>Dublin</dc:title>", "First"),
        ("<dc:title>Dublin</dc:title><title>First</title>", "Dublin"),
        ("<title>First</title><image><title>I</title></image><title>Then</title>", "Then"),
        ("<title>First</title><textInput><title>S</title></textInput><title>Then</title>", "Then"),
        ("<title>A</title><item><title>i</title></item><title>B</title><title>N</title>", "B"),
    ],
)  # fmt: skip
def test_a_feeds_first_title_is_kept_as_feedparser_keeps_it(channel: str, title: str) -> None:
    """The feed's title is the first title of its channel that is not empty (dc:title is one),
    as an entry's is: a second one is ignored, until an image, a text input or an item makes
    feedparser forget which it kept. (The fast path once took the last.)"""
    dublin = "xmlns:dc='http://purl.org/dc/elements/1.1/'"
    read = read_alike(f"<rss version='2.0' {dublin}><channel>{channel}</channel></rss>".encode())
    assert read.title == title
    atom = f"<feed xmlns='{ATOM}'><title>First</title><title>Second</title></feed>"
    assert read_alike(atom.encode()).title == "First"


@pytest.mark.parametrize(
    ("links", "expected"),
    [
        ('<link href="/a"/><link href="/b" type="application/xhtml+xml"/>', "/b"),
        ('<link href="/a"/><link rel="alternate" type="application/pdf" href="/t.pdf"/>', "/a"),
        ('<link rel="related" href="/r"/><link href="/a" type="html"/>', "/a"),
        ('<link rel="enclosure" href="/e.mp3" type="text/html"/>', None),  # (the id is a URN)
    ],
)
def test_an_entrys_link_is_its_last_alternate_to_a_page(links: str, expected: str | None) -> None:
    """An Atom entry's link is its last alternate link to HTML or XHTML (the default relation
    and type; ``html`` stands for text/html), as feedparser reads it: a PDF alternate or a
    related link beside it is skipped, not declined."""
    link = read_alike(_atom(f"<title>Chips</title>{links}")).entries[0].link
    assert link == (expected and f"https://news.example{expected}")


@pytest.mark.parametrize("link", ["<link>https://news.example/a</link>", '<link url="/u"/>'])
def test_a_link_feedparser_reads_otherwise_is_declined(link: str) -> None:
    """An Atom link without ``href`` (feedparser reads its text) or with ``url`` (which it
    takes over ``href``) is left to feedparser."""
    assert declined(URL, _atom(f"<title>Chips</title>{link}")) == (
        "a link without href, or with url or uri"
    )


def test_elements_feedparser_keeps_nothing_of_are_skipped_not_declined() -> None:
    """An item carrying every element of _IGNORED (podcast, threading, geo, media without
    text children, an unknown vocabulary, atom:updated) is taken, and reads as feedparser
    reads it."""
    item = (
        "<title>TikTok deal</title><link>https://news.example/a</link>"
        "<description>Talks resume</description>" + "".join(_IGNORED)
    )
    body = (
        f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0" {_NAMESPACES}><channel>'
        f"<title>T</title><item>{item}</item></channel></rss>"
    ).encode()
    read = read_alike(body)
    assert read.entries[0].updated is not None  # atom:updated read as dc:date is


@pytest.mark.parametrize(
    ("elements", "summary", "content"),
    [
        ("<description>d</description><i:summary>s</i:summary>", "d", "s"),
        ("<i:summary>s</i:summary><description>d</description>", "s", "d"),
        ("<c:encoded>c</c:encoded><description>d</description>", "d", "c"),
        ("<c:encoded>&lt;b&gt;c&lt;/b&gt;</c:encoded>", "c", ""),
        ("<description>d</description><c:encoded>c</c:encoded><i:summary>s</i:summary>",
         "s", "c"),
    ],
    ids=["second-becomes-content", "either-order", "after-content", "raw-copy", "replaced"],
)  # fmt: skip
def test_summaries_and_content_in_feedparsers_order(
    elements: str, summary: str, content: str
) -> None:
    """A second summary-like element (description, itunes:summary) is content, unless content
    came first; then it replaces the summary. Taken, and read as feedparser reads it."""
    namespaces = f"xmlns:i='{ITUNES}' xmlns:c='http://purl.org/rss/1.0/modules/content/'"
    body = RSS_ITEM.format(elements).replace("<rss ", f"<rss {namespaces} ").encode()
    read = read_alike(body)
    assert (read.entries[0].summary, read.entries[0].content) == (summary, content)


def test_the_feeds_own_summaries_carry_into_its_first_item() -> None:
    """A channel's itunes:summary then description sets feedparser's content flag, which the
    first item keeps: its second summary replaces the first instead of becoming content."""
    item = "<item><description>d</description><i:summary>s</i:summary></item>"
    body = (
        f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0" xmlns:i="{ITUNES}">'
        f"<channel><title>T</title><i:summary>fs</i:summary><description>fd</description>"
        f"{item}{item}</channel></rss>"
    ).encode()
    read = read_alike(body)
    first, second = read.entries
    assert (first.summary, first.content) == ("s", "")
    assert (second.summary, second.content) == ("d", "s")


@pytest.mark.parametrize(
    ("element", "reason"),
    [
        (f"<m:category xmlns:m='{MEDIA}'>politics</m:category>", "mrss/ category"),
        (f"<i:category xmlns:i='{ITUNES}' text='News'/>", "category"),
        ("<x:story xmlns:x='urn:x'><title>inner</title></x:story>", "urn:x story"),
        ("<title xmlns='urn:x'>inner</title>", "urn:x title"),
        ("<extra><title>inner</title></extra>", "extra"),
        ("<summary_detail>replaced</summary_detail>", "summary_detail"),
        ("<published_parsed>replaced</published_parsed>", "published_parsed"),
        ("<issued_parsed>2025-09-16T08:00:00Z</issued_parsed>", "issued_parsed"),
        ("<x:description xmlns:x='urn:x' xmlns:dc='http://purl.org/dc/elements/1.1/'>"
         "<dc:subject>tag</dc:subject></x:description>", "urn:x description"),
    ],
    ids=["media-category", "itunes-category", "plain-title-inside", "default-ns",
         "title-inside-unprefixed", "a-key-read-here", "a-date-read-here", "a-date-alias",
         "dc-inside"],
)  # fmt: skip
def test_an_element_feedparser_reads_declines_with_the_reason(element: str, reason: str) -> None:
    """An element (or a descendant) that feedparser turns into a title, author, tag or
    summary, that it would store over a key read here (``<summary_detail>``) or under an
    alias of one (``<issued_parsed>``), or that it reads under such a name because no prefix
    is bound to its namespace (``<title xmlns='urn:x'>`` is its ``title``), is declined, and
    ``declined`` says which."""
    body = RSS_ITEM.format(f"<title>a</title>{element}").encode()
    assert fast_parse(URL, body) is None
    why = declined(URL, body)
    assert why is not None and why.startswith("an element feedparser reads: ")
    assert why.endswith(reason)


def test_declined_names_each_reason() -> None:
    """The reasons the benchmark counts."""
    item = RSS_ITEM.format("<title>a</title>")
    assert declined(URL, item.encode()) is None
    assert declined(URL, item[:-3].encode()) == "not well-formed"
    rdf = b'<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"/>'
    assert declined(URL, rdf) == "not one RSS 1.0 channel"
    assert declined(URL, b"<html><body/></html>") == "not RSS or Atom"
    assert declined(URL, RSS_ITEM.format("<guid>a <b>b</b></guid>").encode()) == (
        "markup in a text element"
    )
    assert declined(URL, RSS_ITEM.format("<title>a <x:b xmlns:x='urn:x'/></title>").encode()) == (
        "markup from another vocabulary"
    )
    assert declined(URL, RSS_ITEM.format("<title>a <b><link/></b></title>").encode()) == (
        "markup feedparser reads"
    )
    twice = RSS_ITEM.format("<title>a</title><guid>b</guid><guid>c</guid>").encode()
    assert declined(URL, twice) == "a repeated guid"


def test_parse_feed_takes_the_fast_path_and_still_strips_a_doctype() -> None:
    """A DOCTYPE (entity declarations) is removed before either parser sees the document."""
    body = (
        b'<?xml version="1.0" encoding="utf-8"?><!DOCTYPE rss [<!ENTITY e "boom">]>'
        b'<rss version="2.0"><channel><title>T</title><item><title>a</title>'
        b"<guid>https://news.example/1</guid></item></channel></rss>"
    )
    parsed = parse_feed(URL, body, "application/rss+xml")
    assert [entry.link for entry in parsed.entries] == ["https://news.example/1"]


def test_itunes_keywords_are_tags_as_feedparser_makes_them() -> None:
    """Each comma-separated keyword a tag, in document order among the categories, empty
    ones dropped; keywords with an attribute (which feedparser never reads) are declined."""
    keywords = f"<i:keywords xmlns:i='{ITUNES}'>tariffs, China ,, TikTok</i:keywords>"
    body = RSS_ITEM.format(f"<title>a</title><category>trade</category>{keywords}").encode()
    read = read_alike(body)
    assert read.entries[0].tags == ("trade", "tariffs", "China", "TikTok")
    with_attribute = keywords.replace("<i:keywords ", "<i:keywords lang='en' ")
    body = RSS_ITEM.format(f"<title>a</title>{with_attribute}").encode()
    assert declined(URL, body) == "itunes:keywords with attributes or children"


def test_dublin_core_subjects_are_tags_as_categories_are() -> None:
    """feedparser reads ``dc:subject`` as a category, in RSS and Atom alike; so does the fast
    path (it declined them)."""
    dc = "xmlns:dc='http://purl.org/dc/elements/1.1/'"
    subjects = f"<dc:subject {dc}>Trade</dc:subject><dc:subject {dc}>Chips</dc:subject>"
    rss = read_alike(_rss(f"<title>a</title><category>tariffs</category>{subjects}"))
    assert rss.entries[0].tags == ("tariffs", "Trade", "Chips")
    atom = read_alike(_atom(f"<title>a</title><category term='tariffs'/>{subjects}"))
    assert atom.entries[0].tags == ("tariffs", "Trade", "Chips")


@pytest.mark.parametrize(
    "content",
    [
        '<content src="https://news.example/a.txt"/>',
        '<summary>s</summary><content src="/a" type="text/html"/>',
        '<content src="/a" type="text/html">inline too</content>',
        '<content src="/a" type="text/plain">t</content><summary>later</summary>',
    ],
)
def test_out_of_line_content_is_read_as_feedparser_reads_it(content: str) -> None:
    """Atom content with ``src`` (out of line): feedparser keeps the ``src`` apart and reads
    the element as any other content, text and all; so does the fast path (it declined it)."""
    assert read_alike(_atom(f"<title>Chips</title>{content}")).entries


_CHART = (
    f'<svg xmlns="{_SVG}" viewBox="0 0 9 9"><desc>by year</desc><text x="1">2025: 10 %</text>'
    "<script>s()</script><g><rect width='1'/></g></svg>"
)


@pytest.mark.parametrize(
    ("entry", "words"),
    [
        (f'<content type="xhtml"><div xmlns="{XHTML}"><p>Before</p>{_CHART}<p>After</p></div>'
         "</content>", "2025: 10 %"),
        (f'<summary type="xhtml"><div xmlns="{XHTML}">x <svg:svg xmlns:svg="{_SVG}"><svg:title>'
         'In SVG</svg:title><svg:a href="/x">a</svg:a></svg:svg> y</div></summary>', "In SVG"),
        (f'<summary>text <svg xmlns="{_SVG}"><svg><desc>inner</desc></svg><text>outer</text>'
         f'<foreignObject><p xmlns="{XHTML}">in</p></foreignObject></svg> tail</summary>',
         "outer"),
    ],
    ids=["xhtml-content", "prefixed", "nested-in-text"],
)  # fmt: skip
def test_svg_in_markup_is_written_out_as_feedparser_writes_it(entry: str, words: str) -> None:
    """SVG inside XHTML (charts in a blog's posts) is markup feedparser writes out as it writes
    XHTML, and calls no handler inside (a ``<title>`` there is the chart's): the fast path
    takes it (it declined it) and reads the same text, the chart's words included."""
    entry_read = read_alike(_atom(f"<title>Chips</title>{entry}")).entries[0]
    assert entry_read.title == "Chips"
    assert words in entry_read.summary + entry_read.content


def test_svg_under_a_prefix_of_its_own_is_declined() -> None:
    """feedparser names SVG's elements by the document's prefix; under any but ``svg`` (or
    none) the fast path does not write them out as it would."""
    entry = f'<summary>x <s:svg xmlns:s="{_SVG}"><s:title>t</s:title></s:svg></summary>'
    assert declined(URL, _atom(entry)) == "SVG under another prefix"


def test_svg_outside_an_svg_element_is_declined() -> None:
    """Only inside an ``<svg>`` does feedparser skip the end handlers of what it writes out: an
    SVG ``<link>`` standing alone would be read as a link."""
    entry = f'<summary>x <link xmlns="{_SVG}">/elsewhere</link></summary>'
    assert declined(URL, _atom(entry)) == "SVG outside an svg element"


def test_svg_with_an_element_named_as_a_text_element_is_declined() -> None:
    """Inside SVG feedparser ends an element by popping its stack under the element's name: an
    SVG ``<title>`` inside an entry's title ends the entry's title there (found by the
    generated documents: the fast path read the whole title)."""
    entry = f'<title>a <svg xmlns="{_SVG}"><title>chart</title><text>b</text></svg></title>'
    assert declined(URL, _atom(entry)) == "an SVG element named as a text element"


@pytest.mark.parametrize(
    ("entry", "reason"),
    [
        ('<title mode="base64">aGVsbG8=</title>', "base64 text"),
        ('<summary type="image/png">aGVsbG8=</summary>', "image/png text"),
        ('<content type="application/pdf">JVBERi0=</content>', "application/pdf text"),
    ],
)
def test_text_feedparser_decodes_as_base64_is_declined(entry: str, reason: str) -> None:
    """feedparser decodes a text element as base64 when it says ``mode="base64"`` or its type
    is not text, HTML or XML (the fast path had read ``<title mode="base64">aGVsbG8=</title>``
    as it stands, where feedparser reads "hello")."""
    assert declined(URL, _atom(entry)) == reason
    rss = RSS_ITEM.format(entry.replace("summary", "description").replace("content", "title"))
    assert declined(URL, rss.encode()) == reason


@pytest.mark.parametrize(
    "entry",
    [
        '<title>Chips</title><content type="application/pdf" src="/a.pdf"/><summary>s</summary>',
        '<title mode="base64"> </title><summary>s</summary><content type="image/png"></content>',
    ],
)
def test_blank_text_of_a_type_that_is_not_text_is_taken(entry: str) -> None:
    """Blank, such an element is empty either way (Google's document lists: a PDF's content
    out of line), and the entry is taken."""
    read_alike(_atom(entry))


@pytest.mark.parametrize(
    "entry",
    [
        '<id isPermaLink="false">rel/1</id><title>a</title>',
        '<id ISPERMALINK="false">urn:x</id><link href="/page"/><title>a</title>',
    ],
)
def test_an_atom_id_that_is_no_permalink_is_neither_resolved_nor_the_link(entry: str) -> None:
    """feedparser reads ``isPermaLink`` on an Atom id as on an RSS guid: "false" leaves the id
    unresolved and never makes it the link (the fast path had done both)."""
    read = read_alike(_atom(entry, ident="")).entries[0]
    assert read.guid in ("rel/1", "urn:x")


_VARIANT = '<s:variant xmlns:s="urn:shop"><id>https://shop.example/v/9</id>{}</s:variant>'


@pytest.mark.parametrize(
    ("entry", "title"),
    [
        (f"<title>Magazine</title>{_VARIANT.format('<title>Default Title</title>')}", "Magazine"),
        (f"{_VARIANT.format('<title>Default Title</title>')}<title>Magazine</title>", "Magazine"),
        (_VARIANT.format("<s:o><title>Deep</title></s:o>"), "Deep"),
        # feedparser reads any element it names "title" so: one in no namespace too
        (_VARIANT.format('<title xmlns="">Bare</title>'), "Bare"),
    ],
)
def test_atom_ids_and_titles_inside_an_unknown_element_are_read_a_level_down(
    entry: str, title: str
) -> None:
    """A Shopify product feed's variants hold an id and a title of their own, which feedparser
    reads as the entry's, a level down: the entry's own id stands, and its own title, wherever
    it is; a variant's title only when the entry has none (the fast path declined them)."""
    read = read_alike(_atom(entry)).entries[0]
    assert (read.title, read.guid) == (title, "urn:x:1")


@pytest.mark.parametrize(
    "entry",
    [
        f"{_VARIANT.format('')}<id>urn:x:1</id>",  # the variant's id came first
        f'<id isPermaLink="false">urn:x:1</id>{_VARIANT.format("")}',
    ],
)
def test_an_id_inside_an_unknown_element_before_a_permalink_id_is_declined(entry: str) -> None:
    """The variant's id fills the entry's link (and its id, when first) unless the entry's id
    came first as a permalink."""
    assert declined(URL, _atom(f"{entry}<title>t</title>", ident="")) == (
        "an id inside another element"
    )


@pytest.mark.parametrize(
    ("item", "title", "tags"),
    [
        ("<title>Main</title><category>Cat <image><url>u</url><title>Img</title><link>l</link>"
         "</image> tail</category>", "Img", ("Cat tail",)),
        ("<category>Cat<image><title>Img</title></image></category><title>Later</title>",
         "Later", ("Cat",)),
        ("<category>A<image><title>I1</title></image>B<image><title>I2</title></image>"
         "</category>", "I2", ("AB",)),
    ],
)  # fmt: skip
def test_images_inside_a_category_are_read_as_an_items(
    item: str, title: str, tags: tuple[str, ...]
) -> None:
    """feedparser reads an image inside a category as an item's image (its title may become
    the item's) and the text around it as the category's (a case from feedparser's tests,
    which the fast path declined as markup in a text element)."""
    read = read_alike(_rss(item)).entries[0]
    assert (read.title, read.tags) == (title, tags)


def test_a_category_holding_other_markup_is_declined() -> None:
    """Only images are read inside a category; other markup there is left to feedparser."""
    assert declined(URL, _rss("<category>a <b>b</b></category>")) == "markup in a text element"


def test_atom_03_is_read_as_feedparser_reads_it() -> None:
    """feedparser reads Atom 0.3 by its elements' names, as it reads Atom 1.0, with its own
    names for the dates; the fast path takes it (it declined it), but not its XHTML, whose
    wrapping ``div`` feedparser unwraps in Atom 1.0 only."""
    entry = (
        "<title>Chips</title><issued>2025-09-15T10:00:00Z</issued><created>2025-09-14</created>"
        '<link rel="alternate" type="text/html" href="/a"/>'
        '<content type="text/html" mode="escaped">&lt;p&gt;Tariffs&lt;/p&gt;</content>'
    )
    body = _as_atom03(_atom(entry))
    read = read_alike(body).entries[0]
    assert (read.title, read.summary, read.link) == ("Chips", "Tariffs", "https://news.example/a")
    assert read.published is not None
    xhtml = _as_atom03(_atom(f'<content type="xhtml"><div xmlns="{XHTML}">x</div></content>'))
    assert declined(URL, xhtml) == "XHTML in Atom 0.3"
