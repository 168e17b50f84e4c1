"""Durations and sizes as people write them in the config."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from watcher.core.durations import format_duration, parse_duration, parse_size


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("90s", 90),
        ("15m", 900),
        ("2h", 7200),
        ("1h30m", 5400),
        ("7d", 604800),
        ("1w", 604800),
        (" 2 h ", 7200),
        ("1.5h", 5400),
        (45, 45),
    ],
)
def test_parse_duration(text: str | int, seconds: int) -> None:
    """Durations are read in any of the accepted spellings."""
    assert parse_duration(text) == timedelta(seconds=seconds)


@pytest.mark.parametrize("text", ["", "15", "m", "15x", "1h 30", "-5m", "soon", True])
def test_bad_durations(text: str) -> None:
    """What is not a duration is refused with what was expected."""
    with pytest.raises(ValueError, match="expected a duration"):
        parse_duration(text)


@given(st.integers(min_value=1, max_value=10**8))
def test_format_round_trips(seconds: int) -> None:
    """A formatted duration reads back as the same duration."""
    value = timedelta(seconds=seconds)
    assert parse_duration(format_duration(value)) == value


@pytest.mark.parametrize(
    ("text", "size"), [("10MiB", 10 * 1024**2), ("500kB", 500_000), ("123", 123), (7, 7)]
)
def test_parse_size(text: str | int, size: int) -> None:
    """Sizes are read in bytes, KB, MB and the other accepted spellings."""
    assert parse_size(text) == size


def test_bad_size() -> None:
    """What is not a size is refused with what was expected."""
    with pytest.raises(ValueError, match="expected a size"):
        parse_size("ten megs")
