"""Evaluating compiled rules against entries, with evidence.

Every rule's query is compiled once into evaluators, and reduced to *requirements*: sets of
words of which at least one must occur for the rule to match (a rule "TikTok AND (ban OR
sale)" requires {tiktok} and {ban, bans, sale, sales}). An entry's words are collected once
(a set, built in C). The most selective requirement of each rule goes into a trigger index, so
only rules whose trigger words occur are considered at all; the other requirements then rule
most of those out with a few set tests, before any field is read word by word. Rules with no
requirement (a bare NOT, a regular expression) are evaluated for every entry.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass

from watcher.core.matching.evaluators import (
    MAX_HITS,
    PREFIX,
    Evaluator,
    Requirement,
    compile_node,
    most_selective,
)
from watcher.core.matching.fold import fold
from watcher.core.matching.tree import FIELDS
from watcher.core.matching.view import EntryView
from watcher.core.model import Entry, Match
from watcher.core.settings import Rule, in_category

log = logging.getLogger(__name__)


@dataclass
class _CompiledRule:
    rule: Rule
    evaluator: Evaluator
    checks: list[Requirement]  # word requirements a set test can decide
    feeds: frozenset[str] | None
    tags: frozenset[str] | None
    categories: tuple[str, ...]  # folded; a feed in a folder of one is in it (in_category)

    def match(self, view: EntryView) -> Match | None:
        words = view.words()
        for required in self.checks:
            if required.isdisjoint(words):
                return None
        if self.feeds is not None and not self.feeds & view.feed_keys:
            return None
        if self.tags is not None and not self.tags & view.tags:
            return None
        if self.categories and not any(in_category(view.category, c) for c in self.categories):
            return None
        hits = self.evaluator.evaluate(view)
        if hits is None:
            return None
        unique = sorted(set(hits), key=lambda h: (FIELDS.index(h.field), h.start, h.end))
        return Match(self.rule.name, tuple(unique[:MAX_HITS]))


class Matcher:
    """All rules compiled once; ``match`` returns the rules an entry satisfies, in config order."""

    def __init__(self, rules: Iterable[Rule]) -> None:
        self._rules: list[_CompiledRule] = []
        self._by_word: dict[str, set[int]] = {}
        self._by_prefix: dict[int, dict[str, set[int]]] = {}  # length → prefix → rules
        self._always: set[int] = set()
        searched: set[str] = set()
        for index, rule in enumerate(rules):
            evaluator = compile_node(rule.query, rule)
            searched |= evaluator.searched()
            requirements = evaluator.requirements()
            self._rules.append(
                _CompiledRule(
                    rule,
                    evaluator,
                    [r for r in requirements if not any(w.startswith(PREFIX) for w in r)],
                    frozenset(fold(f) for f in rule.feeds) if rule.feeds else None,
                    frozenset(fold(t) for t in rule.tags) if rule.tags else None,
                    tuple(fold(c) for c in rule.categories),
                )
            )
            self._index(index, most_selective(requirements) if requirements else None)
        self._searched = [name for name in FIELDS if name in searched]
        self._trigger_words = frozenset(self._by_word)
        # Per prefix length: the prefixes of that length, and their rules.
        self._prefix_index = [
            (length, frozenset(by_prefix), by_prefix)
            for length, by_prefix in self._by_prefix.items()
        ]

    def _index(self, index: int, triggers: Requirement | None) -> None:
        if triggers is None:
            self._always.add(index)
            return
        for word in triggers:
            if word.startswith(PREFIX):
                prefix = word[1:]
                by_length = self._by_prefix.setdefault(len(prefix), {})
                by_length.setdefault(prefix, set()).add(index)
            else:
                self._by_word.setdefault(word, set()).add(index)

    def candidates(self, view: EntryView) -> list[int]:
        """The rules that may match: those whose trigger words occur, and the unindexed."""
        found = set(self._always)
        words = view.words()
        # A set intersection in C, walking the entry's few words rather than the many keys.
        for word in words & self._trigger_words:
            found |= self._by_word[word]
        for length, keys, by_prefix in self._prefix_index:
            for start in {word[:length] for word in words} & keys:
                found |= by_prefix[start]
        return sorted(found)

    def match(
        self, entry: Entry, feed_name: str = "", feed_url: str = "", category: str | None = None
    ) -> list[Match]:
        view = EntryView(entry, feed_name, feed_url, self._searched, category)
        return [
            found
            for index in self.candidates(view)
            if (found := self._rules[index].match(view)) is not None
        ]
