"""Keyword rules: the data cases in data/match_cases.toml, plus properties of the matcher."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from watcher.config import Rule
from watcher.matching import Matcher
from watcher.model import Entry

CASES: list[dict[str, Any]] = tomllib.loads(
    (Path(__file__).parent / "data" / "match_cases.toml").read_text(encoding="utf-8")
)["case"]


def entry(title: str, summary: str = "", content: str = "") -> Entry:
    return Entry(key="k", title=title, link=None, summary=summary, content=content)


@pytest.mark.parametrize("case", CASES, ids=[c["why"] for c in CASES])
def test_match_case(case: dict[str, Any]) -> None:
    """Each data case matches (with exactly the listed evidence) or does not."""
    matcher = Matcher([Rule("r", tuple(case["keywords"]), None)])
    found = matcher.match(entry(case["title"], case.get("summary", "")))
    assert bool(found) == case["match"]
    if case["match"]:
        assert sorted(found[0].terms) == sorted(case["terms"])


def test_evidence_names_the_fields() -> None:
    """The evidence says in which fields the keywords were found."""
    matcher = Matcher([Rule("r", ("TikTok",), None)])
    [match] = matcher.match(entry("TikTok deal", "no", "More on TikTok"))
    assert match.fields == ("title", "content")


def test_only_matching_rules_are_returned() -> None:
    """Of several rules, only those with a keyword present match, in config order."""
    matcher = Matcher(
        [
            Rule("tiktok", ("TikTok",), None),
            Rule("chips", ("analog chips",), None),
            Rule("tariffs", ("tariffs",), None),
        ]
    )
    found = matcher.match(entry("Tariffs and TikTok top the agenda"))
    assert [m.rule for m in found] == ["tiktok", "tariffs"]


words = st.text(alphabet="abcdefghijklmnopqrstuvwxyz", min_size=2, max_size=8)


@given(words, st.lists(words, max_size=6), st.lists(words, max_size=6))
def test_a_word_is_found_among_any_words(keyword: str, before: list[str], after: list[str]) -> None:
    """A keyword surrounded by other whole words is always found, whatever its case."""
    title = " ".join([*before, keyword.upper(), *after])
    assert Matcher([Rule("r", (keyword,), None)]).match(entry(title))


@given(words, words)
def test_a_word_glued_to_another_is_not_found(keyword: str, suffix: str) -> None:
    """A keyword that only occurs as the start of a longer word never matches."""
    assert not Matcher([Rule("r", (keyword,), None)]).match(entry(keyword + suffix))
