"""The listener's site over a database built through the real pipeline: the matches as Atom
and JSON Feed (read back by feedparser and by our own JSON Feed reader, each story once,
validators answered with 304), the digest page with its filters and charts, hostile feed text
made inert, the access token, the rate limit, and a database that cannot be read."""

from __future__ import annotations

import hmac
import json
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import feedparser
import pytest
from lxml import etree

from tests.stored import Digest, PageElements, build_digest, escape_xml
from watcher.adapters.sql.database import connect
from watcher.adapters.sql.store import SqlStore
from watcher.core.ratelimit import RateLimit
from watcher.core.views import DigestQuery
from watcher.parsing.document import parse_feed
from watcher.ports import WebRequest, WebResponse
from watcher.service.site import Site

ATOM = "{http://www.w3.org/2005/Atom}"
ROGUE_TITLE = "</svg><script>alert(1)</script> TikTok <img src=x onerror=alert(2)>"
ROGUE = (
    "<?xml version='1.0' encoding='UTF-8'?><rss version='2.0'><channel><title>Rogue</title>"
    "<link>https://rogue.example/</link><item><guid isPermaLink='false'>r1</guid>"
    # Escaped twice: feedparser reads RSS titles as HTML, so the title is stored as this text.
    f"<title>{escape_xml(escape_xml(ROGUE_TITLE))}</title><link>javascript:alert(3)</link>"
    "<description>Click &lt;a href='javascript:alert(4)'&gt;here&lt;/a&gt;</description>"
    "</item></channel></rss>"
)
TOKEN = "s3cret-token-of-32-characters-xx"


@pytest.fixture(scope="module")
def stored(tmp_path_factory: pytest.TempPathFactory) -> Digest:
    return build_digest(tmp_path_factory.mktemp("site"), {"/rogue.xml": ROGUE})


@pytest.fixture
def store(stored: Digest) -> Iterator[SqlStore]:
    store = SqlStore(connect(f"sqlite:///{stored.database}"))
    yield store
    store.engine.dispose()


def site_of(store: SqlStore, token: str | None = None, **kwargs: object) -> Site:
    return Site(store.reports, ["tiktok", "madrid", "chips", "tariffs"], token,
                lambda: datetime.now(UTC), **kwargs)  # type: ignore[arg-type]  # fmt: skip


def get(site: Site, path: str, client: str = "127.0.0.1", **headers: str) -> WebResponse:
    path, _, query = path.partition("?")
    params = dict(pair.split("=", 1) for pair in query.split("&") if pair)
    lowered = {
        "host": "127.0.0.1:9187",
        **{k.replace("_", "-").lower(): v for k, v in headers.items()},
    }
    return site(WebRequest("GET", path, params, lowered, client))


def header(response: WebResponse, name: str) -> str:
    return next(value for key, value in response.headers if key.lower() == name.lower())


def test_the_atom_feed_holds_each_story_once_as_the_rfc_asks(store: SqlStore) -> None:
    """/feeds/matches.atom reads back in feedparser without a fault, has the elements RFC 4287
    requires, one entry per story (the Madrid story two outlets reported, and matched by two
    rules, appears once with both sources), matched words in bold, and an updated time for
    the story that changed."""
    response = get(site_of(store), "/feeds/matches.atom")
    assert response.status == 200
    assert header(response, "Content-Type") == "application/atom+xml; charset=utf-8"
    parsed = feedparser.parse(response.body)
    assert not parsed.bozo, parsed.get("bozo_exception")
    root = etree.fromstring(response.body)
    for tag in ("id", "title", "updated", "author"):
        assert root.find(ATOM + tag) is not None, tag
    entries = root.findall(ATOM + "entry")
    for entry in entries:
        assert all(entry.find(ATOM + t) is not None for t in ("id", "title", "updated"))
    ids = [e.id for e in parsed.entries]
    assert len(ids) == len(set(ids)) == len(entries)
    madrid = [e for e in parsed.entries if "Madrid talks" in e.title]
    assert len(madrid) == 1
    assert {t.term for t in madrid[0].tags} == {"madrid", "tariffs"}
    assert "Reported by 2 sources" in madrid[0].content[0].value
    changed = next(e for e in parsed.entries if e.title == "TikTok deadline extended to January")
    assert changed.updated_parsed > changed.published_parsed
    assert "<b>TikTok</b>" in changed.content[0].value


