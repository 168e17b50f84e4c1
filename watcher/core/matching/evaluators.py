"""Query nodes compiled into evaluators: each finds where an entry satisfies its part of the
query (the hits highlighted later), or that it does not; and the words any match requires,
which the matcher indexes rules by."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from watcher.core.matching.fold import FieldWords, plural_forms
from watcher.core.matching.tree import DEFAULT_FIELDS, And, Node, Not, Or, Pattern, Term
from watcher.core.matching.view import EntryView
from watcher.core.model import Hit
from watcher.core.settings import Rule

log = logging.getLogger(__name__)
REGEX_TIMEOUT = 0.05  # seconds one regular expression may spend on one field
REGEX_STRIKES = 3  # timeouts after which a rule's regular expression is switched off
MAX_HITS = 50
PREFIX = "\0"  # marks a prefix requirement: "\0chip" stands for any word starting with "chip"
Requirement = frozenset[str]  # at least one of these words must occur


def most_selective(requirements: list[Requirement]) -> Requirement:
    """The requirement whose shortest word is longest: a fair guess at the rarest."""
    return max(requirements, key=lambda words: min(len(w) for w in words))


class Evaluator:
    def evaluate(self, view: EntryView) -> list[Hit] | None:
        """The evidence when the node matches (possibly empty), None when it does not."""
        raise NotImplementedError

    def requirements(self) -> list[Requirement]:
        """Word sets that must each meet the entry for the node to match ([] = none known)."""
        return []

    def searched(self) -> set[str]:
        """The fields whose words this node looks for."""
        return set().union(*(child.searched() for child in self.parts()))

    def parts(self) -> list[Evaluator]:
        return []


@dataclass
class _TermEvaluator(Evaluator):
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
        return [frozenset().union(*(most_selective(list(s)) for s in self.sequences))]

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
class _PatternEvaluator(Evaluator):
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
class _NotEvaluator(Evaluator):
    child: Evaluator

    def parts(self) -> list[Evaluator]:
        return [self.child]

    def evaluate(self, view: EntryView) -> list[Hit] | None:
        return [] if self.child.evaluate(view) is None else None


@dataclass
class _AndEvaluator(Evaluator):
    children: list[Evaluator]

    def parts(self) -> list[Evaluator]:
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
class _OrEvaluator(Evaluator):
    children: list[Evaluator]

    def parts(self) -> list[Evaluator]:
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
        return [frozenset().union(*(most_selective(r) for r in each))]


@dataclass
class _NearEvaluator(Evaluator):
    left: _TermEvaluator
    right: _TermEvaluator
    distance: int

    def parts(self) -> list[Evaluator]:
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


def compile_node(node: Node, rule: Rule) -> Evaluator:
    if isinstance(node, Term):
        return _TermEvaluator(node, rule.plurals)
    if isinstance(node, Pattern):
        return _PatternEvaluator(node, rule.name)
    if isinstance(node, Not):
        return _NotEvaluator(compile_node(node.child, rule))
    if isinstance(node, And):
        return _AndEvaluator([compile_node(child, rule) for child in node.children])
    if isinstance(node, Or):
        return _OrEvaluator([compile_node(child, rule) for child in node.children])
    return _NearEvaluator(
        _TermEvaluator(node.left, rule.plurals),
        _TermEvaluator(node.right, rule.plurals),
        node.distance,
    )
