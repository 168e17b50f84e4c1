"""The trend chart: matches counted per UTC day over the 30 days up to today, drawn as 30
bars scaled to the busiest day, with text a screen reader can read and nothing a rule's name
can break out of."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser

from watcher.core.ratelimit import RateLimit
from watcher.render.chart import span_start, to_svg, trends

NOW = datetime(2026, 11, 30, 15, 0, tzinfo=UTC)


class _Svg(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.bars: list[dict[str, str | None]] = []
        self.tags: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        if dict(attrs).get("class") == "bar":
            self.bars.append(dict(attrs))


def test_matches_are_counted_per_utc_day_over_thirty_days() -> None:
    """Thirty days end today; a match at 23:30 in New York counts on the next UTC day; matches
    older than the first day, or from the future, are not counted; a rule asked for but
    without matches has a flat trend."""
    times = [
        ("tiktok", NOW),
        ("tiktok", NOW - timedelta(hours=14)),  # 01:00 today
        ("tiktok", NOW - timedelta(hours=16)),  # 23:00 yesterday
        ("tiktok", datetime.fromisoformat("2026-11-28T23:30:00-05:00")),  # 29 Nov, UTC
        ("chips", NOW - timedelta(days=29)),  # the first day
        ("chips", NOW - timedelta(days=30)),  # the day before it
        ("chips", NOW + timedelta(days=1)),
    ]
    drawn = trends(times, NOW, ["madrid"])
    tiktok = dict(drawn["tiktok"].days)
    assert len(tiktok) == 30 and min(tiktok).isoformat() == "2026-11-01"
    # Yesterday: 23:00 UTC, and 23:30 in New York on the day before (04:30 UTC).
    assert tiktok[NOW.date()] == 2 and tiktok[NOW.date() - timedelta(days=1)] == 2
    assert drawn["tiktok"].total == 4
    assert drawn["chips"].total == 1 and drawn["chips"].days[0][1] == 1
    assert drawn["madrid"].total == 0 and len(drawn["madrid"].days) == 30
    assert span_start(NOW) == datetime(2026, 11, 1, tzinfo=UTC)


def test_the_svg_has_a_bar_a_day_scaled_to_the_busiest() -> None:
    """30 bars, each naming its day and count; the busiest day's bar is the tallest and a day
    without matches has no height."""
    times = [("tiktok", NOW)] * 4 + [("tiktok", NOW - timedelta(days=3))] * 2
    svg = _Svg()
    svg.feed(to_svg(trends(times, NOW)["tiktok"]))
    assert len(svg.bars) == 30
    counts = [int(bar["data-count"] or 0) for bar in svg.bars]
    heights = [float(bar["height"] or 0) for bar in svg.bars]
    assert counts[-1] == 4 and counts[-4] == 2 and sum(counts) == 6
    assert heights[-1] == max(heights) and heights[-4] == heights[-1] / 2
    assert heights[0] == 0 and svg.bars[-1]["data-day"] == "2026-11-30"


def test_a_rule_name_cannot_break_out_of_the_drawing() -> None:
    """A name that closes the SVG and opens a script is escaped in the label and the title."""
    svg = _Svg()
    drawing = to_svg(trends([("</svg><script>x</script>", NOW)], NOW)["</svg><script>x</script>"])
    svg.feed(drawing)
    assert "script" not in svg.tags and svg.tags.count("svg") == 1
    assert "&lt;/svg&gt;&lt;script&gt;" in drawing


def test_the_rate_limit_refills_and_forgets_the_oldest_clients() -> None:
    """A bucket of three refilled at one a second: the fourth request at once waits a second;
    the table keeps at most its size, dropping the client seen longest ago."""
    limit = RateLimit(rate=1.0, burst=3, clients=2)
    assert [limit.allow("a", 0.0) for _ in range(3)] == [0.0, 0.0, 0.0]
    assert limit.allow("a", 0.0) == 1.0
    assert limit.allow("a", 1.0) == 0.0 and limit.allow("a", 1.0) > 0
    limit.allow("b", 1.0)
    limit.allow("c", 1.0)  # "a" is dropped: it starts again with a full bucket
    assert [limit.allow("a", 1.0) for _ in range(3)] == [0.0, 0.0, 0.0]
