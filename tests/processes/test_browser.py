"""The digest page in a real browser: Debian's Chromium, headless, driven by Playwright, loads
the page from a running daemon over a database built through the real pipeline. No console
error, no request refused or blocked, the stories and a chart of 30 bars per rule in the
rendered DOM, readable in dark mode, no horizontal scroll at a phone's 375 px; screenshots are
kept beside the test's other files (pytest's temporary directory)."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import free_port
from tests.processes.conftest import TOKEN
from tests.stored import Digest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="module")
def browser(stored: Digest) -> Iterator[Any]:
    """Chromium under Playwright. The stories are stored first: Playwright's synchronous API
    runs an event loop in this thread, where `watcher run --once` could then run none."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as exc:  # the test extras install it
        reason = f"Playwright is not installed: {exc}"
    else:
        reason = "" if CHROMIUM else "Chromium is not installed (apt install chromium)"
    if reason:
        if os.environ.get("CI"):
            pytest.fail(f"{reason}; .ci/run installs it, and CI requires it")
        pytest.skip(reason)
    with sync_playwright() as playwright:
        # Root in a container has no user namespace for Chromium's sandbox.
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield launched
        launched.close()


class Visit:
    """A page opened at a width, with every console message, failed request and error
    response recorded."""

    def __init__(self, browser: Any, url: str, width: int, scheme: str = "light") -> None:
        self.problems: list[str] = []
        self.context = browser.new_context(
            viewport={"width": width, "height": 800}, color_scheme=scheme
        )
        self.page = self.context.new_page()
        self.page.on("console", lambda m: self.problems.append(f"console {m.type}: {m.text}"))
        self.page.on("pageerror", lambda e: self.problems.append(f"page error: {e}"))
        self.page.on("requestfailed", lambda r: self.problems.append(f"failed: {r.url}"))
        self.page.on(
            "response",
            lambda r: self.problems.append(f"{r.status}: {r.url}") if r.status >= 400 else None,
        )
        response = self.page.goto(url, wait_until="load")
        assert response is not None and response.status == 200

    def evaluate(self, script: str) -> Any:
        return self.page.evaluate(script)

    def close(self) -> None:
        self.context.close()


def test_the_page_renders_its_stories_and_charts_in_chromium(
    browser: Any, serving: Callable[..., str], tmp_path: Path
) -> None:
    """At desktop width, light and dark, and at 375 px: no console message, failed request or
    error response; one story element per rule and story, as the feeds list them; a chart of
    30 bars per rule whose counts add up to that rule's stories; no script in the DOM, the
    hostile headline shown as text; no horizontal scroll on the phone."""
    base = serving(f"127.0.0.1:{free_port()}")
    stories = json.loads(httpx.get(f"{base}/feeds/matches.json?token={TOKEN}").text)["items"]
    per_rule: dict[str, int] = {}
    for item in stories:
        for rule in item["tags"]:
            per_rule[rule] = per_rule.get(rule, 0) + 1
    url = f"{base}/?since=30d&token={TOKEN}"

    desktop = Visit(browser, url, 1280)
    try:
        assert desktop.problems == []
        assert desktop.evaluate("document.querySelectorAll('script').length") == 0
        assert desktop.evaluate("document.querySelectorAll('li.story').length") == sum(
            per_rule.values()
        )
        charts = desktop.evaluate(
            """[...document.querySelectorAll('section.rule')].map(s => ({
                rule: s.querySelector('h2').firstChild.textContent.trim(),
                bars: [...s.querySelectorAll('svg.chart rect.bar')].map(
                    b => Number(b.dataset.count)),
                shown: s.querySelector('svg.chart').getBoundingClientRect().height }))"""
        )
        assert {c["rule"] for c in charts} == {"tiktok", "madrid", "chips", "tariffs"}
        for chart in charts:
            assert len(chart["bars"]) == 30 and chart["shown"] > 40, chart
            assert sum(chart["bars"]) == per_rule.get(chart["rule"], 0), chart
        headline = desktop.evaluate("document.body.innerText")
        assert "<script>alert('x')</script>" in headline  # the hostile title, as text
        light = desktop.evaluate("getComputedStyle(document.body).backgroundColor")
        desktop.page.screenshot(path=str(tmp_path / "digest-1280.png"), full_page=True)
    finally:
        desktop.close()

    dark = Visit(browser, url, 1280, scheme="dark")
    try:
        assert dark.problems == []
        background = dark.evaluate("getComputedStyle(document.body).backgroundColor")
        bar = dark.evaluate("getComputedStyle(document.querySelector('rect.bar')).fill")
        assert background == "rgb(28, 28, 30)" != light and bar == "rgb(138, 180, 248)"
        dark.page.screenshot(path=str(tmp_path / "digest-dark.png"), full_page=True)
    finally:
        dark.close()

    phone = Visit(browser, url, 375)
    try:
        assert phone.problems == []
        widths = phone.evaluate(
            "[document.documentElement.scrollWidth, document.documentElement.clientWidth]"
        )
        assert widths[0] <= widths[1] == 375, widths
        phone.page.screenshot(path=str(tmp_path / "digest-375.png"), full_page=True)
    finally:
        phone.close()
    for name in ("digest-1280.png", "digest-dark.png", "digest-375.png"):
        assert (tmp_path / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", name