def test_the_json_feed_carries_the_same_stories(store: SqlStore) -> None:
    """/feeds/matches.json is JSON Feed 1.1 with the same stories as the Atom feed, in the same
    order: feed-watcher itself reads the same ids, titles and links from both (feedparser
    6.0.14 reads no JSON Feed)."""
    site = site_of(store)
    body = get(site, "/feeds/matches.json").body
    document = json.loads(body)
    assert document["version"] == "https://jsonfeed.org/version/1.1"
    assert document["feed_url"] == "http://127.0.0.1:9187/feeds/matches.json"
    assert document["title"] and all(item["id"] for item in document["items"])
    url = "http://127.0.0.1:9187/feeds/matches"
    from_json = parse_feed(url + ".json", body, "application/feed+json")
    from_atom = parse_feed(url + ".atom", get(site, "/feeds/matches.atom").body)
    assert len(from_json.entries) == len(from_atom.entries) == len(document["items"])
    for mine, theirs in zip(from_json.entries, from_atom.entries, strict=True):
        assert (mine.guid, mine.title, mine.link) == (theirs.guid, theirs.title, theirs.link)


def test_a_rule_feed_holds_that_rule_only(store: SqlStore) -> None:
    """/feeds/rules/tiktok.atom holds the TikTok stories and nothing else; a rule that does not
    exist is 404, not an empty feed a reader would follow for ever."""
    site = site_of(store)
    parsed = feedparser.parse(get(site, "/feeds/rules/tiktok.atom").body)
    assert parsed.entries and all({t.term for t in e.tags} == {"tiktok"} for e in parsed.entries)
    assert len(parsed.entries) == 3  # the deadline, the hostile one, the rogue outlet's
    everything = feedparser.parse(get(site, "/feeds/matches.atom").body)
    tiktok_ids = {e.id for e in everything.entries if "tiktok" in {t.term for t in e.tags}}
    assert {e.id for e in parsed.entries} == tiktok_ids  # one id per story in every feed
    assert get(site, "/feeds/rules/nothing.atom").status == 404
    assert get(site, "/feeds/rules/tiktok.xml").status == 404


def test_validators_answer_304_until_the_stories_change(stored: Digest, store: SqlStore) -> None:
    """A second request with the ETag (or Last-Modified) gets 304 and no body; once a story
    changes, the ETag changes and the new body comes."""
    site = site_of(store)
    first = get(site, "/feeds/rules/chips.atom")
    tag, modified = header(first, "ETag"), header(first, "Last-Modified")
    assert tag.startswith('"') and not tag.startswith("W/")  # strong
    again = get(site, "/feeds/rules/chips.atom", if_none_match=tag)
    assert again.status == 304 and again.body == b""
    assert get(site, "/feeds/rules/chips.atom", if_modified_since=modified).status == 304
    assert get(site, "/feeds/rules/chips.atom", if_none_match='"other"').status == 200
    with sqlite3.connect(stored.database) as db:
        db.execute("update entries set title = title || ' (updated)' where title like '%chips%'")
    try:
        later = get(site, "/feeds/rules/chips.atom", if_none_match=tag)
        assert later.status == 200 and header(later, "ETag") != tag
        assert b"(updated)" in later.body
    finally:
        with sqlite3.connect(stored.database) as db:
            db.execute("update entries set title = replace(title, ' (updated)', '')")


