"""An entry as the matcher reads it: each field folded and tokenised on first use, the words of
every field together, and the words that start with a prefix."""

from __future__ import annotations

import bisect
from collections.abc import Iterable

from watcher.core.matching.fold import FieldWords, fold, word_set
from watcher.core.matching.tree import FIELDS
from watcher.core.model import Entry


class EntryView:
    """An entry's fields as the matcher reads them, each tokenised on first use."""

    def __init__(
        self,
        entry: Entry,
        feed_name: str = "",
        feed_url: str = "",
        searched: Iterable[str] = FIELDS,
        category: str | None = None,
    ) -> None:
        self.texts = {
            "title": entry.title,
            "summary": entry.summary,
            "content": entry.content,
            "author": entry.author,
            "tag": "\n".join(entry.tags),
            "feed": feed_name,
            "link": entry.link or "",
            "category": category or "",
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
    def category(self) -> str:
        """The feed's category, folded."""
        return fold(self.texts["category"])

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
