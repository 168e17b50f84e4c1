"""What the store needs to know of each entry of a document — the rules it matches, the keys
and the words that place it in a story — computed where the document was parsed.

In a cycle of many feeds, documents are parsed in worker processes; doing this work there too
takes it off the single thread that writes to the database, which is the bottleneck of a round
where everything is new. Each worker gets the matcher once, when it starts.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from watcher.core.clustering import MIN_WORDS, bands, shingles, signature
from watcher.core.identity import alias_keys, content_hash, story_keys
from watcher.core.matching.matcher import Matcher
from watcher.core.model import Entry, Match, ParsedFeed

Parser = Callable[[str, bytes, str | None, Sequence[str]], ParsedFeed]


@dataclass(frozen=True, slots=True)
class Analysis:
    matches: tuple[Match, ...]
    story_keys: tuple[str, ...]
    bands: tuple[int, ...] = ()  # empty: too few words to be compared


@dataclass(frozen=True, slots=True)
class ReadFeed:
    """A parsed document with, for each entry in the order of ``parsed.entries``, its keys,
    its content hash and (when asked for) its analysis."""

    parsed: ParsedFeed
    analyses: tuple[Analysis, ...]  # empty: left to the writer, which analyses unseen entries
    keys: tuple[tuple[str, ...], ...]  # identity keys (watcher.identity.alias_keys)
    hashes: tuple[str, ...]  # watcher.identity.content_hash


def prepare(parsed: ParsedFeed, analyses: tuple[Analysis, ...] = ()) -> ReadFeed:
    """``parsed`` with the keys and hashes every entry needs, whether new or known."""
    entries = parsed.entries
    return ReadFeed(
        parsed, analyses, tuple(alias_keys(entries)), tuple(content_hash(e) for e in entries)
    )


@dataclass(frozen=True, slots=True)
class Source:
    """The feed an entry came from, as rules see it."""

    name: str  # its configured name, else its title, else its URL
    url: str
    category: str | None = None


def analyse(matcher: Matcher, entry: Entry, source: Source, cluster: bool) -> Analysis:
    """The one place an entry is matched against the rules (in a parser process, or in the
    writer for an entry it has not seen), with what places it in a story."""
    matches = matcher.match(entry, source.name, source.url, source.category)
    words = shingles(entry.title, entry.summary) if cluster else frozenset()
    if len(words) < MIN_WORDS:
        return Analysis(tuple(matches), story_keys(entry))
    return Analysis(tuple(matches), story_keys(entry), tuple(bands(signature(words))))


@dataclass(frozen=True, slots=True)
class ReadRequest:
    """One document to read, and what to make of it."""

    url: str
    name: str | None  # the feed's configured name
    body: bytes
    content_type: str | None
    tracking: Sequence[str]
    cluster: bool
    # Analyse every entry (a feed read for the first time: all are new); otherwise leave it
    # to the writer, which analyses only the entries it has not seen.
    analyse_all: bool = True
    category: str | None = None  # the feed's


def read(parser: Parser, matcher: Matcher, request: ReadRequest) -> ReadFeed:
    """Parse one document and, if asked, analyse every entry."""
    url = request.url
    parsed = parser(url, request.body, request.content_type, request.tracking)
    if not request.analyse_all:
        return prepare(parsed)
    source = Source(request.name or parsed.title or url, url, request.category)
    return prepare(
        parsed,
        tuple(analyse(matcher, e, source, request.cluster) for e in parsed.entries),
    )


_matcher: Matcher | None = None  # a worker process's own, installed when it starts


def install_matcher(matcher: Matcher) -> None:
    global _matcher
    _matcher = matcher


def read_in_worker(parser: Parser, request: ReadRequest) -> ReadFeed:
    """``read`` with the matcher this worker process was given."""
    if _matcher is None:
        raise RuntimeError("install_matcher was not called in this process")
    return read(parser, _matcher, request)
