"""Entry identity within a feed, story keys across feeds, and link normalisation."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.provisional import urls

from watcher.core.identity import (
    MAX_KEY,
    alias_keys,
    content_hash,
    entry_key,
    normalise_link,
    story_keys,
    title_key,
)
from watcher.core.model import Entry

WHEN = datetime(2025, 9, 15, 10, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("link", "normal"),
    [
        ("HTTPS://News.Example.COM:443/a/b?x=1#top", "https://news.example.com/a/b?x=1"),
        ("http://news.example:80/a", "http://news.example/a"),
        ("http://news.example:8080/a", "http://news.example:8080/a"),
        (
            "https://n.example/a?utm_source=rss&utm_medium=feed&id=7&fbclid=XYZ",
            "https://n.example/a?id=7",
        ),
        ("https://n.example/a?b=2&a=1&gclid=1&mc_cid=2&mc_eid=3", "https://n.example/a?a=1&b=2"),
        ("https://n.example/a?ocid=x&cmpid=y&at_medium=z&smid=w", "https://n.example/a"),
        ("https://n.example/a?CMP=share_btn_tw", "https://n.example/a"),
        ("https://n.example", "https://n.example/"),
        ("https://n.example/a%20b?q=a+b", "https://n.example/a%20b?q=a+b"),
    ],
)
def test_normalise_link(link: str, normal: str) -> None:
    """Links are normalised: scheme and host case, default ports, fragments and tracking
    parameters."""
    assert normalise_link(link) == normal


def test_configured_tracking_parameters() -> None:
    """Tracking parameters named in the config (with wildcards) are removed too."""
    assert normalise_link("https://n.example/a?sr_share=1&x=2", ("sr_*",)) == (
        "https://n.example/a?x=2"
    )


@given(urls())
def test_normalizing_twice_changes_nothing(link: str) -> None:
    """Property: normalising a normalised link changes nothing."""
    once = normalise_link(link)
    assert normalise_link(once) == once


def test_primary_key_guid_then_link_then_title_and_date() -> None:
    """An entry is known by its guid, else its link, else a hash of its title and date."""
    assert entry_key(" g1 ", "https://a.example/1", "T") == "guid:g1"
    assert entry_key(None, "https://a.example/1", "T") == "link:https://a.example/1"
    by_date = entry_key(None, None, "T", WHEN)
    assert by_date.startswith("hash:")
    assert by_date != entry_key(None, None, "T", datetime(2025, 9, 16, tzinfo=UTC))
    assert entry_key(None, None, "", None, "one") != entry_key(None, None, "", None, "two")


@given(st.text(min_size=1))
def test_keys_are_bounded_and_stable(guid: str) -> None:
    """However long a guid, its key fits a database index and is the same every time."""
    key = entry_key(guid * 300, None, "T")
    assert len(key) <= MAX_KEY
    assert key == entry_key(guid * 300, None, "T")


def entry(key: str, title: str = "T", link: str | None = None) -> Entry:
    return Entry(key=key, title=title, link=link, published=WHEN)


def test_aliases_only_when_unique_in_the_document() -> None:
    """A link or title shared by two items of one document is no identity for either."""
    entries = [
        entry("guid:1", "A", "https://n.example/news.html"),
        entry("guid:2", "B", "https://n.example/news.html"),
        entry("guid:3", "C", "https://n.example/c"),
    ]
    keys = alias_keys(entries)
    assert keys[0] == ("guid:1", title_key("A", WHEN))
    assert keys[2] == ("guid:3", "link:https://n.example/c", title_key("C", WHEN))


def test_story_keys_use_links_and_url_guids() -> None:
    """A story is keyed by the entry's link and by a guid that is a URL, never by an opaque guid."""
    item = Entry(key="k", title="T", link="https://n.example/a", guid="https://n.example/?p=1")
    assert story_keys(item) == ("url:https://n.example/a", "url:https://n.example/?p=1")
    assert story_keys(Entry(key="k", title="T", link=None, guid="tag:x,2025:1")) == ()


def test_content_hash_ignores_whitespace_only() -> None:
    """The content hash changes with the words, not with whitespace."""
    a = Entry(key="k", title="Talks  begin", link=None, summary="One\n two")
    b = Entry(key="k", title="Talks begin", link=None, summary="One two ")
    c = Entry(key="k", title="Talks stall", link=None, summary="One two")
    assert content_hash(a) == content_hash(b) != content_hash(c)


def test_no_title_alias_without_a_date() -> None:
    """A recurring undated title ("Live updates") is no identity."""
    assert title_key("Live updates", None) is None
    [keys] = alias_keys([Entry(key="guid:9", title="Live updates", link=None)])
    assert keys == ("guid:9",)
