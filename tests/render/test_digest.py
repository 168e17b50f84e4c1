"""``watcher digest`` in every format, from a database built through the real pipeline (feeds
served on 127.0.0.1, ``watcher run --once`` twice): JSON against its schema, CSV read back,
Atom read back by feedparser, HTML parsed with hostile feed text made inert, Markdown escaped,
and filters that combine as documented."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import feedparser
import jsonschema
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

import watcher
from tests.stored import HOSTILE, RULES, Digest, PageElements, build_digest
from watcher.cli import cli
from watcher.core.views import DigestQuery

SCHEMA = json.loads((Path(watcher.__file__).parent / "render" / "digest.schema.json").read_text())


@pytest.fixture(scope="module")
def digest(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Digest]:
    """Two feeds, a story both report, an entry that changes between two runs; the matches
    then spread over the past days so that time filters have something to cut."""
    yield build_digest(tmp_path_factory.mktemp("digest"))


def test_json_follows_its_schema(digest: Digest) -> None:
    """The JSON digest validates against its schema: one object per story, its other outlets, its
    revision and where it was delivered."""
    data = json.loads(digest.run("--format", "json").output)
    jsonschema.validate(data, SCHEMA, format_checker=jsonschema.FormatChecker())
    stories = data["stories"]
    assert [s["rule"] for s in stories].count("madrid") == 1  # one story, reported twice
    madrid = next(s for s in stories if s["rule"] == "madrid")
    assert {e["source"] for e in madrid["entries"]} == {"Wire", "Post"}
    others = [e["source"] for e in madrid["entries"] if e["source"] != madrid["source"]]
    assert madrid["other_sources"] == others and len(others) == 1
    tiktok = [s for s in stories if s["rule"] == "tiktok"]
    changed = next(s for s in tiktok if s["changed"])
    assert changed["title"] == "TikTok deadline extended to January" and changed["revision"] == 1
    assert all(d["target"] == "console" and d["status"] == "sent" for d in changed["deliveries"])
    assert data["filters"]["rules"] == [] and data["version"] == 2


def test_csv_reads_back_one_row_per_story_and_rule(digest: Digest) -> None:
    """The CSV reads back as one row per story and rule, in the JSON's order, hostile text
    intact."""
    rows = list(csv.DictReader(io.StringIO(digest.run("--format", "csv").output)))
    stored = json.loads(digest.run("--format", "json").output)["stories"]
    assert [(r["id"], r["rule"]) for r in rows] == [(str(s["id"]), s["rule"]) for s in stored]
    hostile = next(r for r in rows if "script" in r["title"])
    assert hostile["title"] == HOSTILE  # it starts with "<", so it is not a formula
    madrid = next(r for r in rows if r["rule"] == "madrid")
    assert madrid["other_sources"] in ("Wire", "Post") and madrid["delivered"] == "console: sent"


def test_formula_cells_are_defused() -> None:
    """A cell a spreadsheet would run as a formula gets a leading quote; others stay as they are."""
    from watcher.render.digest import _cell

    assert _cell("=HYPERLINK(1)") == "'=HYPERLINK(1)" and _cell("@SUM") == "'@SUM"
    assert _cell("Tariffs = tax") == "Tariffs = tax"


def test_atom_reads_back_in_feedparser(digest: Digest) -> None:
    """The Atom digest is a valid feed: feedparser reads the same stories, rules and links back."""
    parsed = feedparser.parse(digest.run("--format", "atom").output)
    assert not parsed.bozo, parsed.get("bozo_exception")
    stored = json.loads(digest.run("--format", "json").output)["stories"]
    assert [e.title for e in parsed.entries] == [s["title"] for s in stored]
    assert [e.tags[0].term for e in parsed.entries] == [s["rule"] for s in stored]
    assert parsed.entries[0].link == stored[0]["link"]
    assert len({e.id for e in parsed.entries}) == len(stored)


def test_html_is_self_contained_and_defuses_feed_text(digest: Digest, tmp_path: Path) -> None:
    """The HTML digest loads nothing from outside, links only over https, and shows feed markup as
    text."""
    out = tmp_path / "digest.html"
    digest.run("--format", "html", "--output", str(out))
    page = PageElements()
    page.feed(out.read_text(encoding="utf-8"))
    assert "script" not in page.tags and "img" not in page.tags and "link" not in page.tags
    assert page.hrefs and all(h.startswith("https://") for h in page.hrefs)
    assert any("<script>alert('x')</script>" in text for text in page.text)  # shown as text
    headings = {text.strip() for text in page.text}
    assert {"madrid", "tiktok", "chips", "tariffs"} <= headings


def test_html_draws_each_rules_trend(digest: Digest, tmp_path: Path) -> None:
    """The HTML digest has a chart per rule of the config, 30 bars each, whose counts are the
    rule's matches of the last 30 days (match N was dated N days back), also for a rule with no
    story in the span asked for; --rule draws that rule's alone."""
    stored = json.loads(digest.run("--format", "json").output)["stories"]
    page = digest.run("--format", "html", "--since", "1d").output  # no story in that span
    charts = re.findall(r'<section class="rule">\s*<h2>(\w+) .*?</svg>', page, flags=re.S)
    assert sorted(charts) == sorted(RULES)
    for rule in RULES:
        drawing = page.split(f"<h2>{rule} ", 1)[1].split("</svg>", 1)[0]
        counts = [int(n) for n in re.findall(r'data-count="(\d+)"', drawing)]
        assert len(counts) == 30 and sum(counts) == [s["rule"] for s in stored].count(rule)
    only = digest.run("--format", "html", "--rule", "chips").output
    assert only.count("<svg") == 1


