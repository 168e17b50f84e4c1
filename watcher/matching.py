"""Keyword rules: which rules an entry matches, and the evidence (keywords found, by field).

A rule matches when any of its keywords occurs in the entry's title, summary or content as whole
words, ignoring case. A keyword of several words is a phrase: its words must appear in order,
separated by spaces or hyphens ("anti-dumping" also finds "anti dumping"). Punctuation next to a
word does not hide it, so "TikTok" finds "TikTok's".
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from watcher.config import Rule
from watcher.model import Entry, Match

FIELDS = ("title", "summary", "content")
_SEPARATOR = r"[\s\-\u2010-\u2013]+"
_WORD_BREAK = re.compile(r"[\s\-\u2010-\u2013]+")
_WORD = re.compile(r"\w+")


def keyword_pattern(keyword: str) -> str:
    """A regular expression for one keyword: whole words, flexible separators."""
    words = [re.escape(word) for word in _WORD_BREAK.split(keyword.strip()) if word]
    return r"(?<!\w)" + _SEPARATOR.join(words) + r"(?!\w)"


@dataclass(frozen=True, slots=True)
class _CompiledRule:
    name: str
    keywords: tuple[str, ...]
    pattern: re.Pattern[str]

    def evidence(self, entry: Entry) -> Match | None:
        terms: dict[str, None] = {}
        fields: list[str] = []
        for field in FIELDS:
            found = False
            for hit in self.pattern.finditer(getattr(entry, field)):
                terms[self.keywords[int(str(hit.lastgroup)[1:])]] = None
                found = True
            if found:
                fields.append(field)
        if not terms:
            return None
        return Match(rule=self.name, terms=tuple(terms), fields=tuple(fields))


class Matcher:
    """All rules compiled once; ``match`` returns the rules an entry satisfies, in config order.

    Running every rule's regular expression over every entry is slow (Python's ``re`` finds no
    literal prefix to skip ahead with), so the entry's words are collected once and only the
    rules with a keyword whose first word occurs are run.
    """

    def __init__(self, rules: Iterable[Rule]) -> None:
        self._rules = tuple(_compile(rule) for rule in rules)
        self._by_first_word: dict[str, set[int]] = {}
        for index, rule in enumerate(self._rules):
            for keyword in rule.keywords:
                first = _WORD.findall(keyword.lower())[0]
                self._by_first_word.setdefault(first, set()).add(index)

    def match(self, entry: Entry) -> list[Match]:
        words = set(_WORD.findall(f"{entry.title}\n{entry.summary}\n{entry.content}".lower()))
        candidates = sorted(
            set().union(*(self._by_first_word[w] for w in words & self._by_first_word.keys()))
        )
        return [m for i in candidates if (m := self._rules[i].evidence(entry)) is not None]


def _compile(rule: Rule) -> _CompiledRule:
    alternatives = "|".join(
        f"(?P<k{index}>{keyword_pattern(keyword)})" for index, keyword in enumerate(rule.keywords)
    )
    return _CompiledRule(rule.name, rule.keywords, re.compile(alternatives, re.IGNORECASE))
