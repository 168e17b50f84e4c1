"""Entry identity within a feed."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from watcher.identity import MAX_KEY, entry_key


def test_guid_then_link_then_hash() -> None:
    assert entry_key(" g1 ", "https://a.example/1", "T") == "guid:g1"
    assert entry_key(None, "https://a.example/1", "T") == "link:https://a.example/1"
    assert entry_key("  ", None, "T").startswith("hash:")


def test_untitled_unlinked_entries_differ_by_text() -> None:
    assert entry_key(None, None, "", "one") != entry_key(None, None, "", "two")
    assert entry_key(None, None, "Same", "one") == entry_key(None, None, "Same", "two")


@given(st.text(min_size=1))
def test_keys_are_bounded_and_stable(guid: str) -> None:
    """However long a guid, its key fits a database index and is the same every time."""
    key = entry_key(guid * 300, None, "T")
    assert len(key) <= MAX_KEY
    assert key == entry_key(guid * 300, None, "T")
