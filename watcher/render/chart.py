"""A rule's trend as a picture: matches per day over the last 30 days, an inline SVG drawn
here (no script, no external asset), coloured by the page's stylesheet so that it reads in
light and dark mode, and stretched to the page's width (a phone's too)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from datetime import time as dt_time

from watcher.core.text import counted
from watcher.render.feeds import esc

DAYS = 30
_BAR, _GAP, _HEIGHT = 10, 2, 40  # in the drawing's own units


@dataclass(frozen=True, slots=True)
class Trend:
    """Matches per day for one rule, oldest day first, ending today (UTC)."""

    rule: str
    days: tuple[tuple[date, int], ...]

    @property
    def total(self) -> int:
        return sum(count for _, count in self.days)

    @property
    def peak(self) -> int:
        return max((count for _, count in self.days), default=0)


def span_start(now: datetime, days: int = DAYS) -> datetime:
    """The first moment a chart of ``days`` days up to ``now`` counts (midnight UTC)."""
    first = now.astimezone(UTC).date() - timedelta(days=days - 1)
    return datetime.combine(first, dt_time.min, UTC)


def trends(
    times: Iterable[tuple[str, datetime]],
    now: datetime,
    rules: Iterable[str] = (),
    days: int = DAYS,
) -> dict[str, Trend]:
    """Each rule's matches per day over the ``days`` days up to ``now`` (UTC days), from
    (rule, matched at) pairs: the rules named in ``rules`` (flat when they matched nothing),
    and any other that matched in the span."""
    today = now.astimezone(UTC).date()
    first = span_start(now, days).date()
    counts: dict[str, dict[date, int]] = {}
    for rule, moment in times:
        day = moment.astimezone(UTC).date()
        if first <= day <= today:
            per_day = counts.setdefault(rule, {})
            per_day[day] = per_day.get(day, 0) + 1
    for rule in rules:
        counts.setdefault(rule, {})
    span = [first + timedelta(days=n) for n in range(days)]
    return {
        rule: Trend(rule, tuple((day, per_day.get(day, 0)) for day in span))
        for rule, per_day in counts.items()
    }


def to_svg(trend: Trend) -> str:
    """Bars of matches per day on a baseline, scaled to the busiest day; each bar names its
    day and count (a tooltip), the drawing as a whole its span and total (for screen
    readers). Its text labels are the page's (``caption``), at the page's type size."""
    width = len(trend.days) * (_BAR + _GAP)
    peak = trend.peak
    bars = []
    for n, (day, count) in enumerate(trend.days):
        tall = round(_HEIGHT * count / peak, 1) if peak else 0
        bars.append(
            f'<rect class="bar" x="{n * (_BAR + _GAP)}" y="{_HEIGHT - tall}" '
            f'width="{_BAR}" height="{tall}" data-day="{day.isoformat()}" data-count="{count}">'
            f"<title>{day.isoformat()}: {_matches(count)}</title></rect>"
        )
    label = esc(f"{trend.rule}: {caption(trend)}")
    return (
        f'<svg class="chart" role="img" aria-label="{label}" viewBox="0 0 {width} {_HEIGHT + 1}" '
        f'preserveAspectRatio="none" xmlns="http://www.w3.org/2000/svg"><title>{label}</title>'
        + "".join(bars)
        + f'<line class="axis" x1="0" y1="{_HEIGHT + 0.5}" x2="{width}" y2="{_HEIGHT + 0.5}"/>'
        "</svg>"
    )


def caption(trend: Trend) -> str:
    """``Nov 02 – Dec 01: 12 matches, at most 4 a day``."""
    first, last = trend.days[0][0], trend.days[-1][0]
    busiest = f", at most {trend.peak} a day" if trend.peak > 1 else ""
    return f"{first:%b %d} – {last:%b %d}: {_matches(trend.total)}{busiest}"


def _matches(count: int) -> str:
    return counted(count, "match", "matches")