class _Elements(PageElements):
    """The page's elements, with the counts of its chart bars and its stories."""

    def __init__(self) -> None:
        super().__init__()
        self.bars: list[int] = []
        self.stories = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        super().handle_starttag(tag, attrs)
        found = dict(attrs)
        self.bars += [int(found["data-count"] or 0)] if found.get("class") == "bar" else []
        self.stories += found.get("class") == "story"


def test_hostile_feed_text_is_inert_everywhere(store: SqlStore) -> None:
    """A title that closes the chart's SVG and opens a script, a javascript: link and markup in
    a summary: shown as text on the page and in both feeds, never as markup or a link."""
    site = site_of(store)
    page = _Elements()
    page.feed(get(site, "/?since=30d").body.decode())
    assert "script" not in page.tags and "img" not in page.tags
    assert page.tags.count("svg") == 4  # one chart per rule: no title opened or closed one
    assert not any(href.lower().startswith("javascript") for href in page.hrefs)
    assert ROGUE_TITLE in "".join(page.text)
    atom = etree.fromstring(get(site, "/feeds/matches.atom").body)
    links = [link.get("href") or "" for link in atom.iter(ATOM + "link")]
    contents = [c.text or "" for c in atom.iter(ATOM + "content")]
    items = json.loads(get(site, "/feeds/matches.json").body)["items"]
    links += [item["url"] for item in items if "url" in item]
    contents += [item["content_html"] for item in items]
    assert all(link.startswith("http") for link in links), links
    for content in contents:
        markup = _Elements()
        markup.feed(content)
        assert set(markup.tags) <= {"p", "b", "ul", "li", "a"}, markup.tags
        assert all(href.startswith("https://") for href in markup.hrefs), markup.hrefs
    rogue = next(c for c in contents if "alert(1)" in c)
    assert "&lt;/svg&gt;&lt;script&gt;alert(1)&lt;/script&gt;" in rogue
    assert "url" not in next(item for item in items if "alert(1)" in item["title"])


def test_the_page_shows_the_digest_with_its_filters_and_charts(store: SqlStore) -> None:
    """The page takes watcher digest's filters; each rule shown has a chart of 30 bars whose
    counts add up to the rule's matches of the last 30 days, and links to its feeds."""
    site = site_of(store)
    everything = _Elements()
    everything.feed(get(site, "/?since=30d").body.decode())
    stories = json.loads(get(site, "/feeds/matches.json").body)["items"]
    assert everything.stories == sum(len(s["tags"]) for s in stories)  # a story per rule
    assert len(everything.bars) == 4 * 30
    assert sum(everything.bars) == everything.stories  # each was matched within 30 days
    assert "http://127.0.0.1:9187/feeds/rules/tiktok.atom" in everything.hrefs

    narrow = _Elements()
    narrow.feed(get(site, "/?since=30d&rule=tiktok&search=deadline").body.decode())
    assert narrow.stories == 1 and len(narrow.bars) == 30
    recent = _Elements()
    recent.feed(get(site, "/?since=2d").body.decode())  # match N is N days old
    assert recent.stories == 1 and len(recent.bars) == 4 * 30
    older = _Elements()
    older.feed(get(site, "/?since=30d&until=2d&feed=Post,Nowhere").body.decode())
    now = datetime.now(UTC)
    wanted = DigestQuery(now - timedelta(days=30), now - timedelta(days=2), feeds=("Post",))
    # Which outlet's copy of the shared story was stored first varies: ask the store.
    assert older.stories == len(store.reports.digest(wanted)) > 0
    assert "New tariffs on steel" in "".join(older.text)  # Post's own story
    changed = _Elements()
    changed.feed(get(site, "/?since=30d&changed=1").body.decode())
    assert changed.stories == 1  # the TikTok deadline, rewritten between the two runs

    bad = get(site, "/?since=yesterday")
    assert bad.status == 400 and b"since:" in bad.body
    assert get(site, "/?search=(tiktok").status == 400
    assert get(site, "/?limit=0").status == 400


