"""Human durations ("90s", "15m", "2h", "1h30m", "7d"), moments ("7d" back, or a date) and
sizes ("10MiB")."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_PART = re.compile(r"(\d+(?:\.\d+)?)\s*([smhdw])")
_RATE = re.compile(r"(\d+)\s*/\s*([smhd])")
_SIZE = re.compile(r"(\d+)\s*(b|kb|kib|mb|mib|gb|gib)?", re.IGNORECASE)
_SIZE_UNITS = {
    "b": 1,
    "kb": 1000,
    "kib": 1024,
    "mb": 1000**2,
    "mib": 1024**2,
    "gb": 1000**3,
    "gib": 1024**3,
}


def parse_moment(value: str, now: datetime) -> datetime:
    """``24h``/``7d`` back from ``now``, or a date or ISO timestamp (UTC unless it says).
    Raises ValueError saying what was expected."""
    try:
        return now - parse_duration(value)
    except ValueError:
        pass
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        raise ValueError(
            f"{value!r} is neither a duration (24h, 7d) nor a date (2026-09-01)"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def parse_duration(text: str | int | float | timedelta) -> timedelta:
    """Parse ``"15m"``-style text (or a number of seconds); raise ValueError with a hint."""
    if isinstance(text, timedelta):
        return text
    if isinstance(text, int | float) and not isinstance(text, bool):
        return timedelta(seconds=text)
    if not isinstance(text, str):
        raise ValueError(f"expected a duration like '90s', '15m' or '2h', got {text!r}")
    compact = text.strip().lower().replace(" ", "")
    parts = _PART.findall(compact)
    if not compact or "".join(n + u for n, u in parts) != compact:
        raise ValueError(f"expected a duration like '90s', '15m' or '2h', got {text!r}")
    return timedelta(seconds=sum(float(n) * _UNITS[u] for n, u in parts))


def parse_size(text: str | int) -> int:
    """Parse ``"10MiB"``-style text (or a number of bytes) into bytes."""
    if isinstance(text, int) and not isinstance(text, bool):
        return text
    match = _SIZE.fullmatch(str(text).strip())
    if match is None:
        raise ValueError(f"expected a size like '10MiB' or '500kB', got {text!r}")
    return int(match.group(1)) * _SIZE_UNITS[(match.group(2) or "b").lower()]


def parse_rate(text: str) -> timedelta:
    """A rate like "1/s", "30/m" or "100/h", as the shortest time between two messages."""
    match = _RATE.fullmatch(str(text).strip().lower())
    if match is None or int(match.group(1)) == 0:
        raise ValueError(f"expected a rate like '1/s', '30/m' or '100/h', got {text!r}")
    return timedelta(seconds=_UNITS[match.group(2)] / int(match.group(1)))


def format_duration(value: timedelta) -> str:
    """The shortest exact spelling: 900 s -> "15m", 5400 s -> "1h30m"."""
    total = value.total_seconds()
    if total != int(total):
        return f"{total:g}s"  # a fraction of a second, as rates give
    seconds = int(total)
    if seconds == 0:
        return "0s"
    out = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        count, seconds = divmod(seconds, size)
        if count:
            out.append(f"{count}{unit}")
    return "".join(out)
