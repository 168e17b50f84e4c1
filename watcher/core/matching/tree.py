"""A rule's query as a tree: terms (words, phrases, prefixes, each bound to fields), regular
expressions, and NOT, AND, OR and NEAR over them."""

from __future__ import annotations

import re
from dataclasses import dataclass

import regex

from watcher.core.matching.fold import WORD, fold, without_possessives

FIELDS = ("title", "summary", "content", "author", "tag", "feed", "link", "category")
DEFAULT_FIELDS = ("title", "summary", "content")
MIN_PREFIX = 2
HYPHEN_BETWEEN_WORDS = re.compile(r"(?<=\w)[-\u2010\u2011](?=\w)")


class QueryError(ValueError):
    """A query that cannot be parsed; ``column`` (from 0) is where the problem is."""

    def __init__(self, message: str, query: str, column: int) -> None:
        super().__init__(message)
        self.message = message
        self.query = query
        self.column = column

    def explain(self, indent: str = "    ") -> str:
        """The message, the query (on one line), and a caret under the column."""
        return f"{self.message}\n{indent}{self.shown}\n{indent}{' ' * self.column}^"

    @property
    def shown(self) -> str:
        """The query with line breaks and tabs as spaces, so the column still lines up."""
        return re.sub(r"\s", " ", self.query)


@dataclass(frozen=True, slots=True)
class Term:
    """A word or a phrase (words in order), or a word prefix."""

    text: str  # as written, for evidence
    words: tuple[str, ...]  # folded
    joined: tuple[str, ...] | None = None  # the same with hyphenated words written as one
    prefix: bool = False
    field: str | None = None
    column: int = 0


@dataclass(frozen=True, slots=True)
class Pattern:
    """A regular expression, searched in the original text, ignoring case."""

    text: str
    compiled: regex.Pattern[str]
    field: str | None = None
    column: int = 0


@dataclass(frozen=True, slots=True)
class Not:
    child: Node


@dataclass(frozen=True, slots=True)
class And:
    children: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Or:
    children: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Near:
    left: Term
    right: Term
    distance: int


Node = Term | Pattern | Not | And | Or | Near


def make_term(text: str, column: int = 0, field: str | None = None, query: str = "") -> Term:
    """A term from words as a person wrote them; raises QueryError if there is no word in it."""
    prefix = text.endswith("*")
    body = text.rstrip("*") if prefix else text
    words = tuple(WORD.findall(without_possessives(fold(body))))
    if not words:
        raise QueryError(f"{text!r} has no letters or digits", query or text, column)
    if prefix and (len(words) > 1 or len(words[0]) < MIN_PREFIX):
        raise QueryError(
            f"a wildcard * ends a single word of at least {MIN_PREFIX} letters",
            query or text,
            column,
        )
    joined = None
    if HYPHEN_BETWEEN_WORDS.search(body):
        joined = tuple(WORD.findall(without_possessives(fold(HYPHEN_BETWEEN_WORDS.sub("", body)))))
    return Term(text, words, joined, prefix, field, column)
