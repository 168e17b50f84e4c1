"""Text for people: notifications and the digest. Pure ``format_*`` functions, no I/O.

Everything a feed supplied is untrusted. Notifications are plain text (apprise escapes plain
text for HTML email and Slack); Markdown output escapes feed text; JSON is JSON.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Literal

from watcher.core.diff import changed, word_diff
from watcher.core.model import Alert, CycleRecord, Hit
from watcher.core.text import counted, one_line

SUMMARY_LIMIT = 400
# Feed text only ever appears mid-line here, so line-start markers ("-", "1.", "#") are inert.
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()!|<>~])")


def state_words(state: str) -> str:
    """A feed state (``not-modified``, as JSON spells it) as a person reads it."""
    return state.replace("-", " ")


def describe_cycle(record: CycleRecord) -> str:
    """What a cycle did, in the words every output uses: a 304 is "not modified", the same
    bytes again "unchanged", each counted on its own.
    ``24 feeds: 21 ok, 1 not modified, 1 unchanged, 1 failed; 310 new entries, 2 changed,
    1 new match``"""
    return (
        f"{counted(record.feeds, 'feed')}: {record.ok} ok, {record.not_modified} not modified, "
        f"{record.unchanged} unchanged, {record.failed} failed; "
        f"{counted(record.new_entries, 'new entry', 'new entries')}, {record.changed} changed, "
        f"{counted(record.new_matches, 'new match', 'new matches')}"
    )


def format_time(value: datetime | None) -> str:
    """``2026-09-14 10:05 UTC``, or empty."""
    return value.strftime("%Y-%m-%d %H:%M UTC") if value else ""


Style = Literal["text", "html", "slack", "markdown", "brackets"]
STYLES: tuple[Style, ...] = ("text", "html", "slack")  # what notification targets are sent
_SLACK_SPECIAL = re.compile(r"([*_~`])")
_SPACE_RUN = re.compile(r"\s+")


def format_alert_title(alert: Alert) -> str:
    """The subject line of a notification: rule and headline."""
    updated = " (updated)" if alert.revision else ""
    return one_line(f"[{alert.rule}]{updated} {alert.entry.title or '(untitled)'}")


def format_alert_body(alert: Alert, style: Style = "text") -> str:
    """A notification's body: headline (matched words highlighted), link, source, time, rule
    and the start of the summary, in the target's format."""
    entry = alert.entry
    when = entry.published or entry.updated
    headline = highlight(entry.title or "(untitled)", spans_of(alert.hits, "title"), style)
    lines = [headline]
    if entry.link:
        lines.append(_link(entry.link, style))
    lines.append("")
    lines.append(escape(f"Source: {alert.feed_name}", style))
    if alert.sources:
        lines.append(escape(f"Also reported by: {', '.join(alert.sources)}", style))
    if when:
        lines.append(f"Published: {format_time(when)}")
    lines.append(escape(f"Rule: {alert.rule} (matched: {', '.join(alert.terms)})", style))
    if alert.previous is not None:
        lines += ["", "What changed:"]
        for label, old, new in (
            ("Title", alert.previous.title, entry.title),
            ("Summary", alert.previous.summary, entry.summary),
        ):
            if changed(old, new):
                lines.append(f"{label}: {format_diff(old, new, style)}")
    field = "summary" if entry.summary else "content"
    text = entry.summary or entry.content
    if text:
        lines += ["", highlight(text, spans_of(alert.hits, field), style, SUMMARY_LIMIT)]
    return ("<br>\n" if style == "html" else "\n").join(lines)


_DIFF_MARKS: dict[str, tuple[str, str, str, str]] = {
    "html": ("<del>", "</del>", "<ins>", "</ins>"),
    "markdown": ("~~", "~~", "**", "**"),
    "slack": ("~~", "~~", "**", "**"),  # apprise turns these into Slack's ~x~ and *x*
}


def format_diff(old: str, new: str, style: Style) -> str:
    """A word-level diff on one line: deleted words struck through, added words in bold
    (``[-old-]{+new+}`` in plain text)."""
    strike, unstrike, bold, unbold = _DIFF_MARKS.get(style, ("[-", "-]", "{+", "+}"))
    out = []
    for op, text in word_diff(" ".join(old.split()), " ".join(new.split())):
        core = text.strip()
        if op == "same" or not core:
            out.append(escape(text, style))
            continue
        # Markers hug the words: "** today**" would not be bold in Markdown.
        lead, trail = text[: len(text) - len(text.lstrip())], text[len(text.rstrip()) :]
        opening, closing = (strike, unstrike) if op == "deleted" else (bold, unbold)
        out.append(f"{lead}{opening}{escape(core, style)}{closing}{trail}")
    return "".join(out)


def format_summary_title(alerts: Sequence[Alert]) -> str:
    """The subject of the one message sent instead of a burst."""
    rules = ", ".join(dict.fromkeys(alert.rule for alert in alerts))
    return f"[feed-watcher] {counted(len(alerts), 'new match', 'new matches')} ({rules})"


