"""User templates for notifications: Jinja2 in a sandbox, fed with values already escaped for
the target's format, so that a template cannot be tricked by feed text nor reach Python."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from watcher.model import Alert
from watcher.render import (
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
from watcher.text import excerpt, one_line

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
    """Compile a template, raising TemplateProblem with the reason when it cannot."""
    from jinja2 import TemplateSyntaxError

    try:
        _environment().from_string(text)
    except TemplateSyntaxError as exc:
        raise TemplateProblem(f"{exc.message} (line {exc.lineno})") from None


@dataclass(frozen=True, slots=True)
class Templates:
    """A target's own title and body templates (None: the default for that part)."""

    title: str | None = None
    body: str | None = None

    def render(self, alert: Alert, style: Style) -> tuple[str, str]:
        context = variables(alert, style)
        return (
            _render(self.title, context) if self.title else context["default_title"],
            _render(self.body, context) if self.body else context["default_body"],
        )


def _render(text: str, context: dict[str, Any]) -> str:
    from jinja2 import TemplateError

    try:
        return _environment().from_string(text).render(context)
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
