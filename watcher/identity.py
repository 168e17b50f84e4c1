"""Which stored entry an incoming one is: its identity key within its feed.

The key is the entry's guid when it has one, else its link, else a hash of its title and link
(with the text as a last resort, so that two untitled, unlinked entries are not one).
The prefixes keep the three kinds apart. A key longer than ``MAX_KEY`` characters (a hostile or
broken feed) is replaced by its hash, since database indexes limit key size.
"""

from __future__ import annotations

import hashlib

MAX_KEY = 1000


def entry_key(guid: str | None, link: str | None, title: str, text: str = "") -> str:
    """The identity key of an entry within its feed."""
    if guid and guid.strip():
        return _bounded("guid:" + guid.strip())
    if link:
        return _bounded("link:" + link)
    material = "\n".join((title, link or "", "" if title else text))
    return "hash:" + _sha256(material)


def _bounded(key: str) -> str:
    return key if len(key) <= MAX_KEY else key[:5] + "sha256:" + _sha256(key)


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
