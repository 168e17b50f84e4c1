"""User templates for notifications: Jinja2 in a sandbox, fed with values already escaped for
the target's format, so that a template cannot be tricked by feed text nor reach Python."""

from __future__ import annotations

import functools
from dataclasses import replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from watcher.core.model import Alert, Entry, Hit
from watcher.core.settings import Templates
from watcher.core.text import excerpt, one_line
from watcher.render.alerts import (
    STYLES,
    SUMMARY_LIMIT,
    Style,
    escape,
    format_alert_body,
    format_alert_title,
    format_diff,
    format_time,
    highlight,
    spans_of,
)

if TYPE_CHECKING:
    from jinja2.sandbox import SandboxedEnvironment
VARIABLES = (
    "rule", "title", "headline", "link", "source", "sources", "feed_url", "published",
    "summary", "excerpt", "terms", "updated", "revision", "changes", "default_title",
    "default_body",
)  # fmt: skip


class TemplateProblem(ValueError):
    """A template that does not compile or does not render; the message says why."""


@functools.cache
def _environment() -> SandboxedEnvironment:
    """Jinja2, loaded when a template is first used (most configs have none; importing it
    would add a tenth of a second to every start)."""
    from jinja2 import Undefined
    from jinja2.sandbox import SandboxedEnvironment

    return SandboxedEnvironment(autoescape=False, undefined=Undefined, keep_trailing_newline=False)


def check(text: str) -> None:
    """Compile a template and render it against sample alerts (new, updated, bare) in every
    style, raising TemplateProblem with the reason when it cannot: a template the sandbox
    refuses is refused with the config, not found at the first delivery."""
    from jinja2 import TemplateSyntaxError

    try:
        _compiled(text)
    except TemplateSyntaxError as exc:
        raise TemplateProblem(f"{exc.message} (line {exc.lineno})") from None
    for alert in SAMPLES:
        for style in STYLES:
            _render(text, variables(alert, style))


def render(templates: Templates, alert: Alert, style: Style) -> tuple[str, str]:
    """The title and body of ``alert`` for a target with ``templates``, in ``style``."""
    context = variables(alert, style)
    return (
        _render(templates.title, context) if templates.title else context["default_title"],
        _render(templates.body, context) if templates.body else context["default_body"],
    )


@functools.lru_cache(maxsize=64)
def _compiled(text: str) -> Any:
    return _environment().from_string(text)


def _render(text: str, context: dict[str, Any]) -> str:
    from jinja2 import TemplateError

    try:
        return str(_compiled(text).render(context))
    except TemplateError as exc:
        raise TemplateProblem(str(exc)) from None


def variables(alert: Alert, style: Style) -> dict[str, Any]:
    """What a template sees; every feed-supplied value is already escaped for ``style``."""
    entry = alert.entry
    text = entry.summary or entry.content
    field = "summary" if entry.summary else "content"
    changes = ""
    if alert.previous is not None:
        changes = format_diff(alert.previous.title, entry.title, style)
    return {
        "rule": escape(alert.rule, style),
        "title": escape(one_line(entry.title), style),
        "headline": highlight(entry.title or "(untitled)", spans_of(alert.hits, "title"), style),
        "link": escape(entry.link or "", style),
        "source": escape(alert.feed_name, style),
        "sources": [escape(name, style) for name in alert.sources],
        "feed_url": escape(alert.feed_url, style),
        "published": format_time(entry.published or entry.updated),
        "summary": escape(excerpt(text, SUMMARY_LIMIT), style),
        "excerpt": highlight(text, spans_of(alert.hits, field), style, SUMMARY_LIMIT),
        "terms": [escape(term, style) for term in alert.terms],
        "updated": bool(alert.revision),
        "revision": alert.revision,
        "changes": changes,
        "default_title": format_alert_title(alert),
        "default_body": format_alert_body(alert, style),
    }


_SAMPLE_TITLE = "TikTok gets 90 more days: deadline moves to December"
SAMPLE = Alert(
    delivery_id=0,
    target="",
    rule="tiktok",
    hits=tuple(
        Hit(word, "title", _SAMPLE_TITLE.index(word), _SAMPLE_TITLE.index(word) + len(word))
        for word in ("TikTok", "deadline")
    ),
    entry=Entry(
        key="sample",
        title=_SAMPLE_TITLE,
        link="https://news.example/2025/09/16/tiktok-deadline",
        published=datetime(2025, 9, 16, 14, 0, tzinfo=UTC),
        summary="The divestiture deadline moves to December as negotiators describe a "
        "framework deal between ByteDance and a group of US investors.",
    ),
    feed_name="Example World",
    feed_url="https://news.example/world/rss",
)
"""A match as ``watcher notify-test --render`` shows it, and templates are checked with."""

# What a template is tried on before it is accepted: a new match, the alert for a revision
# (``updated``, ``changes``), and a match with nothing but a title (no link, date or text).
SAMPLES = (
    SAMPLE,
    replace(
        SAMPLE,
        revision=1,
        previous=replace(SAMPLE.entry, title="TikTok gets more days"),
        sources=("Example Business",),
    ),
    replace(SAMPLE, hits=(), entry=Entry(key="bare", title="", link=None)),
)