def test_a_token_is_asked_for_and_compared_in_constant_time(
    store: SqlStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With a token set, every page and feed needs it (bearer header or ?token=), a wrong or
    missing one is 401, the comparison goes through hmac.compare_digest on digests of equal
    length, and a token given in the URL is carried by the page's links (a reader can copy
    them) while one given as a header is not."""
    compared: list[tuple[int, int]] = []
    real = hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        compared.append((len(a), len(b)))
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", spy)
    site = site_of(store, TOKEN)
    for path in ("/", "/feeds/matches.atom", "/feeds/rules/tiktok.json", "/nowhere"):
        refused = get(site, path)
        assert refused.status == 401 and "Bearer" in header(refused, "WWW-Authenticate")
    assert get(site, f"/feeds/matches.atom?token={TOKEN[:-1]}").status == 401
    assert get(site, "/feeds/matches.atom?token=x").status == 401
    assert get(site, "/feeds/matches.atom", authorization=f"Basic {TOKEN}").status == 401
    assert get(site, "/feeds/matches.atom", authorization=f"Bearer {TOKEN}").status == 200
    assert get(site, f"/feeds/matches.atom?token={TOKEN}").status == 200
    assert compared and all(a == b == 32 for a, b in compared)

    linked = _Elements()
    linked.feed(get(site, f"/?since=30d&token={TOKEN}").body.decode())
    feeds = [href for href in linked.hrefs if "/feeds/" in href]
    assert feeds and all(href.endswith(f"?token={TOKEN}") for href in feeds)
    unlinked = _Elements()
    unlinked.feed(get(site, "/?since=30d", authorization=f"Bearer {TOKEN}").body.decode())
    assert not any(TOKEN in href for href in unlinked.hrefs)


def test_each_client_has_its_own_rate_limit(store: SqlStore) -> None:
    """Past its burst a client gets 429 with Retry-After, others are still served, and the
    bucket refills with time."""
    now = [100.0]
    site = site_of(store, limit=RateLimit(rate=0.5, burst=3), monotonic=lambda: now[0])
    assert [get(site, "/feeds/matches.json").status for _ in range(3)] == [200] * 3
    limited = get(site, "/feeds/matches.json")
    assert limited.status == 429 and header(limited, "Retry-After") == "2"
    assert get(site, "/feeds/matches.json", client="10.0.0.2").status == 200
    now[0] += 2.0
    assert get(site, "/feeds/matches.json").status == 200


def test_nothing_changes_state_and_a_lost_database_is_503(tmp_path: Path, store: SqlStore) -> None:
    """Only GET and HEAD are answered (405 with Allow); a database without the tables gives
    503 for the site while the process goes on."""
    site = site_of(store)
    posted = site(WebRequest("POST", "/feeds/matches.atom", {}, {}, "127.0.0.1"))
    assert posted.status == 405 and header(posted, "Allow") == "GET, HEAD"
    empty = SqlStore(connect(f"sqlite:///{tmp_path / 'empty.db'}"))
    try:
        lost = get(site_of(empty), "/feeds/matches.atom")
        assert lost.status == 503 and header(lost, "Retry-After") == "60"
    finally:
        empty.engine.dispose()


def test_security_headers_on_every_answer(store: SqlStore) -> None:
    """The page allows nothing but its own style; feeds are sandboxed; none may be framed or
    sniffed as another type."""
    site = site_of(store)
    page = get(site, "/")
    policy = header(page, "Content-Security-Policy")
    assert "default-src 'none'" in policy and "script-src" not in policy
    assert "'unsafe-inline'" not in policy and "style-src 'sha256-" in policy
    for response in (page, get(site, "/feeds/matches.atom"), get(site, "/nowhere")):
        assert header(response, "X-Content-Type-Options") == "nosniff"
        assert header(response, "X-Frame-Options") == "DENY"
    assert "sandbox" in header(get(site, "/feeds/matches.atom"), "Content-Security-Policy")
