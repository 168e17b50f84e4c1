"""Which story a near-duplicate joins: data cases for the core's choice."""

from __future__ import annotations

import pytest

from watcher.core.clustering import jaccard, nearest_story, shingles

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
