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

import bisect
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field

from watcher.core.matching.fold import FieldWords, fold, plural_forms, word_set
from watcher.core.matching.query import DEFAULT_FIELDS, FIELDS, And, Node, Not, Or, Pattern, Term
from watcher.core.model import Entry, Hit, Match
from watcher.core.settings import Rule

log = logging.getLogger(__name__)
REGEX_TIMEOUT = 0.05  # seconds one regular expression may spend on one field
REGEX_STRIKES = 3  # timeouts after which a rule's regular expression is switched off
MAX_HITS = 50
PREFIX = "\0"  # marks a prefix requirement: "\0chip" stands for any word starting with "chip"
Requirement = frozenset[str]  # at least one of these words must occur


class EntryView:
    """An entry's fields as the matcher reads them, each tokenised on first use."""

    def __init__(
        self,
        entry: Entry,
        feed_name: str = "",
        feed_url: str = "",
        searched: Iterable[str] = FIELDS,
    ) -> None:
        self.texts = {
            "title": entry.title,
            "summary": entry.summary,
            "content": entry.content,
            "author": entry.author,
            "tag": "\n".join(entry.tags),
            "feed": feed_name,
            "link": entry.link or "",
        }
        self._feed = (feed_name, feed_url)
        self._searched = tuple(searched)  # the fields some rule's words are looked for in
        self._fields: dict[str, FieldWords] = {}
        self._words: set[str] | None = None
        self._sorted: list[str] | None = None

    @property
    def feed_keys(self) -> set[str]:
        """The feed's name and URL, folded, for rules scoped to feeds."""
        return {fold(value) for value in self._feed} - {""}

    @property
    def tags(self) -> set[str]:
        return {fold(tag) for tag in self.texts["tag"].split("\n")} - {""}

    def field(self, name: str) -> FieldWords:
        words = self._fields.get(name)
        if words is None:
            words = self._fields[name] = FieldWords(self.texts[name])
        return words

    def words(self) -> set[str]:
        """Every word of the searched fields (a superset is fine: it only rules things out)."""
        if self._words is None:
            text = "\n".join(self.texts[name] for name in self._searched)
            self._words = word_set(fold(text))
        return self._words

    def prefixed(self, prefix: str) -> list[str]:
        """The entry's words that start with ``prefix``."""
        if self._sorted is None:
            self._sorted = sorted(self.words())
        found = []
        for word in self._sorted[bisect.bisect_left(self._sorted, prefix) :]:
            if not word.startswith(prefix):
                break
            found.append(word)
        return found


def _most_selective(requirements: list[Requirement]) -> Requirement:
    """The requirement whose shortest word is longest: a fair guess at the rarest."""
    return max(requirements, key=lambda words: min(len(w) for w in words))


# --- evaluators ---------------------------------------------------------------------------


class _Evaluator:
    def evaluate(self, view: EntryView) -> list[Hit] | None:
        """The evidence when the node matches (possibly empty), None when it does not."""
        raise NotImplementedError

    def requirements(self) -> list[Requirement]:
        """Word sets that must each meet the entry for the node to match ([] = none known)."""
        return []

    def searched(self) -> set[str]:
        """The fields whose words this node looks for."""
        return set().union(*(child.searched() for child in self.parts()))

    def parts(self) -> list[_Evaluator]:
        return []


@dataclass
class _TermEvaluator(_Evaluator):
    term: Term
    plurals: bool
    sequences: list[tuple[frozenset[str], ...]] = field(init=False)

    def __post_init__(self) -> None:
        options = [self.term.words] + ([self.term.joined] if self.term.joined else [])
        self.sequences = [tuple(self._forms(word) for word in words) for words in options]

    def _forms(self, word: str) -> frozenset[str]:
        if self.plurals and not self.term.prefix:
            return plural_forms(word)
        return frozenset({word})

    @property
    def fields(self) -> tuple[str, ...]:
        return (self.term.field,) if self.term.field else DEFAULT_FIELDS

    def searched(self) -> set[str]:
        return set(self.fields)

    def requirements(self) -> list[Requirement]:
        if self.term.prefix:
            return [frozenset({PREFIX + self.term.words[0]})]
        if len(self.sequences) == 1:
            return list(self.sequences[0])
        return [frozenset().union(*(_most_selective(list(s)) for s in self.sequences))]

    def occurrences(self, view: EntryView) -> list[tuple[str, int, int]]:
        """(field, first word, last word) of each place the term occurs."""
        sequences: list[tuple[frozenset[str], ...]]
        if self.term.prefix:
            found = view.prefixed(self.term.words[0])
            sequences = [(frozenset(found),)] if found else []
        else:
            present = view.words()
            sequences = [s for s in self.sequences if all(not f.isdisjoint(present) for f in s)]
        places = []
        for sequence in sequences:
            for name in self.fields:
                places += [(name, *place) for place in _places(view.field(name), sequence)]
        return places

    def evaluate(self, view: EntryView) -> list[Hit] | None:
        hits = [
            Hit(self.term.text, name, *view.field(name).char_span(first, last))
            for name, first, last in self.occurrences(view)
        ]
        return hits or None


def _places(words: FieldWords, sequence: tuple[frozenset[str], ...]) -> list[tuple[int, int]]:
    """(first, last) word positions where ``sequence`` occurs in a field."""
    first = sequence[0]
    # A scan of a field's few dozen words is cheaper than indexing them.
    starts = [(i, 1) for i, word in enumerate(words.words) if word in first]
    if words.joined:
        starts += [(i, 2) for i, word in words.joined.items() if word in first]
    places = []
    for position, width in starts:
        end = _follow(words, sequence[1:], position + width)
        if end is not None:
            places.append((position, end - 1))
    return places


