"""Near-duplicate detection: the same wire story, republished with a tweaked headline.

Two entries are near-duplicates when the Jaccard similarity of their word sets (title and
summary, folded, short and common words dropped) reaches a threshold. Finding candidates must
not mean comparing with every stored entry, so each entry gets a MinHash signature (the smallest
of 32 hash functions over its words, computed by rensa in Rust: 30 times faster than hashing
in Python, see ``benchmarks/minhash.py``) cut into 8 bands of 4; entries sharing a band are
candidates (a pair at similarity 0.8 shares one with probability 0.98, at 0.3 with 0.06), and
only candidates are compared exactly. The bands are looked up in an index, so the cost per new
entry does not grow with the store.
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Iterable

from rensa import RMinHash

from watcher.core.matching.fold import WORD, fold, without_possessives

HASHES = 32
BANDS = 8
ROWS = HASHES // BANDS
# The stored band keys depend on the seed and on rensa's hashing: changing either (or a rensa
# release that changes its hash) needs a migration that recomputes them, as 0013 did.
SEED = 20251201
_STOPWORDS = frozenset(
    "the and for with that this from have has had was were are its into over after about "
    "than but not his her their they them will would could should said says say new more "
    "been who what when where which while amid also just out off all one two".split()
)


LEAD = 400  # characters of the summary that count: the headline and the lead tell a story
# Fewer words than this say too little to call two entries the same story ("TikTok update"
# and "TikTok news" would be): such entries join stories by their links only.
MIN_WORDS = 6


def shingles(title: str, summary: str) -> frozenset[str]:
    """The words that characterise a story: those of the title and the start of the summary,
    folded, common words out, at least 3 letters unless they are numbers ("90 days" is not
    "30 days")."""
    words = WORD.findall(without_possessives(fold(f"{title}\n{summary[:LEAD]}")))
    return frozenset(w for w in words if (len(w) >= 3 or w.isdigit()) and w not in _STOPWORDS)


def signature(words: frozenset[str]) -> tuple[int, ...]:
    """The MinHash signature: for each of the 32 hash functions, the smallest value."""
    if not words:
        return ()
    minhash = RMinHash(HASHES, SEED)
    minhash.update(words)
    return tuple(minhash.digest())


def bands(sig: tuple[int, ...]) -> list[int]:
    """The band keys of a signature, as signed 63-bit integers (they fit a BIGINT)."""
    keys = []
    for band in range(len(sig) // ROWS):
        rows = sig[band * ROWS : (band + 1) * ROWS]
        digest = hashlib.blake2b(struct.pack(f"<B{ROWS}I", band, *rows), digest_size=8).digest()
        keys.append(int.from_bytes(digest, "little") >> 1)
    return keys


def jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    """|a ∩ b| / |a ∪ b|; 0 for two empty sets."""
    union = len(a | b)
    return len(a & b) / union if union else 0.0


def nearest_story(
    words: frozenset[str],
    item_bands: Iterable[int],
    stored: Iterable[tuple[int, frozenset[str]]],
    recent: Iterable[tuple[int, frozenset[str], frozenset[int]]],
    threshold: float,
) -> int | None:
    """The story of the candidate most like ``words``, at or above ``threshold``; None when
    none is. Candidates are the ``stored`` stories (story, words) that share a band with the
    entry, and those of the same batch (``recent``: story, words, bands) that do."""
    wanted = frozenset(item_bands)
    pool = set(stored) | {(story, other) for story, other, bands in recent if bands & wanted}
    best, best_score = None, threshold
    for story, other in sorted(pool, key=lambda candidate: candidate[0]):
        score = jaccard(words, other)
        if score >= best_score:
            best, best_score = story, score
    return best
