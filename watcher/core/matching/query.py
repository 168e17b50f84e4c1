"""The query language: text in, a syntax tree out, or a QueryError that points at the column.

    query   := or
    or      := and ("OR" and)*
    and     := unary (["AND"] unary)*          adjacent terms are ANDed
    unary   := "NOT" unary | "-" unary | near
    near    := primary ("NEAR/" n primary)*     both sides terms or phrases
    primary := [field ":"] ( "(" or ")" | word | word* | "phrase" | /regex/ )

Precedence, tightest first: NEAR, NOT, AND, OR. Operators are written in capitals; "and", "or"
and "not" in lower case are ordinary words.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, replace

import regex

from watcher.core.matching.fold import WORD, fold, without_possessives

FIELDS = ("title", "summary", "content", "author", "tag", "feed", "link")
DEFAULT_FIELDS = ("title", "summary", "content")
MIN_PREFIX = 2
_WORD_TOKEN = re.compile(r'[^\s()"]+')
_FIELD = re.compile(r"([A-Za-z]+):")
_NEAR = re.compile(r"NEAR/(\d+)")
_HYPHEN_BETWEEN_WORDS = re.compile(r"(?<=\w)[-\u2010\u2011](?=\w)")


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


# --- the tree -----------------------------------------------------------------------------


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
    if _HYPHEN_BETWEEN_WORDS.search(body):
        joined = tuple(WORD.findall(without_possessives(fold(_HYPHEN_BETWEEN_WORDS.sub("", body)))))
    return Term(text, words, joined, prefix, field, column)


# --- lexing -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Token:
    kind: str  # ( ) AND OR NOT NEAR - word phrase regex field
    value: str
    column: int


def _lex(query: str) -> list[_Token]:
    tokens: list[_Token] = []
    position = 0
    after_field = False  # what follows "link:" is never itself a field or an operator
    while position < len(query):
        char = query[position]
        if char.isspace():
            position += 1
        elif char in "()":
            tokens.append(_Token(char, char, position))
            position += 1
        elif char == '"':
            end = query.find('"', position + 1)
            if end < 0:
                raise QueryError("unclosed quote", query, position)
            tokens.append(_Token("phrase", query[position + 1 : end], position))
            position = end + 1
        elif char == "/":
            position = _lex_regex(query, position, tokens)
        elif char == "-" and not after_field and query[position + 1 : position + 2].strip():
            tokens.append(_Token("-", "-", position))  # -word, -"phrase", -(group), -/re/
            position += 1
            continue
        else:
            word = _WORD_TOKEN.match(query, position)
            assert word is not None  # char is none of the characters handled above
            field = None if after_field else _FIELD.match(word.group())
            if field is not None:
                tokens.append(_field_token(query, field.group(1), position))
                position += field.end()
                after_field = True
                continue
            _lex_word(query, word.group(), position, tokens, operators=not after_field)
            position = word.end()
        after_field = False
    return tokens


def _field_token(query: str, name: str, column: int) -> _Token:
    if name.lower() not in FIELDS:
        guess = difflib.get_close_matches(name.lower(), FIELDS, n=1)
        hint = f' — did you mean "{guess[0]}:"?' if guess else f" (fields: {', '.join(FIELDS)})"
        raise QueryError(f'unknown field "{name}:"{hint}', query, column)
    return _Token("field", name.lower(), column)


def _lex_regex(query: str, start: int, tokens: list[_Token]) -> int:
    position = start + 1
    while position < len(query):
        if query[position] == "\\":
            position += 2
            continue
        if query[position] == "/":
            tokens.append(_Token("regex", query[start + 1 : position], start))
            return position + 1
        position += 1
    raise QueryError("unclosed regular expression (it ends with /)", query, start)


def _lex_word(
    query: str, word: str, column: int, tokens: list[_Token], operators: bool = True
) -> None:
    if not operators:
        tokens.append(_Token("word", word, column))
        return
    if word in ("AND", "OR", "NOT"):
        tokens.append(_Token(word, word, column))
        return
    if word.startswith("NEAR"):
        near = _NEAR.fullmatch(word)
        if near is None:
            raise QueryError("NEAR needs a distance in words, like NEAR/5", query, column)
        tokens.append(_Token("NEAR", near.group(1), column))
        return
    tokens.append(_Token("word", word, column))


# --- parsing ------------------------------------------------------------------------------


class _Parser:
    def __init__(self, query: str) -> None:
        self.query = query
        self.tokens = _lex(query)
        self.index = 0

    def error(self, message: str, column: int | None = None) -> QueryError:
        if column is None:
            token = self.peek()
            column = token.column if token is not None else len(self.query)
        return QueryError(message, self.query, column)

    def peek(self) -> _Token | None:
        return self.tokens[self.index] if self.index < len(self.tokens) else None

    def take(self) -> _Token:
        token = self.tokens[self.index]
        self.index += 1
        return token

    def parse(self) -> Node:
        if not self.tokens:
            raise self.error("the query is empty", 0)
        node = self.parse_or()
        token = self.peek()
        if token is not None:
            raise self.error("unexpected ')'" if token.kind == ")" else "unexpected text")
        return node

    def parse_or(self) -> Node:
        children = [self.parse_and()]
        while (token := self.peek()) is not None and token.kind == "OR":
            self.take()
            self.need_operand("OR", token)
            children.append(self.parse_and())
        return children[0] if len(children) == 1 else Or(tuple(children))

    def parse_and(self) -> Node:
        children = [self.parse_unary()]
        while (token := self.peek()) is not None and token.kind not in ("OR", ")"):
            if token.kind == "AND":
                self.take()
                self.need_operand("AND", token)
            children.append(self.parse_unary())
        return children[0] if len(children) == 1 else And(tuple(children))

    def need_operand(self, operator: str, at: _Token) -> None:
        following = self.peek()
        if following is None or following.kind in ("AND", "OR", ")"):
            raise self.error(f"{operator} needs a right-hand side", at.column)

    def parse_unary(self) -> Node:
        token = self.peek()
        if token is not None and token.kind in ("NOT", "-"):
            self.take()
            following = self.peek()
            if following is None or following.kind in ("AND", "OR", ")"):
                raise self.error(f"{token.value} needs a term after it", token.column)
            return Not(self.parse_unary())
        return self.parse_near()

    def parse_near(self) -> Node:
        node = self.parse_primary()
        while (token := self.peek()) is not None and token.kind == "NEAR":
            self.take()
            if self.peek() is None:
                raise self.error("NEAR needs a right-hand side", token.column)
            right = self.parse_primary()
            if not isinstance(node, Term) or not isinstance(right, Term):
                raise self.error("NEAR joins two words or phrases", token.column)
            node = Near(node, right, int(token.value))
        return node

    def parse_primary(self, field: str | None = None) -> Node:
        token = self.peek()
        if token is None:
            raise self.error("a term is missing at the end")
        if token.kind in ("AND", "OR", "NEAR"):
            raise self.error(f"{token.kind} needs a left-hand side")
        if token.kind == ")":
            raise self.error("unexpected ')'")
        self.take()
        if token.kind == "field":
            if self.peek() is None:
                raise self.error(f"{token.value}: needs a term after it", token.column)
            return self.parse_primary(field=token.value)
        if token.kind == "(":
            return _with_field(self.parse_group(token), field)
        if token.kind == "regex":
            return self.make_pattern(token, field)
        if token.kind in ("NOT", "-"):
            raise self.error(f"{token.value} goes before a field, not after it", token.column)
        return make_term(token.value, token.column, field, self.query)

    def parse_group(self, opening: _Token) -> Node:
        if (token := self.peek()) is not None and token.kind == ")":
            raise self.error("empty parentheses", opening.column)
        node = self.parse_or()
        closing = self.peek()
        if closing is None or closing.kind != ")":
            raise self.error("unclosed parenthesis", opening.column)
        self.take()
        return node

    def make_pattern(self, token: _Token, field: str | None) -> Pattern:
        try:
            compiled = regex.compile(token.value, regex.IGNORECASE | regex.VERSION1)
        except regex.error as exc:
            raise self.error(f"invalid regular expression: {exc}", token.column) from None
        return Pattern(token.value, compiled, field, token.column)


def _with_field(node: Node, field: str | None) -> Node:
    """Apply a field to every term of a group that does not name its own."""
    if field is None:
        return node
    if isinstance(node, Term | Pattern):
        return node if node.field else replace(node, field=field)
    if isinstance(node, Not):
        return Not(_with_field(node.child, field))
    if isinstance(node, And | Or):
        return type(node)(tuple(_with_field(child, field) for child in node.children))
    left, right = _with_field(node.left, field), _with_field(node.right, field)
    assert isinstance(left, Term) and isinstance(right, Term)
    return Near(left, right, node.distance)


def parse_query(query: str) -> Node:
    """Parse a query; raise QueryError (and only QueryError) when it is not valid."""
    return _Parser(query).parse()


def keywords_query(keywords: tuple[str, ...]) -> Node:
    """The tree for the foundation's ``keywords = [...]``: any of these phrases."""
    terms = tuple(make_term(keyword) for keyword in keywords)
    return terms[0] if len(terms) == 1 else Or(terms)
