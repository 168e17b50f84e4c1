"""The digest as one HTML page: the file ``watcher digest --format html`` writes, and the page
the listener serves at ``/`` (which adds a filter form and the feeds to subscribe to).

Self-contained: its style inline (allowed by its hash in the Content-Security-Policy, so no
other style and no script can run), no external assets, a chart per rule drawn as inline SVG.
Feed text is escaped by the template engine; only http(s) links become links.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from watcher.core.views import DigestRow
from watcher.render.alerts import format_time, highlight, spans_of
from watcher.render.chart import Trend, caption, to_svg
from watcher.render.digest import DigestPage, by_rule, delivered
from watcher.render.feeds import SAFE_LINK


@dataclass(frozen=True, slots=True)
class SiteLinks:
    """What the served page adds: where each feed is (``feed(None)``: every match), the
    filters in force (shown in the form), and query parameters every link and the form must
    carry (the access token a reader gave in the URL)."""

    feed: Callable[[str | None, str], str]  # (rule or None, "atom" | "json") → URL
    filters: Mapping[str, str] = field(default_factory=dict)
    carried: Sequence[tuple[str, str]] = ()


_STYLE = """
body { font: 16px/1.5 system-ui, sans-serif; max-width: 52rem; margin: 2rem auto;
       padding: 0 1rem; color: #1d1d1f; background: #fff; overflow-wrap: anywhere; }
h1 { font-size: 1.5rem; margin-bottom: .2rem; }
.generated { color: #6e6e73; margin-top: 0; }
h2 { font-size: 1.15rem; border-bottom: 1px solid #d2d2d7; padding-bottom: .3rem;
     margin-top: 2rem; }
h2 .count, .feeds { color: #6e6e73; font-weight: normal; font-size: .9rem; }
ul { list-style: none; padding: 0; }
li { margin: 0 0 1rem; }
a { color: #0b57d0; }
.headline { font-weight: 600; }
.headline a { text-decoration: none; }
.headline a:hover { text-decoration: underline; }
.headline b { background: #fff3b0; font-weight: 700; }
.meta { color: #6e6e73; font-size: .9rem; }
.changed { color: #b3261e; font-size: .8rem; text-transform: uppercase; margin-left: .4rem; }
.trend { margin: .5rem 0; max-width: 36rem; }
.chart { display: block; width: 100%; height: 4rem; }
.chart .bar { fill: #0b57d0; }
.chart .axis { stroke: #d2d2d7; stroke-width: 1; vector-effect: non-scaling-stroke; }
figcaption { color: #6e6e73; font-size: .8rem; }
form { display: flex; flex-wrap: wrap; gap: .5rem; align-items: end; margin: 1rem 0; }
label { display: flex; flex-direction: column; font-size: .8rem; color: #6e6e73; }
input, button { font: inherit; max-width: 100%; box-sizing: border-box; }
@media (prefers-color-scheme: dark) {
  body { background: #1c1c1e; color: #f2f2f7; }
  a { color: #8ab4f8; }
  .headline b { background: #5c4b00; }
  h2 { border-color: #3a3a3c; }
  .chart .bar { fill: #8ab4f8; }
  .chart .axis { stroke: #3a3a3c; }
  figcaption, label, .meta, .generated, h2 .count, .feeds { color: #aeaeb2; }
}
"""
# The Content-Security-Policy of the page: nothing may load or run but this very style.
STYLE_SOURCE = (
    "'sha256-" + base64.b64encode(hashlib.sha256(_STYLE.encode()).digest()).decode() + "'"
)
# The same in the page itself (for the file) and in the listener's header, which adds what a
# <meta> cannot carry (browsers ignore frame-ancestors there, and say so in the console).
META_POLICY = (
    f"default-src 'none'; style-src {STYLE_SOURCE}; img-src 'none'; form-action 'self'; "
    "base-uri 'none'"
)
PAGE_POLICY = META_POLICY + "; frame-ancestors 'none'"
_FORM_FIELDS = (
    ("since", "Since", "24h, 7d, 2026-09-01"),
    ("until", "Until", "now"),
    ("rule", "Rules", "any"),
    ("feed", "Feeds", "any"),
    ("search", "Search", "a query"),
    ("category", "Category", "any"),
)


def to_html(
    page: DigestPage, trends: Mapping[str, Trend] | None = None, site: SiteLinks | None = None
) -> str:
    """The digest grouped by rule, each rule with its trend when ``trends`` has it (a rule
    with a trend and no story in the span still shows its chart)."""
    from jinja2 import Environment
    from markupsafe import Markup

    trends = trends or {}
    grouped = dict(by_rule(page.rows))
    rules = [*grouped, *(rule for rule in sorted(trends) if rule not in grouped)]
    groups = [
        {
            "rule": rule,
            "stories": [_story(row, Markup) for row in grouped.get(rule, [])],
            # to_svg escapes the rule's name itself; the rest of the drawing is ours.
            "chart": Markup(to_svg(trends[rule])) if rule in trends else None,  # noqa: S704
            "caption": caption(trends[rule]) if rule in trends else None,
            "feeds": (site.feed(rule, "atom"), site.feed(rule, "json")) if site else None,
        }
        for rule in rules
    ]
    environment = Environment(autoescape=True)
    return environment.from_string(_HTML).render(
        title=page.title,
        groups=groups,
        generated=format_time(page.generated),
        style=Markup(_STYLE),  # noqa: S704 (a constant)
        policy=META_POLICY,
        site=site,
        form=[
            (name, label, hint, (site.filters.get(name, "") if site else ""))
            for name, label, hint in _FORM_FIELDS
        ],
    )


def _story(row: DigestRow, markup: Callable[[str], str]) -> dict[str, object]:
    return {
        "row": row,
        # highlight() escapes the feed's text itself, around its own <b> marks.
        "headline": markup(
            highlight(row.title or "(untitled)", spans_of(row.hits, "title"), "html")
        ),
        "link": row.link if row.link and SAFE_LINK.match(row.link) else None,
        "time": format_time(row.time),
        "others": row.sources[1:],
        "delivered": delivered(row),
    }


_HTML = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="{{ policy }}">
<meta name="referrer" content="no-referrer">
<meta name="color-scheme" content="light dark">
<title>{{ title }}</title>
<style>{{ style }}</style>
</head>
<body>
<h1>{{ title }}</h1>
<p class="generated">Generated {{ generated }}
{%- if site %} · subscribe to every match:
<a href="{{ site.feed(None, 'atom') }}">Atom</a>,
<a href="{{ site.feed(None, 'json') }}">JSON Feed</a>
{%- endif %}</p>
{% if site %}<form method="get" action="/">
{% for name, label, hint, value in form %}<label>{{ label }}
<input name="{{ name }}" value="{{ value }}" placeholder="{{ hint }}"></label>
{% endfor %}<label>Changed only
<input type="checkbox" name="changed" value="1"
{%- if site.filters.changed %} checked{% endif %}></label>
{% for name, value in site.carried -%}
<input type="hidden" name="{{ name }}" value="{{ value }}">
{% endfor %}<button type="submit">Show</button>
</form>{% endif %}
{% if not groups %}<p>No matches.</p>{% endif %}
{% for group in groups %}
<section class="rule">
<h2>{{ group.rule }} <span class="count">({{ group.stories|length }})</span></h2>
{% if group.chart %}<figure class="trend">{{ group.chart }}
<figcaption>{{ group.caption }}</figcaption></figure>{% endif %}
{% if group.feeds %}<p class="feeds">Follow this rule: <a href="{{ group.feeds[0] }}">Atom</a>,
<a href="{{ group.feeds[1] }}">JSON Feed</a></p>{% endif %}
{% if not group.stories %}<p class="meta">No stories in this span.</p>{% endif %}
<ul>
{% for s in group.stories %}
<li class="story">
<div class="headline">
{%- if s.link %}<a href="{{ s.link }}" rel="noopener noreferrer">{{ s.headline }}</a>
{%- else %}{{ s.headline }}{% endif %}
{%- if s.row.revision %}<span class="changed">changed</span>{% endif %}</div>
<div class="meta">{{ s.row.feed_name }}
{%- if s.row.category %} [{{ s.row.category }}]{% endif %}
{%- if s.others %} (also {{ s.others|join(", ") }}){% endif %} · {{ s.time }}
· matched {{ s.row.terms|join(", ") }} · {{ s.delivered }} · #{{ s.row.entry_id }}</div>
</li>
{% endfor %}
</ul>
</section>
{% endfor %}
</body>
</html>
"""
