"""Text for people: notifications and the digest. Pure ``format_*`` functions, no I/O.

Everything a feed supplied is untrusted. Notifications are plain text (apprise escapes plain
text for HTML email and Slack); Markdown output escapes feed text; JSON is JSON.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from datetime import datetime

from watcher.model import Alert, DigestRow
from watcher.text import excerpt, one_line

SUMMARY_LIMIT = 400
# Feed text only ever appears mid-line here, so line-start markers ("-", "1.", "#") are inert.
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()!|<>~])")


def format_time(value: datetime | None) -> str:
    """``2026-09-14 10:05 UTC``, or empty."""
    return value.strftime("%Y-%m-%d %H:%M UTC") if value else ""


def format_alert_title(alert: Alert) -> str:
    """The subject line of a notification: rule and headline."""
    return one_line(f"[{alert.rule}] {alert.entry.title or '(untitled)'}")


def format_alert_body(alert: Alert) -> str:
    """The plain-text body of a notification."""
    entry = alert.entry
    when = entry.published or entry.updated
    lines = [entry.title or "(untitled)"]
    if entry.link:
        lines.append(entry.link)
    lines.append("")
    lines.append(f"Source: {alert.feed_name}")
    if when:
        lines.append(f"Published: {format_time(when)}")
    lines.append(f"Rule: {alert.rule} (matched: {', '.join(alert.terms)})")
    text = entry.summary or entry.content
    if text:
        lines += ["", excerpt(text, SUMMARY_LIMIT)]
    return "\n".join(lines)


def format_alert_line(alert: Alert) -> str:
    """One console line per match, for configs without targets."""
    parts = [format_alert_title(alert), f"— {alert.feed_name}"]
    if alert.entry.link:
        parts.append(alert.entry.link)
    return " ".join(parts) + f" (matched: {', '.join(alert.terms)})"


def escape_markdown(text: str) -> str:
    """Feed text made inert in Markdown: every special character backslash-escaped."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", one_line(text))


def _markdown_link(url: str) -> str:
    return url.replace("(", "%28").replace(")", "%29").replace(" ", "%20")


def format_digest_markdown(rows: Sequence[DigestRow], title: str) -> str:
    """The digest as Markdown, grouped by rule, newest first within each rule."""
    out = [f"# {escape_markdown(title)}", ""]
    if not rows:
        return "\n".join([*out, "No matches.", ""])
    for rule in _rules_in_order(rows):
        matching = [row for row in rows if row.rule == rule]
        out += [f"## {escape_markdown(rule)} ({len(matching)})", ""]
        for row in matching:
            headline = escape_markdown(row.title or "(untitled)")
            if row.link:
                headline = f"[{headline}]({_markdown_link(row.link)})"
            out.append(
                f"- {headline} — {escape_markdown(row.feed_name)}, {format_time(row.time)}"
                f" (matched: {escape_markdown(', '.join(row.terms))})"
            )
        out.append("")
    return "\n".join(out)


def digest_json(rows: Sequence[DigestRow]) -> str:
    """The digest as JSON: ``{"version": 1, "matches": [...]}``, newest first."""
    return json.dumps(
        {
            "version": 1,
            "matches": [
                {
                    "match_id": row.match_id,
                    "entry_id": row.entry_id,
                    "time": row.time.isoformat(),
                    "rule": row.rule,
                    "terms": list(row.terms),
                    "title": row.title,
                    "link": row.link,
                    "source": row.feed_name,
                    "summary": row.summary,
                }
                for row in rows
            ],
        },
        ensure_ascii=False,
        indent=2,
    )


def _rules_in_order(rows: Sequence[DigestRow]) -> list[str]:
    return list(dict.fromkeys(row.rule for row in rows))
