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

from dataclasses import replace

import regex

from watcher.core.matching.lexer import Token, lex
from watcher.core.matching.tree import (
    And,
    Near,
    Node,
    Not,
    Or,
    Pattern,
    QueryError,
    Term,
    make_term,
)


class _Parser:
    def __init__(self, query: str) -> None:
        self.query = query
        self.tokens = lex(query)
        self.index = 0

    def error(self, message: str, column: int | None = None) -> QueryError:
        if column is None:
            token = self.peek()
            column = token.column if token is not None else len(self.query)
        return QueryError(message, self.query, column)

    def peek(self) -> Token | None:
        return self.tokens[self.index] if self.index < len(self.tokens) else None

    def take(self) -> Token:
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

    def need_operand(self, operator: str, at: Token) -> None:
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

    def parse_group(self, opening: Token) -> Node:
        if (token := self.peek()) is not None and token.kind == ")":
            raise self.error("empty parentheses", opening.column)
        node = self.parse_or()
        closing = self.peek()
        if closing is None or closing.kind != ")":
            raise self.error("unclosed parenthesis", opening.column)
        self.take()
        return node

    def make_pattern(self, token: Token, field: str | None) -> Pattern:
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
