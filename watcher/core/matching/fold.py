"""Text as the matcher sees it: folded for case and accents, split into words, plurals folded.

Folding keeps every character in place (one character in, one out), so an offset in folded
text is the same offset in the original: evidence points at the words the reader sees.
"""

from __future__ import annotations

import re
import unicodedata

# A word: letters and digits. A possessive 's (straight or curly apostrophe) belongs to the word
# before it and is not a word of its own, so "TikTok's algorithm" is the phrase "tiktok algorithm".
WORD = re.compile(r"\w+")
_POSSESSIVE_S = re.compile(r"(?<=\w)['’]s\b")
# Words that end in s but are not plurals (or whose singular would be another word).
_NOT_PLURAL = frozenset(
    "news series species means physics economics politics analytics ethics lens gas bias chaos "
    "atlas canvas texas paris always perhaps this thus does yes whereas".split()
)
HYPHENS = frozenset("-\u2010\u2011")
# Anchored at a word start and possessive, so that a long run of letters costs linear time.
_HYPHENATED = re.compile(r"(?<!\w)\w++(?:[-\u2010\u2011]\w++)+")
_HYPHEN_CHARS = re.compile(r"[-\u2010\u2011]")


class _FoldTable(dict[int, int | str]):
    """str.translate table: each character to its lowercase letter without accents, computed
    on first sight. Characters that would fold to more than one (ß, ﬁ) only lose their case."""

    def __missing__(self, codepoint: int) -> int | str:
        char = chr(codepoint)
        base = unicodedata.normalize("NFKD", char)
        base = "".join(c for c in base if not unicodedata.combining(c)).lower()
        if len(base) != 1:
            lower = char.lower()
            base = lower if len(lower) == 1 else char
        self[codepoint] = base
        return base


_FOLD = _FoldTable()


def fold(text: str) -> str:
    """Lowercase without accents, character for character: len(fold(s)) == len(s)."""
    if text.isascii():
        return text.lower()
    return text.translate(_FOLD)


def without_possessives(folded: str) -> str:
    """The possessive 's blanked out, keeping every other character in place."""
    if "'" in folded or "’" in folded:
        return _POSSESSIVE_S.sub("  ", folded)
    return folded


# ASCII characters that are not part of a word (not matched by WORD) to spaces, for
# str.translate: on ASCII text, translating and splitting in C costs two thirds of WORD.findall.
_ASCII_SPACING = str.maketrans({c: " " for c in map(chr, range(128)) if not WORD.match(c)})


def word_set(folded: str) -> set[str]:
    """Every word of a folded text, plus each hyphenated compound written as one word
    ("anti-dumping" also gives "antidumping"); possessive 's dropped."""
    text = without_possessives(folded)
    # The same words as WORD finds (a test checks), faster on ASCII; other text is looked up
    # character by character in a table by str.translate, slower than the regular expression.
    words = set(text.translate(_ASCII_SPACING).split() if text.isascii() else WORD.findall(text))
    if any(hyphen in folded for hyphen in HYPHENS):
        words.update(_HYPHEN_CHARS.sub("", w) for w in _HYPHENATED.findall(folded))
    return words


def singular(word: str) -> str:
    """Simple English plural folding: tariffs → tariff, policies → policy, taxes → tax."""
    if (
        len(word) <= 3
        or not word.isalpha()
        or word.endswith(("ss", "us", "is"))
        or word in _NOT_PLURAL
    ):
        return word
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith(("ches", "shes", "xes", "zes", "sses")):
        return word[:-2]
    if word.endswith("s"):
        return word[:-1]
    return word


def plural_forms(word: str) -> frozenset[str]:
    """The surface forms that fold to the same singular as ``word``."""
    stem = singular(word)
    if stem in _NOT_PLURAL:
        return frozenset({stem})
    forms = {word, stem, stem + "s"}
    if stem.endswith(("ch", "sh", "x", "z", "s")):
        forms.add(stem + "es")
    if stem.endswith("y") and len(stem) > 2 and stem[-2] not in "aeiou":
        forms.add(stem[:-1] + "ies")
    return frozenset({word} | (forms - _NOT_PLURAL))


class FieldWords:
    """One field's words, in order. Where each word sits in the original text, and which pairs
    are hyphenated, is worked out only when asked (most fields never are)."""

    def __init__(self, text: str) -> None:
        self.text = text
        self._folded = without_possessives(fold(text))
        self.words: list[str] = WORD.findall(self._folded)
        self._spans: list[tuple[int, int]] | None = None
        self._joined: dict[int, str] | None = None

    @property
    def spans(self) -> list[tuple[int, int]]:
        if self._spans is None:
            self._spans = [hit.span() for hit in WORD.finditer(self._folded)]
        return self._spans

    @property
    def joined(self) -> dict[int, str]:
        """Position → the word and the next written as one, where a hyphen joins them."""
        if self._joined is None:
            self._joined = {}
            if any(hyphen in self.text for hyphen in HYPHENS):
                spans, words = self.spans, self.words
                for position in range(len(words) - 1):
                    gap = self.text[spans[position][1] : spans[position + 1][0]]
                    if len(gap) == 1 and gap in HYPHENS:
                        self._joined[position] = words[position] + words[position + 1]
        return self._joined

    def char_span(self, first: int, last: int) -> tuple[int, int]:
        """Character offsets from the start of word ``first`` to the end of word ``last``."""
        return self.spans[first][0], self.spans[last][1]
