"""The rule language: the data cases in data/match_cases.toml, scoping, evidence, and
properties of the parser and the boolean operators."""

from __future__ import annotations

import contextlib
import time
import tomllib
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from watcher.core.matching.fold import (
    _HYPHEN_CHARS,
    _HYPHENATED,
    WORD,
    without_possessives,
    word_set,
)
from watcher.core.matching.matcher import Matcher
from watcher.core.matching.query import parse_query
from watcher.core.matching.tree import QueryError
from watcher.core.model import Entry
from watcher.core.settings import Rule, make_rule

CASES: list[dict[str, Any]] = tomllib.loads(
    (Path(__file__).parents[1] / "data" / "match_cases.toml").read_text(encoding="utf-8")
)["case"]


def entry(title: str = "", summary: str = "", content: str = "", **more: Any) -> Entry:
    return Entry(
        key="k", title=title, link=more.pop("link", None), summary=summary, content=content, **more
    )


def rule_for(case: dict[str, Any]) -> Rule:
    return make_rule(
        "r", case.get("query"), case.get("keywords"), plurals=case.get("plurals", True)
    )


@pytest.mark.parametrize("case", CASES, ids=[c["why"] for c in CASES])
def test_match_case(case: dict[str, Any]) -> None:
    """Each case matches or not, and when it lists highlights, the evidence is exactly those."""
    subject = entry(
        case.get("title", ""),
        case.get("summary", ""),
        case.get("content", ""),
        author=case.get("author", ""),
        tags=tuple(case.get("tags", ())),
        link=case.get("link"),
    )
    found = Matcher([rule_for(case)]).match(subject, case.get("feed", ""))
    assert bool(found) == case["match"]
    if "highlights" in case:
        texts = {"title": subject.title, "summary": subject.summary, "content": subject.content}
        shown = sorted(f"{h.field}:{texts[h.field][h.start : h.end]}" for h in found[0].hits)
        assert sorted(case["highlights"]) == shown


def test_table_is_large_enough() -> None:
    """The table of query cases stays large enough to mean something."""
    assert len(CASES) >= 60


def test_rules_are_scoped_by_feed_and_tag() -> None:
    """``feeds`` and ``tags`` restrict a rule before its query is even looked at."""
    by_feed = make_rule("r", "tariffs", feeds=("Reuters", "https://w.example/rss"))
    by_tag = make_rule("r", "tariffs", tags=("Trade",))
    story = entry("Tariffs rise", tags=("trade",))
    assert Matcher([by_feed]).match(story, "Reuters")
    assert Matcher([by_feed]).match(story, "Wire", "https://w.example/rss")
    assert not Matcher([by_feed]).match(story, "Daily Ledger", "https://d.example/rss")
    assert Matcher([by_tag]).match(story)
    assert not Matcher([by_tag]).match(entry("Tariffs rise", tags=("Sport",)))


def test_exclude_is_and_not() -> None:
    """A rule's exclude query removes what would otherwise match."""
    rule = make_rule("r", "Madrid NEAR/5 talks", exclude="football OR soccer")
    assert Matcher([rule]).match(entry("Talks in Madrid"))
    assert not Matcher([rule]).match(entry("Talks in Madrid", "before the football"))


def test_only_matching_rules_in_config_order() -> None:
    """The matcher returns the rules that match, each once, in the config's order."""
    matcher = Matcher(
        [
            make_rule("tiktok", "TikTok"),
            make_rule("chips", '"analog chips"'),
            make_rule("tariffs", "tariff"),
            make_rule("all", "NOT zzz"),
        ]
    )
    found = matcher.match(entry("Tariffs and TikTok top the agenda"))
    assert [m.rule for m in found] == ["tiktok", "tariffs", "all"]


def test_catastrophic_regex_is_bounded() -> None:
    """A regular expression that backtracks forever costs at most its time bound per entry,
    and is switched off after three strikes."""
    rule = make_rule("evil", r"/(x+x+)+y/")
    matcher = Matcher([rule])
    hostile = entry("x" * 5000)
    started = time.monotonic()
    for _ in range(10):
        assert matcher.match(hostile) == []
    assert time.monotonic() - started < 1.5


@pytest.mark.parametrize(
    ("query", "message", "column"),
    [
        ('"analog chips', "unclosed quote", 0),
        ("TikTok AND", "AND needs a right-hand side", 7),
        ("OR TikTok", "OR needs a left-hand side", 0),
        ("(TikTok OR ban", "unclosed parenthesis", 0),
        ("TikTok)", "unexpected ')'", 6),
        ("titel:TikTok", 'unknown field "titel:" — did you mean "title:"?', 0),
        ("TikTok NEAR talks", "NEAR needs a distance in words, like NEAR/5", 7),
        ("(a OR b) NEAR/3 c", "NEAR joins two words or phrases", 9),
        ("/[unclosed/", "invalid regular expression", 0),
        ("/abc", "unclosed regular expression", 0),
        ("", "the query is empty", 0),
        ("c*", "a wildcard * ends a single word of at least 2 letters", 0),
        ("TikTok -", "'-' has no letters or digits", 7),
        ("()", "empty parentheses", 0),
    ],
)
def test_query_errors_point_at_the_column(query: str, message: str, column: int) -> None:
    """Each kind of broken query is refused with its reason and the column of the problem."""
    with pytest.raises(QueryError) as caught:
        parse_query(query)
    assert caught.value.message.startswith(message)
    assert caught.value.column == column


