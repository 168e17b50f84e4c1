"""A query cut into tokens: words, quoted phrases, regular expressions, fields, operators and
parentheses, each with its column for the error messages."""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

from watcher.core.matching.tree import FIELDS, QueryError

_WORD_TOKEN = re.compile(r'[^\s()"]+')
_FIELD = re.compile(r"([A-Za-z]+):")
_NEAR = re.compile(r"NEAR/(\d+)")


@dataclass(frozen=True, slots=True)
class Token:
    kind: str  # ( ) AND OR NOT NEAR - word phrase regex field
    value: str
    column: int


def lex(query: str) -> list[Token]:
    tokens: list[Token] = []
    position = 0
    after_field = False  # what follows "link:" is never itself a field or an operator
    while position < len(query):
        char = query[position]
        if char.isspace():
            position += 1
        elif char in "()":
            tokens.append(Token(char, char, position))
            position += 1
        elif char == '"':
            end = query.find('"', position + 1)
            if end < 0:
                raise QueryError("unclosed quote", query, position)
            tokens.append(Token("phrase", query[position + 1 : end], position))
            position = end + 1
        elif char == "/":
            position = _lex_regex(query, position, tokens)
        elif char == "-" and not after_field and query[position + 1 : position + 2].strip():
            tokens.append(Token("-", "-", position))  # -word, -"phrase", -(group), -/re/
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


def _field_token(query: str, name: str, column: int) -> Token:
    if name.lower() not in FIELDS:
        guess = difflib.get_close_matches(name.lower(), FIELDS, n=1)
        hint = f' — did you mean "{guess[0]}:"?' if guess else f" (fields: {', '.join(FIELDS)})"
        raise QueryError(f'unknown field "{name}:"{hint}', query, column)
    return Token("field", name.lower(), column)


def _lex_regex(query: str, start: int, tokens: list[Token]) -> int:
    position = start + 1
    while position < len(query):
        if query[position] == "\\":
            position += 2
            continue
        if query[position] == "/":
            tokens.append(Token("regex", query[start + 1 : position], start))
            return position + 1
        position += 1
    raise QueryError("unclosed regular expression (it ends with /)", query, start)


def _lex_word(
    query: str, word: str, column: int, tokens: list[Token], operators: bool = True
) -> None:
    if not operators:
        tokens.append(Token("word", word, column))
        return
    if word in ("AND", "OR", "NOT"):
        tokens.append(Token(word, word, column))
        return
    if word.startswith("NEAR"):
        near = _NEAR.fullmatch(word)
        if near is None:
            raise QueryError("NEAR needs a distance in words, like NEAR/5", query, column)
        tokens.append(Token("NEAR", near.group(1), column))
        return
    tokens.append(Token("word", word, column))
