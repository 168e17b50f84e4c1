"""Rendering for people: notification bodies, highlights, template variables."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from watcher.render.alerts import format_alert_body, format_digest_body, highlight
from watcher.render.templates import SAMPLE, VARIABLES, variables

CONFIG_DOC = (Path(__file__).parents[2] / "docs" / "configuration.md").read_text("utf-8")


def test_alert_body_names_the_other_sources_of_its_story() -> None:
    """An alert names the other outlets of its story, escaped for the format."""
    alert = replace(SAMPLE, sources=("Outlet B", "Outlet <C>"))
    assert "Also reported by: Outlet B, Outlet <C>" in format_alert_body(alert, "text")
    assert "Also reported by: Outlet B, Outlet &lt;C&gt;" in format_alert_body(alert, "html")


def test_highlight_escapes_around_the_marks() -> None:
    """Highlights mark the spans and escape everything around them, cut at a word when limited."""
    text = "TikTok <b>deal</b> near"
    assert highlight(text, [(0, 6)], "html") == "<b>TikTok</b> &lt;b&gt;deal&lt;/b&gt; near"
    assert highlight(text, [(0, 6)], "markdown") == "**TikTok** \\<b\\>deal\\</b\\> near"
    assert highlight("a   b\n c", [], "text") == "a b c"
    assert highlight("one two three four", [(4, 7)], "brackets", limit=9) == "one [two]…"


def test_empty_digest_says_so() -> None:
    """A digest with nothing in it says so."""
    assert format_digest_body([], "text") == "No new matches since the last digest."


def test_template_variables_are_documented() -> None:
    """Every variable a template sees is documented in docs/configuration.md."""
    assert set(variables(SAMPLE, "text")) == set(VARIABLES)
    for name in VARIABLES:
        assert f"`{name}`" in CONFIG_DOC, name