def test_markdown_escapes_feed_text(digest: Digest) -> None:
    """Markdown special characters from a feed are escaped: no link, emphasis or tag comes
    through."""
    text = digest.run("--format", "markdown").output
    hostile = next(line for line in text.splitlines() if "script" in line)
    assert r"\*deal\*" in hostile and r"\[link\]\(javascript:" in hostile
    assert "](javascript:" not in hostile and r"\<script\>" in hostile
    assert "## madrid (1)" in text


def test_output_replaces_the_file_atomically(digest: Digest, tmp_path: Path) -> None:
    """--output replaces the file in one step and leaves no temporary file behind."""
    out = tmp_path / "digest.csv"
    out.write_text("old")
    digest.run("--format", "csv", "--output", str(out))
    assert out.read_text().startswith("id,time,rule,")
    assert [p.name for p in tmp_path.iterdir()] == ["digest.csv"]  # no temporary file left


def test_filters(digest: Digest) -> None:
    """--feed (by name or URL), --changed, --search and --limit each narrow the digest as
    documented; a --search that does not parse is a usage error."""

    def ids(*args: str) -> list[tuple[int, str]]:
        data = json.loads(digest.run("--format", "json", *args).output)
        return [(s["id"], s["rule"]) for s in data["stories"]]

    def sources(*args: str) -> set[str]:
        data = json.loads(digest.run("--format", "json", *args).output)
        return {s["source"] for s in data["stories"]}

    everything = ids()
    assert sources("--feed", "Post") == {"Post"}
    post_url = next(s for s in json.loads(digest.run("--format", "json").output)["stories"]
                    if s["source"] == "Post")["feed_url"]  # fmt: skip
    assert ids("--feed", post_url) == ids("--feed", "Post")
    assert sources("--feed", "Post", "--feed", "Wire") == {"Post", "Wire"}
    assert ids("--changed") == [(i, r) for i, r in everything if r == "tiktok"][:1]
    searched = ids("--search", "deadline OR probe")
    assert {r for _, r in searched} == {"tiktok", "chips"}
    assert len(ids("--limit", "2")) == 2
    assert ids("--search", "tariffs", "--limit", "1") == ids("--search", "tariffs")[:1]
    bad = CliRunner().invoke(cli, ["digest", "--config", str(digest.config), "--search", "(("])
    assert bad.exit_code == 2 and "--search" in bad.output


@settings(max_examples=40, deadline=None)
@given(
    rules=st.lists(st.sampled_from([*RULES, "none"]), max_size=3, unique=True),
    days=st.integers(min_value=0, max_value=20),
    later=st.integers(min_value=0, max_value=20),
)
def test_filters_combine(digest: Digest, rules: list[str], days: int, later: int) -> None:
    """--rule A --rule B is the union of each; a later --since never adds a story; --until
    and --since split the stories without loss."""
    store = digest.store()
    now = datetime.now(UTC)
    try:

        def keys(query: DigestQuery) -> set[int]:
            return {row.match_id for row in store.reports.digest(query)}

        since = now - timedelta(days=days)
        union = set().union(*(keys(DigestQuery(since=since, rules=(r,))) for r in rules))
        assert keys(DigestQuery(since=since, rules=tuple(rules))) == (
            union if rules else keys(DigestQuery(since=since))
        )
        narrower = since + timedelta(days=later)
        assert keys(DigestQuery(since=narrower)) <= keys(DigestQuery(since=since))
        assert keys(DigestQuery(since=since, until=narrower)) | keys(
            DigestQuery(since=narrower)
        ) == keys(DigestQuery(since=since))
    finally:
        store.engine.dispose()