def _follow(words: FieldWords, rest: tuple[frozenset[str], ...], position: int) -> int | None:
    """Where a phrase ends if its remaining words follow from ``position``; else None."""
    for forms in rest:
        if position < len(words.words) and words.words[position] in forms:
            position += 1
        elif words.joined.get(position) in forms:
            position += 2
        else:
            return None
    return position


@dataclass
class _PatternEvaluator(_Evaluator):
    pattern: Pattern
    rule: str
    strikes: int = 0

    def evaluate(self, view: EntryView) -> list[Hit] | None:
        if self.strikes >= REGEX_STRIKES:
            return None
        fields = (self.pattern.field,) if self.pattern.field else DEFAULT_FIELDS
        hits: list[Hit] = []
        try:
            for name in fields:
                for found in self.pattern.compiled.finditer(
                    view.texts[name], timeout=REGEX_TIMEOUT
                ):
                    if found.end() > found.start():
                        hits.append(Hit(f"/{self.pattern.text}/", name, *found.span()))
        except TimeoutError:
            self._strike()
            return None
        return hits or None

    def _strike(self) -> None:
        self.strikes += 1
        final = self.strikes >= REGEX_STRIKES
        log.log(
            logging.ERROR if final else logging.WARNING,
            "rule %s: /%s/ took over %gs on one entry; %s",
            self.rule,
            self.pattern.text,
            REGEX_TIMEOUT,
            "switched off until the config is read again" if final else "treated as no match",
        )


@dataclass
class _NotEvaluator(_Evaluator):
    child: _Evaluator

    def parts(self) -> list[_Evaluator]:
        return [self.child]

    def evaluate(self, view: EntryView) -> list[Hit] | None:
        return [] if self.child.evaluate(view) is None else None


@dataclass
class _AndEvaluator(_Evaluator):
    children: list[_Evaluator]

    def parts(self) -> list[_Evaluator]:
        return self.children

    def evaluate(self, view: EntryView) -> list[Hit] | None:
        hits: list[Hit] = []
        for child in self.children:
            found = child.evaluate(view)
            if found is None:
                return None
            hits += found
        return hits

    def requirements(self) -> list[Requirement]:
        return [r for child in self.children for r in child.requirements()]


@dataclass
class _OrEvaluator(_Evaluator):
    children: list[_Evaluator]

    def parts(self) -> list[_Evaluator]:
        return self.children

    def evaluate(self, view: EntryView) -> list[Hit] | None:
        results = [found for child in self.children if (found := child.evaluate(view)) is not None]
        if not results:
            return None
        return [hit for found in results for hit in found]

    def requirements(self) -> list[Requirement]:
        # One of the children must match, so the union of one requirement of each is required.
        each = [child.requirements() for child in self.children]
        if not all(each):
            return []
        return [frozenset().union(*(_most_selective(r) for r in each))]


@dataclass
class _NearEvaluator(_Evaluator):
    left: _TermEvaluator
    right: _TermEvaluator
    distance: int

    def parts(self) -> list[_Evaluator]:
        return [self.left, self.right]

    def evaluate(self, view: EntryView) -> list[Hit] | None:
        hits: list[Hit] = []
        rights = self.right.occurrences(view)
        for name, first, last in self.left.occurrences(view):
            for other, r_first, r_last in rights:
                gap = r_first - last if r_first > last else first - r_last
                if other == name and 0 < gap <= self.distance:
                    words = view.field(name)
                    hits.append(Hit(self.left.term.text, name, *words.char_span(first, last)))
                    hits.append(Hit(self.right.term.text, name, *words.char_span(r_first, r_last)))
        return hits or None

    def requirements(self) -> list[Requirement]:
        return self.left.requirements() + self.right.requirements()


def _compile(node: Node, rule: Rule) -> _Evaluator:
    if isinstance(node, Term):
        return _TermEvaluator(node, rule.plurals)
    if isinstance(node, Pattern):
        return _PatternEvaluator(node, rule.name)
    if isinstance(node, Not):
        return _NotEvaluator(_compile(node.child, rule))
    if isinstance(node, And):
        return _AndEvaluator([_compile(child, rule) for child in node.children])
    if isinstance(node, Or):
        return _OrEvaluator([_compile(child, rule) for child in node.children])
    return _NearEvaluator(
        _TermEvaluator(node.left, rule.plurals),
        _TermEvaluator(node.right, rule.plurals),
        node.distance,
    )


# --- the matcher --------------------------------------------------------------------------


@dataclass
class _CompiledRule:
    rule: Rule
    evaluator: _Evaluator
    checks: list[Requirement]  # word requirements a set test can decide
    feeds: frozenset[str] | None
    tags: frozenset[str] | None

    def match(self, view: EntryView) -> Match | None:
        words = view.words()
        for required in self.checks:
            if required.isdisjoint(words):
                return None
        if self.feeds is not None and not self.feeds & view.feed_keys:
            return None
        if self.tags is not None and not self.tags & view.tags:
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
            evaluator = _compile(rule.query, rule)
            searched |= evaluator.searched()
            requirements = evaluator.requirements()
            self._rules.append(
                _CompiledRule(
                    rule,
                    evaluator,
                    [r for r in requirements if not any(w.startswith(PREFIX) for w in r)],
                    frozenset(fold(f) for f in rule.feeds) if rule.feeds else None,
                    frozenset(fold(t) for t in rule.tags) if rule.tags else None,
                )
            )
            self._index(index, _most_selective(requirements) if requirements else None)
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

    def match(self, entry: Entry, feed_name: str = "", feed_url: str = "") -> list[Match]:
        view = EntryView(entry, feed_name, feed_url, self._searched)
        return [
            found
            for index in self.candidates(view)
            if (found := self._rules[index].match(view)) is not None
        ]
