"""Which stored entry an incoming one is: identity keys within a feed, and link normalisation.

An entry's primary key is its guid when it has one, else its normalised link, else a hash of its
title and publication date. Publishers regenerate guids, so an entry also carries *alias* keys:
its normalised link and its title+date hash, each only when no other entry of the same document
shares it (a feed that gives every item the same link must not fold them into one). An incoming
entry is the stored entry that any of its keys names. A key longer than ``MAX_KEY`` characters
(a hostile or broken feed) is replaced by its hash, since database indexes limit key size.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from collections.abc import Sequence
from datetime import datetime
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from watcher.core.model import Entry

MAX_KEY = 1000
# Query parameters that identify a campaign or a click, not a page. Names ending in "*" are
# prefixes. The config's [watcher] tracking_params adds to these.
TRACKING_PARAMS = (
    "utm_*", "fbclid", "gclid", "dclid", "msclkid", "mc_cid", "mc_eid", "ocid", "cmpid",
    "at_*", "smid", "xtor", "_ga", "_hsenc", "_hsmi", "mkt_tok", "igshid", "ref_src",
    "cmp", "ito", "icid", "taid", "ns_mchannel", "ns_source", "ns_campaign", "ns_linkname",
    "ns_fee",
)  # fmt: skip
_DEFAULT_PORTS = {"http": 80, "https": 443}
_SPACES = re.compile(r"\s+")


def normalise_link(url: str, tracking: Sequence[str] = TRACKING_PARAMS) -> str:
    """A canonical spelling of a link: scheme and host in lower case, no default port, no
    fragment, no tracking parameters, the remaining query sorted. Idempotent."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return url.strip()
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if ":" in host:
        host = f"[{host}]"
    netloc = host if port is None or _DEFAULT_PORTS.get(scheme) == port else f"{host}:{port}"
    if parts.username:
        credentials = parts.username + (f":{parts.password}" if parts.password else "")
        netloc = f"{credentials}@{netloc}"
    query = sorted(
        (name, value)
        for name, value in parse_qsl(parts.query, keep_blank_values=True)
        if not _is_tracking(name, tracking)
    )
    return urlunsplit((scheme, netloc, parts.path or "/", urlencode(query), ""))


def _is_tracking(name: str, tracking: Sequence[str]) -> bool:
    lowered = name.lower()
    for pattern in tracking:
        pattern = pattern.lower()
        if lowered == pattern or (pattern.endswith("*") and lowered.startswith(pattern[:-1])):
            return True
    return False


def entry_key(
    guid: str | None,
    link: str | None,
    title: str,
    published: datetime | None = None,
    text: str = "",
) -> str:
    """The primary identity key of an entry within its feed (``link`` already normalised)."""
    if guid and guid.strip():
        return _bounded("guid:" + guid.strip())
    if link:
        return _bounded("link:" + link)
    when = published.isoformat() if published else ""
    return "hash:" + _sha256("\n".join((title, when, "" if title else text)))


def title_key(title: str, published: datetime | None) -> str | None:
    """The title+date alias key, for entries with both (a recurring "Live updates" without a
    date must not become yesterday's entry)."""
    if not title.strip() or published is None:
        return None
    return "title:" + _sha256(f"{_SPACES.sub(' ', title.strip().lower())}\n{published.isoformat()}")


def alias_keys(entries: Sequence[Entry]) -> list[tuple[str, ...]]:
    """For each entry, its keys: the primary key first, then the aliases that are unique within
    the document."""
    links = Counter(e.link for e in entries if e.link)
    titles = [title_key(e.title, e.published or e.updated) for e in entries]
    title_counts = Counter(t for t in titles if t)
    keyed = []
    for entry, title in zip(entries, titles, strict=True):
        keys = [entry.key]
        if entry.link and links[entry.link] == 1:
            keys.append(_bounded("link:" + entry.link))
        if title and title_counts[title] == 1:
            keys.append(title)
        keyed.append(tuple(dict.fromkeys(keys)))
    return keyed


def story_keys(entry: Entry) -> tuple[str, ...]:
    """Keys that make two entries of any feeds the same story: the same normalised link, or
    the same guid when the guid is a URL."""
    keys = []
    if entry.link:
        keys.append(_bounded("url:" + entry.link))
    if entry.guid and entry.guid.lower().startswith(("http://", "https://")):
        keys.append(_bounded("url:" + normalise_link(entry.guid)))
    return tuple(dict.fromkeys(keys))


def content_hash(entry: Entry) -> str:
    """What counts as a change: title, summary and content, whitespace folded."""
    parts = (" ".join(v.split()) for v in (entry.title, entry.summary, entry.content))
    return _sha256("\x1f".join(parts))


def _bounded(key: str) -> str:
    return key if len(key) <= MAX_KEY else key.split(":", 1)[0] + ":sha256:" + _sha256(key)


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
