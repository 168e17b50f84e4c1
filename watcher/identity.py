"""Which stored entry an incoming one is: its identity key within its feed.

The key is the entry's guid when it has one, else its link, else a hash of its title and link
(with the text as a last resort, so that two untitled, unlinked entries are not one).
The prefixes keep the three kinds apart.
"""

from __future__ import annotations

import hashlib


def entry_key(guid: str | None, link: str | None, title: str, text: str = "") -> str:
    """The identity key of an entry within its feed."""
    if guid and guid.strip():
        return "guid:" + guid.strip()
    if link:
        return "link:" + link
    material = "\n".join((title, link or "", "" if title else text))
    return "hash:" + hashlib.sha256(material.encode("utf-8")).hexdigest()