def test_error_explanation_has_a_caret() -> None:
    """The explanation of a query error shows the query with a caret under the problem."""
    with pytest.raises(QueryError) as caught:
        parse_query("TikTok AND")
    assert caught.value.explain() == ("AND needs a right-hand side\n    TikTok AND\n           ^")


# --- properties -------------------------------------------------------------------------------

query_text = st.lists(
    st.sampled_from(
        [*'abcAB()"-*/:5', " ", " ", "\t", "OR", "AND", "NOT", "NEAR/2", "NEAR", "title:", "x:"]
    ),
    max_size=20,
).map("".join)


@given(st.text(max_size=60))
def test_parser_only_raises_its_own_error(query: str) -> None:
    """On any string at all, parsing succeeds or raises QueryError."""
    with contextlib.suppress(QueryError):
        parse_query(query)


@given(query_text)
def test_parser_only_raises_its_own_error_on_query_like_text(query: str) -> None:
    """Whatever text it is given, the query parser raises only QueryError (hypothesis)."""
    with contextlib.suppress(QueryError):
        parse_query(query)


words = st.sampled_from(["tiktok", "ban", "sale", "chips", "madrid", "talks", "tariff", "deal"])
texts = st.lists(words, max_size=8).map(" ".join)
atoms = st.one_of(
    words, words.map(lambda w: f'"{w}"'), st.tuples(words, words).map(lambda p: f'"{p[0]} {p[1]}"')
)


def matches(query: str, text: str) -> bool:
    return bool(Matcher([make_rule("r", query)]).match(entry(text)))


@settings(max_examples=200)
@given(atoms, atoms, texts)
def test_or_matches_whenever_either_does(a: str, b: str, text: str) -> None:
    """A OR B matches exactly when A or B does (hypothesis)."""
    assert matches(f"{a} OR {b}", text) == (matches(a, text) or matches(b, text))


@settings(max_examples=200)
@given(atoms, atoms, texts)
def test_and_matches_only_when_both_do(a: str, b: str, text: str) -> None:
    """A AND B matches exactly when both do (hypothesis)."""
    assert matches(f"{a} AND {b}", text) == (matches(a, text) and matches(b, text))


@settings(max_examples=200)
@given(atoms, texts)
def test_not_matches_exactly_when_the_term_does_not(a: str, text: str) -> None:
    """NOT A matches exactly when A does not (hypothesis)."""
    assert matches(f"NOT {a}", text) == (not matches(a, text))


def test_shipped_rules_catch_the_four_stories_and_little_else() -> None:
    """The rules in config/watcher.toml on the fixture feeds and on known false positives."""
    from watcher.config.load import load_config
    from watcher.parsing.document import parse_feed

    root = Path(__file__).parents[2]
    config = load_config(root / "config" / "watcher.toml", {})
    matcher = Matcher(config.rules)
    found = set()
    for name in ("world-rss2.xml", "business-atom.xml", "tech-rss1.xml"):
        body = (Path(__file__).parents[1] / "fixtures" / "feeds" / name).read_bytes()
        for item in parse_feed("https://f.example/", body).entries:
            found |= {(m.rule, item.title) for m in matcher.match(item)}
    assert found == {
        ("madrid-talks", "US and China open two days of talks in Madrid on trade and TikTok"),
        ("tariffs", "US and China open two days of talks in Madrid on trade and TikTok"),
        ("tiktok", "ByteDance’s TikTok gets another 90 days to find a US buyer"),
        ("analog-chips", "China opens anti-dumping probe into US analog chips"),
        ("tiktok", "Who will control TikTok's algorithm after the divestiture?"),
    }
    for decoy in (
        "The TikTok dance trend taking over school halls",
        "Real Madrid talks up its title chances in Madrid derby",
        "EU agrees tariffs on Canadian lumber",
        "Analog Devices reports record quarterly revenue",
        "Chipotle opens 50 new restaurants",
    ):
        assert matcher.match(entry(decoy)) == [], decoy


def _words_by_pattern(folded: str) -> set[str]:
    """word_set as it was written first, with the regular expressions alone."""
    words = set(WORD.findall(without_possessives(folded)))
    words.update(_HYPHEN_CHARS.sub("", w) for w in _HYPHENATED.findall(folded))
    return words


@given(st.text(alphabet=st.characters(max_codepoint=0x2FF), max_size=60))
@settings(max_examples=500, deadline=None)
def test_word_set_finds_the_words_the_pattern_finds(text: str) -> None:
    """word_set splits ASCII text in C instead of with WORD: the same words either way,
    whatever the punctuation, controls, hyphens, possessives or accents (hypothesis)."""
    folded = text.lower()
    assert word_set(folded) == _words_by_pattern(folded)
    every_ascii = "".join(map(chr, range(128)))
    for sample in (every_ascii, f"TikTok's anti-dumping{every_ascii}it’s 5_g"):
        assert word_set(sample.lower()) == _words_by_pattern(sample.lower())
