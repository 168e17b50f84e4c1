"""For each entry of a fetch: is it new, a known entry that changed or came back under a new
guid, or nothing to do? Pure: the stored entries it is compared with are passed in."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from watcher.core.analysis import Analysis
from watcher.core.model import Entry, KnownEntry, NewItem, SeenAgain

AnalysisOf = Callable[[int], Analysis]  # the analysis of the entry at this index


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
    hashes: Sequence[str],
    known: Sequence[KnownEntry | None],
    analysis_of: AnalysisOf,
    is_backlog: Callable[[Entry], bool] = never,
) -> Triage:
    """Sort a fetch's entries into new ones and known ones that bring something. Only those
    are analysed (matched, placed in a story)."""
    new: list[NewItem] = []
    again: list[SeenAgain] = []
    claimed: set[int | str] = set()  # one incoming entry per stored entry (or primary key)
    for index, (entry, entry_keys, entry_hash, stored) in enumerate(
        zip(entries, keys, hashes, known, strict=True)
    ):
        claim: int | str = stored.entry_id if stored else entry.key
        if claim in claimed:
            continue
        claimed.add(claim)
        if stored is None:
            found = analysis_of(index)
            new.append(
                NewItem(
                    entry,
                    found.matches,
                    entry_keys,
                    found.story_keys,
                    found.bands,
                    is_backlog(entry),
                    entry_hash,
                )
            )
        elif seen := _seen_again(entry, entry_keys, entry_hash, stored, index, analysis_of):
            again.append(seen)
    return Triage(new, again)


def backlog_test(first_sight: bool, oldest: datetime) -> Callable[[Entry], bool]:
    """Which new entries are backlog: all of a feed's first sight, and those dated before
    ``oldest`` (undated entries are news)."""
    if first_sight:
        return lambda entry: True
    return lambda entry: (entry.published or entry.updated or oldest) < oldest


def _seen_again(
    entry: Entry,
    keys: tuple[str, ...],
    entry_hash: str,
    stored: KnownEntry,
    index: int,
    analysis_of: AnalysisOf,
) -> SeenAgain | None:
    new_keys = tuple(key for key in keys if key not in stored.keys)
    # A guid we have not seen, for an entry we know by its link or title: the feed churns.
    churned = entry.key not in stored.keys and entry.key.startswith("guid:")
    changed = not stored.pruned and entry_hash != stored.content_hash
    if not new_keys and not changed:
        return None
    return SeenAgain(
        stored.entry_id,
        new_keys,
        churned,
        entry if changed else None,
        analysis_of(index).matches if changed else (),
        entry_hash,
    )
