"""Which story a near-duplicate joins: data cases for the core's choice."""

from __future__ import annotations

import subprocess
import sys

import pytest

from watcher.adapters.children import child_environment
from watcher.core.clustering import HASHES, bands, jaccard, nearest_story, shingles, signature

MADRID = shingles("US and China resume trade talks in Madrid", "Negotiators meet on Sunday")
MADRID_AGAIN = shingles("US, China resume trade talks in Madrid", "Negotiators meet Sunday")
TIKTOK = shingles("TikTok deadline extended again", "The sale to Oracle waits for a ruling")


@pytest.mark.parametrize(
    ("stored", "recent", "threshold", "expected"),
    [
        ([], [], 0.5, None),  # nothing to compare with: a new story
        ([(7, MADRID)], [], 0.5, 7),  # a stored story close enough
        ([(7, TIKTOK)], [], 0.5, None),  # a stored story sharing a band but not the words
        ([(7, MADRID)], [], 1.01, None),  # nothing reaches an impossible threshold
        ([(7, TIKTOK), (9, MADRID)], [], 0.5, 9),  # the most similar of several
        ([], [(-1, MADRID, frozenset({3}))], 0.5, -1),  # an entry of the same batch
        ([], [(-1, MADRID, frozenset({4}))], 0.5, None),  # same batch, no band in common
    ],
)
def test_the_nearest_story_is_the_most_similar_above_the_threshold(
    stored: list[tuple[int, frozenset[str]]],
    recent: list[tuple[int, frozenset[str], frozenset[int]]],
    threshold: float,
    expected: int | None,
) -> None:
    """A near-duplicate joins the story of the candidate most like it, at or above the
    threshold; candidates of the same batch count only when they share one of its bands."""
    assert nearest_story(MADRID_AGAIN, [3], stored, recent, threshold) == expected


def test_a_tie_goes_to_the_same_story_whatever_the_order() -> None:
    """Two stories as similar as each other: the choice does not depend on the order the
    database returned them in (it did, through a set, before the choice moved to the core)."""
    first = nearest_story(MADRID_AGAIN, [3], [(4, MADRID), (8, MADRID)], [], 0.5)
    second = nearest_story(MADRID_AGAIN, [3], [(8, MADRID), (4, MADRID)], [], 0.5)
    assert first == second == 8
    assert jaccard(MADRID_AGAIN, MADRID) >= 0.5


def _pair(similarity: float, seed: int) -> tuple[frozenset[str], frozenset[str]]:
    """Two word sets of 50 words in all whose Jaccard similarity is ``similarity``."""
    words = [f"w{seed}x{n}" for n in range(50)]
    shared = round(similarity * 50)
    rest = words[shared:]
    half = len(rest) // 2
    return frozenset(words[:shared] + rest[:half]), frozenset(words[:shared] + rest[half:])


@pytest.mark.parametrize(("similarity", "low", "high"), [(0.8, 0.95, 1.0), (0.3, 0.0, 0.12)])
def test_pairs_share_a_band_as_often_as_their_similarity_says(
    similarity: float, low: float, high: float
) -> None:
    """The banding finds near-duplicates and passes over unrelated entries: over 500 pairs, those
    at similarity 0.8 share a band about 98 % of the time, those at 0.3 about 6 % (theory:
    1 − (1 − s⁴)⁸). A signature that lost its MinHash property would fall outside."""
    shared = 0
    for seed in range(500):
        a, b = _pair(similarity, seed)
        shared += bool(set(bands(signature(a))) & set(bands(signature(b))))
    assert low <= shared / 500 <= high


def test_the_signature_depends_on_the_words_only() -> None:
    """The same words give the same signature whatever the order they come in, and in another
    process (the parser processes compute them, the writer and the migrations compare them)."""
    words = sorted(MADRID)
    in_child = subprocess.run(
        [sys.executable, "-c", "from watcher.core.clustering import signature\n"
         f"print(signature(frozenset({words!r})))"],
        capture_output=True, text=True, check=True, env=child_environment(),
    ).stdout  # fmt: skip
    assert signature(frozenset(reversed(words))) == signature(MADRID)
    assert in_child.strip() == str(signature(MADRID))
    assert len(signature(MADRID)) == HASHES and signature(frozenset()) == ()