def format_summary_body(alerts: Sequence[Alert], style: Style = "text") -> str:
    """One line per match (rule, headline, source) with its link, newest last."""
    lines = []
    for alert in alerts:
        updated = " (updated)" if alert.revision else ""
        title = alert.entry.title or "(untitled)"
        lines.append(escape(f"[{alert.rule}]{updated} {title} — {alert.feed_name}", style))
        if alert.entry.link:
            lines.append("    " + _link(alert.entry.link, style))
    return ("<br>\n" if style == "html" else "\n").join(lines)


def format_digest_title(alerts: Sequence[Alert]) -> str:
    stories = "story" if len(alerts) == 1 else "stories"
    return f"[feed-watcher] digest: {len(alerts)} {stories}"


def format_digest_body(alerts: Sequence[Alert], style: Style = "text") -> str:
    """Every alert since the last digest, grouped by rule (with counts), newest first."""
    if not alerts:
        return "No new matches since the last digest."
    lines = []
    by_rule: dict[str, list[Alert]] = {}
    for alert in alerts:
        by_rule.setdefault(alert.rule, []).append(alert)
    for rule, group in by_rule.items():
        lines.append(escape(f"{rule} ({len(group)})", style))
        for alert in sorted(group, key=_alert_time, reverse=True):
            when = format_time(alert.entry.published or alert.entry.updated)
            title = alert.entry.title or "(untitled)"
            lines.append(
                escape(f"- {title} — {alert.feed_name}" + (f", {when}" if when else ""), style)
            )
            if alert.entry.link:
                lines.append("  " + _link(alert.entry.link, style))
        lines.append("")
    return ("<br>\n" if style == "html" else "\n").join(lines).strip()


def _alert_time(alert: Alert) -> datetime:
    return alert.entry.published or alert.entry.updated or datetime.min.replace(tzinfo=UTC)


def format_alert_line(alert: Alert) -> str:
    """One console line per match, for configs without targets."""
    parts = [format_alert_title(alert), f"— {alert.feed_name}"]
    if alert.entry.link:
        parts.append(alert.entry.link)
    return " ".join(parts) + f" (matched: {', '.join(alert.terms)})"


def escape(text: str, style: Style) -> str:
    """Feed text made inert for a format (apprise escapes &, < and > for Slack itself)."""
    if style == "html":
        return html.escape(text, quote=False)
    if style == "markdown":
        return _MARKDOWN_SPECIAL.sub(r"\\\1", text)
    if style == "slack":
        # Slack has no escape for its formatting characters; a zero-width space defuses them.
        return _SLACK_SPECIAL.sub("\\1\u200b", text)
    return text


def _mark(text: str, style: Style) -> str:
    if style == "html":
        return f"<b>{text}</b>"
    if style in ("markdown", "slack"):  # apprise turns **x** into Slack's *x*
        return f"**{text}**"
    if style == "brackets":  # the terminal
        return f"[{text}]"
    return text


def _link(url: str, style: Style) -> str:
    if style == "html":
        safe = html.escape(url, quote=True)
        return f'<a href="{safe}">{safe}</a>'
    return url


def spans_of(hits: Sequence[Hit], field: str) -> list[tuple[int, int]]:
    """The character spans of the evidence in one field."""
    return [(hit.start, hit.end) for hit in hits if hit.field == field]


def highlight(
    text: str, spans: Sequence[tuple[int, int]], style: Style, limit: int | None = None
) -> str:
    """``text`` on one line, escaped for ``style``, with ``spans`` marked; cut to ``limit``
    characters (at a word boundary, with an ellipsis)."""
    out: list[tuple[str, bool]] = []
    length = 0
    for part, marked in segments(text, spans):
        part = _SPACE_RUN.sub(" ", part)
        if part.startswith(" ") and (not out or out[-1][0].endswith(" ")):
            part = part.lstrip()
        if limit is not None and length + len(part) > limit:
            room = part[: max(limit - length, 0) + 1]
            room = room.rsplit(" ", 1)[0] if " " in room else ""  # never half a word
            if room:
                out.append((room, marked))
            out.append(("…", False))
            break
        out.append((part, marked))
        length += len(part)
    rendered = "".join(_mark(escape(p, style), style) if m else escape(p, style) for p, m in out)
    return rendered.strip()


def segments(text: str, spans: Sequence[tuple[int, int]]) -> list[tuple[str, bool]]:
    """``text`` cut into (piece, highlighted) runs; overlapping spans are merged."""
    merged: list[list[int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    out, position = [], 0
    for start, end in merged:
        if start > position:
            out.append((text[position:start], False))
        out.append((text[start:end], True))
        position = end
    if position < len(text):
        out.append((text[position:], False))
    return out


def escape_markdown(text: str) -> str:
    """Feed text made inert in Markdown, on one line."""
    return escape(one_line(text), "markdown")
