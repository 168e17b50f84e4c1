"""For each entry of a fetch: is it new, a known entry that changed or came back under a new
guid, or nothing to do? Pure: the stored entries it is compared with are passed in."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from watcher.clustering import MIN_WORDS, bands, shingles, signature
from watcher.identity import content_hash, story_keys
from watcher.model import Entry, Match
from watcher.ports import KnownEntry, NewItem, SeenAgain

MatchEntry = Callable[[Entry], list[Match]]


@dataclass(frozen=True, slots=True)
class Triage:
    new: list[NewItem]
    again: list[SeenAgain]


def never(entry: Entry) -> bool:
    """No entry is backlog ([watcher] notify_backlog = true)."""
    return False


def triage(
    entries: Sequence[Entry],
    keys: Sequence[tuple[str, ...]],
    known: Sequence[KnownEntry | None],
    match: MatchEntry,
    cluster: bool,
    is_backlog: Callable[[Entry], bool] = never,
) -> Triage:
    """Sort a fetch's entries into new ones and known ones that bring something."""
    new: list[NewItem] = []
    again: list[SeenAgain] = []
    claimed: set[int | str] = set()  # one incoming entry per stored entry (or primary key)
    for entry, entry_keys, stored in zip(entries, keys, known, strict=True):
        claim: int | str = stored.entry_id if stored else entry.key
        if claim in claimed:
            continue
        claimed.add(claim)
        if stored is None:
            new.append(_new_item(entry, entry_keys, match, cluster, is_backlog(entry)))
        elif (seen := _seen_again(entry, entry_keys, stored, match)) is not None:
            again.append(seen)
    return Triage(new, again)


def _new_item(
    entry: Entry, keys: tuple[str, ...], match: MatchEntry, cluster: bool, backlog: bool
) -> NewItem:
    words = shingles(entry.title, entry.summary) if cluster else frozenset()
    if len(words) < MIN_WORDS:
        words = frozenset()
    return NewItem(
        entry,
        tuple(match(entry)),
        keys,
        story_keys(entry),
        words,
        tuple(bands(signature(words))) if words else (),
        backlog,
    )


def backlog_test(first_sight: bool, oldest: datetime) -> Callable[[Entry], bool]:
    """Which new entries are backlog: all of a feed's first sight, and those dated before
    ``oldest`` (undated entries are news)."""
    if first_sight:
        return lambda entry: True
    return lambda entry: (entry.published or entry.updated or oldest) < oldest


def _seen_again(
    entry: Entry, keys: tuple[str, ...], stored: KnownEntry, match: MatchEntry
) -> SeenAgain | None:
    new_keys = tuple(key for key in keys if key not in stored.keys)
    # A guid we have not seen, for an entry we know by its link or title: the feed churns.
    churned = entry.key not in stored.keys and entry.key.startswith("guid:")
    changed = not stored.pruned and content_hash(entry) != stored.content_hash
    if not new_keys and not changed:
        return None
    return SeenAgain(
        stored.entry_id,
        new_keys,
        churned,
        entry if changed else None,
        tuple(match(entry)) if changed else (),
    )
