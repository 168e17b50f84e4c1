"""``watcher rules`` and ``watcher rules test``: dry runs that notify nobody."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from pathlib import Path

from click.testing import CliRunner, Result

from tests.conftest import write_config
from tests.servers import FeedServer
from watcher.cli import cli

Cli = Callable[..., Result]


def test_query_on_text_like_grep(run_cli: Cli) -> None:
    """Exit 0 with the evidence on a match, 1 without, 2 on a bad query."""
    hit = run_cli("rules", "test", "TikTok AND deadline", "--text", "TikTok's deadline\nmore")
    assert hit.exit_code == 0
    assert (
        hit.stdout == "match (TikTok, deadline)\n  title: [TikTok]'s [deadline]\n  summary: more\n"
    )
    miss = run_cli("rules", "test", "TikTok AND deadline", "--text", "TikTok dance")
    assert (miss.exit_code, miss.stdout) == (1, "no match\n")
    bad = run_cli("rules", "test", "TikTok AND")
    assert bad.exit_code == 2 and "AND needs a right-hand side" in bad.stderr and "^" in bad.stderr


def test_query_reads_standard_input_and_prints_json() -> None:
    """rules test reads the text from standard input and prints its evidence as JSON."""
    result = CliRunner().invoke(
        cli, ["rules", "test", "Madrid NEAR/5 talks", "--json"], input="Talks resume in Madrid\n"
    )
    assert result.exit_code == 0
    assert json.loads(result.stdout) == {
        "match": True,
        "hits": [
            {"field": "title", "start": 0, "end": 5, "term": "talks", "text": "Talks"},
            {"field": "title", "start": 16, "end": 22, "term": "Madrid", "text": "Madrid"},
        ],
    }


def test_plural_folding_can_be_switched_off(run_cli: Cli) -> None:
    """--no-plurals matches the words as written: tariff no longer finds tariffs."""
    assert run_cli("rules", "test", "tariff", "--text", "tariffs").exit_code == 0
    assert run_cli("rules", "test", "tariff", "--no-plurals", "--text", "tariffs").exit_code == 1


def test_stored_dry_run_and_rule_counts(
    tmp_path: Path, feed_server: FeedServer, run_cli: Cli
) -> None:
    """A query tried on the stored entries lists what it would have matched, notifies no one
    and stores nothing; ``watcher rules`` counts the matches of the last 24 h and 7 d."""
    url = feed_server.serve_fixture("/world.xml", "world-rss2.xml")
    config = write_config(tmp_path / "w.toml", [url], {"tiktok": ["TikTok"], "floods": ["flood"]})
    first = run_cli("run", "--once", "--config", str(config))
    assert first.exit_code == 0
    with sqlite3.connect(tmp_path / "w.db") as conn:
        before = conn.execute("SELECT count(*) FROM deliveries").fetchone()

    dry = run_cli("rules", "test", "Madrid", "--stored", "--json", "--config", str(config))
    assert dry.exit_code == 0
    report = json.loads(dry.stdout)
    assert (report["scanned"], report["matched"]) == (4, 2)
    titles = {e["title"] for e in report["entries"]}
    assert titles == {
        "US and China open two days of talks in Madrid on trade and TikTok",
        "Real Madrid beat Real Sociedad 2-1 as Mbappé scores again",
    }
    by_rule = run_cli("rules", "test", "--rule", "floods", "--stored", "--config", str(config))
    assert by_rule.exit_code == 0
    assert "[floods] displace" in by_rule.stdout.replace("Monsoon ", "")
    assert "1 of 4 entries stored since" in by_rule.stdout
    none = run_cli("rules", "test", "zebra", "--stored", "--config", str(config))
    assert none.exit_code == 1
    with sqlite3.connect(tmp_path / "w.db") as conn:
        assert conn.execute("SELECT count(*) FROM deliveries").fetchone() == before

    listed = json.loads(run_cli("rules", "--format", "json", "--config", str(config)).stdout)
    assert [(r["name"], r["matches_24h"], r["matches_7d"]) for r in listed] == [
        ("tiktok", 2, 2),
        ("floods", 1, 1),
    ]
    table = run_cli("rules", "--config", str(config)).stdout
    assert "tiktok" in table and '"TikTok"' in table


def test_rule_and_query_are_exclusive(run_cli: Cli) -> None:
    """rules test takes a query or --rule, exactly one."""
    assert run_cli("rules", "test", "--text", "x").exit_code == 2
    assert run_cli("rules", "test", "a", "--rule", "b", "--text", "x").exit_code == 2


def test_unknown_rule(tmp_path: Path, run_cli: Cli) -> None:
    """--rule naming no rule is a usage error that lists the rules."""
    config = write_config(tmp_path / "w.toml", [])
    result = run_cli("rules", "test", "--rule", "nope", "--text", "x", "--config", str(config))
    assert result.exit_code == 2 and "no rule named 'nope' (rules: tiktok)" in result.stderr


def test_changing_a_rule_does_not_renotify_old_entries(
    tmp_path: Path, feed_server: FeedServer, run_cli: Cli
) -> None:
    """Entries stored before a rule changed are never matched again: a new rule only sees new
    entries."""
    url = feed_server.serve_fixture("/world.xml", "world-rss2.xml")
    config = write_config(tmp_path / "w.toml", [url], {"tiktok": ["TikTok"]})
    assert len(run_cli("run", "--once", "--config", str(config)).stdout.splitlines()) == 2
    write_config(tmp_path / "w.toml", [url], {"tiktok": ["TikTok"], "floods": ["flood"]})
    feed_server.serve("/world.xml", feed_server.routes["/world.xml"].body + b" ")  # new ETag
    again = run_cli("run", "--once", "--config", str(config))
    assert again.exit_code == 0 and again.stdout == ""
