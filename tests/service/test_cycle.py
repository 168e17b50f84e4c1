"""The whole path through the real ``watcher`` command: feeds served over HTTP on 127.0.0.1 →
parse → match → store once → notify → digest; broken feeds fail alone."""

from __future__ import annotations

import json
import random
import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from click.testing import Result

from tests.conftest import SmtpSink, free_port, write_config
from tests.servers import FeedServer, rss

RULES = {
    "tiktok": ["TikTok", "ByteDance"],
    "madrid-talks": ["Madrid talks", "talks in Madrid"],
    "analog-chips": ["analog chips", "anti-dumping probe"],
    "tariffs": ["tariff", "tariffs"],
}
Cli = Callable[..., Result]
VOCABULARY = (
    "harbour council budget railway election museum festival drought vaccine stadium "
    "bridge pension tunnel airline reactor satellite orchestra glacier vineyard parliament "
    "refinery hospital campus wildfire monsoon ferry summit embassy tribunal cathedral "
    "copper lithium wheat coffee cotton timber steel cement salmon cocoa"
).split()


def serve_fixtures(server: FeedServer) -> list[str]:
    return [
        server.serve_fixture("/world.xml", "world-rss2.xml"),
        server.serve_fixture("/business.xml", "business-atom.xml"),
        server.serve_fixture("/tech.rdf", "tech-rss1.xml"),
    ]


def count(db: Path, table: str) -> int:
    with sqlite3.connect(db) as conn:
        return int(conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])


def test_once_prints_matches_and_a_rerun_does_nothing(
    tmp_path: Path, feed_server: FeedServer, run_cli: Cli
) -> None:
    """Three feeds (RSS 2.0, Atom, RSS 1.0): each match is printed once; a second run over the
    unchanged feeds stores nothing new and prints nothing."""
    config = write_config(tmp_path / "w.toml", serve_fixtures(feed_server), RULES)
    first = run_cli("run", "--once", "--config", str(config))
    assert first.exit_code == 0, first.output
    lines = first.stdout.splitlines()
    assert sorted(line.split("]")[0] + "]" for line in lines) == sorted(
        ["[tiktok]"] * 3 + ["[madrid-talks]", "[analog-chips]"] + ["[tariffs]"] * 2
    )
    assert not any("Real Madrid" in line or "Tariffication" in line for line in lines)
    db = tmp_path / "w.db"
    assert count(db, "entries") == 10 and count(db, "matches") == 7

    second = run_cli("run", "--once", "--config", str(config))
    assert second.exit_code == 0
    assert second.stdout == ""
    assert count(db, "entries") == 10 and count(db, "deliveries") == 7
    # The second round was conditional: every request carried the ETag from the first.
    assert all("if-none-match" in seen.headers for seen in feed_server.requests[3:])


def test_a_new_matching_item_sends_exactly_one_email(
    tmp_path: Path, feed_server: FeedServer, smtp_server: SmtpSink, run_cli: Cli
) -> None:
    """After a first round, a feed that gains one matching item sends one email for it, with
    the headline, link, source and rule; nothing else is sent again."""
    items = [("g1", "Markets calm", "Nothing to see")]
    url = feed_server.serve("/f.xml", rss("Wire", items))
    config = write_config(tmp_path / "w.toml", [url], RULES, targets={"desk": smtp_server.url()})
    assert run_cli("run", "--once", "--config", str(config)).exit_code == 0
    assert smtp_server.messages == []

    items.append(("g2", "TikTok divestiture deadline extended", "ByteDance &amp; buyers talk"))
    feed_server.serve("/f.xml", rss("Wire", items))
    result = run_cli("run", "--once", "--config", str(config))
    assert result.exit_code == 0, result.output
    assert run_cli("run", "--once", "--config", str(config)).exit_code == 0

    [message] = smtp_server.messages
    assert message["Subject"] == "[tiktok] TikTok divestiture deadline extended"
    html, plain = message.get_body(("html",)), message.get_body(("plain",))
    assert html is not None and plain is not None
    page = html.get_content()
    assert "<b>TikTok</b> divestiture deadline extended" in page
    assert '<a href="https://news.example/g2">https://news.example/g2</a>' in page
    assert "<b>ByteDance</b> &amp; buyers talk" in page
    text = plain.get_content()
    assert "Rule: tiktok (matched: TikTok, ByteDance)" in text
    assert "Source: Wire" in text


def test_broken_feeds_fail_alone(tmp_path: Path, feed_server: FeedServer, run_cli: Cli) -> None:
    """Unreachable host, HTTP 500, an HTML page, malformed XML and an empty body: each feed is
    marked failed with its reason, the good feeds are still processed, the run exits 1. (Nine
    feeds: enough for parsing to go to worker processes, whose errors must come back whole.)"""
    good = feed_server.serve_fixture("/good.xml", "world-rss2.xml")
    bad = {
        "unreachable": f"http://127.0.0.1:{free_port()}/feed.xml",
        "500": feed_server.serve("/500", "boom", status=500, etag=False),
        "html": feed_server.serve(
            "/page",
            "<html><body><p>Welcome!</p></body></html>",
            headers={"Content-Type": "text/html"},
        ),
        "malformed": feed_server.serve("/bad.xml", '<?xml version="1.0"?><rss><channel><ti'),
        "empty": feed_server.serve("/empty.xml", ""),
    }
    others = [
        feed_server.serve(f"/other{n}.xml", rss(f"Other {n}", [(f"o{n}", "Weather", "x")]))
        for n in range(3)
    ]
    config = write_config(tmp_path / "w.toml", [*bad.values(), good, *others], RULES)
    result = run_cli("run", "--once", "--config", str(config))
    assert result.exit_code == 1
    assert "9 feeds: 4 ok, 0 not modified, 0 unchanged, 5 failed" in result.stderr
    assert "[tiktok] ByteDance’s TikTok" in result.stdout

    feeds = json.loads(run_cli("feeds", "--format", "json", "--config", str(config)).stdout)
    reasons = {f["url"]: f["last_error"] for f in feeds}
    assert reasons[good] is None
    assert reasons[bad["unreachable"]].startswith("cannot connect")
    assert reasons[bad["500"]] == "HTTP 500 Internal Server Error"
    assert reasons[bad["html"]].startswith("an HTML page")
    assert reasons[bad["malformed"]].startswith("malformed feed")
    assert reasons[bad["empty"]] == "empty response body"
    assert {f["last_status"] for f in feeds if f["url"] in bad.values()} == {"failed"}
    assert next(f for f in feeds if f["url"] == good)["entries"] == 4


def test_digest_formats_and_filters(tmp_path: Path, feed_server: FeedServer, run_cli: Cli) -> None:
    """After a run over the fixture feeds, the digest lists each story once, newest first, and
    --rule narrows it."""
    config = write_config(tmp_path / "w.toml", serve_fixtures(feed_server), RULES)
    run_cli("run", "--once", "--config", str(config))

    data = json.loads(run_cli("digest", "--format", "json", "--config", str(config)).stdout)
    assert data["version"] == 2 and len(data["stories"]) == 7
    assert (
        data["stories"][0]["title"] == "Who will control TikTok's algorithm after the divestiture?"
    )

    only = json.loads(
        run_cli("digest", "--rule", "tariffs", "--format", "json", "--config", str(config)).stdout
    )
    assert {m["rule"] for m in only["stories"]} == {"tariffs"} and len(only["stories"]) == 2

    markdown = run_cli("digest", "--format", "markdown", "--config", str(config)).stdout
    assert "## tiktok (3)" in markdown
    assert (
        "[China opens **anti-dumping probe** into US **analog chips**](https://hbr.example/"
        in markdown
    )

    piped = run_cli("digest", "--config", str(config)).stdout  # plain lines when not a TTY
    assert piped.startswith("feed-watcher digest, since ") and "\ntiktok (3)\n" in piped
    assert "Harbour Business Review" in piped and "┃" not in piped

    empty = run_cli("digest", "--since", "2099-01-01", "--config", str(config))
    assert empty.exit_code == 0 and "No matches since 2099-01-01" in empty.stdout

    bad = run_cli("digest", "--since", "yesterday", "--config", str(config))
    assert bad.exit_code == 2 and "neither a duration" in bad.stderr


def test_two_hundred_feeds(tmp_path: Path, feed_server: FeedServer, run_cli: Cli) -> None:
    """200 feeds served on 127.0.0.1 in one run: all read, matches listed, a rerun stores and
    sends nothing."""
    urls = []
    for n in range(200):
        topic = "TikTok sale talks" if n % 10 == 0 else "Weather"
        # Distinct stories: different words, so that none is a near-duplicate of another.
        words = random.Random(n).sample(VOCABULARY, 30)
        items = [
            (f"f{n}-{i}", f"{topic} {words[i]}", " ".join(words[5 + 5 * i : 10 + 5 * i]))
            for i in range(5)
        ]
        urls.append(feed_server.serve(f"/feed/{n}.xml", rss(f"Outlet {n}", items)))
    config = write_config(tmp_path / "w.toml", urls, RULES, extra="concurrency = 20")
    first = run_cli("run", "--once", "--config", str(config))
    assert first.exit_code == 0, first.stderr
    assert (
        "200 feeds: 200 ok" in first.stderr
        and "1000 new entries, 0 changed, 100 new matches" in first.stderr
    )
    assert len(first.stdout.splitlines()) == 100
    digest = json.loads(run_cli("digest", "--format", "json", "--config", str(config)).stdout)
    assert len(digest["stories"]) == 100

    second = run_cli("run", "--once", "--config", str(config))
    assert "200 feeds: 0 ok, 200 not modified, 0 unchanged" in second.stderr
    assert "0 new entries, 0 changed, 0 new matches; 0 notifications sent" in second.stderr
    assert second.stdout == ""


def test_a_body_served_again_is_not_parsed(
    tmp_path: Path, feed_server: FeedServer, run_cli: Cli
) -> None:
    """A server that ignores conditional requests sends the same bytes again: recognised by
    their fingerprint, nothing is parsed or stored; a changed body is read as usual."""
    url = feed_server.serve("/f.xml", rss("Wire", [("a", "TikTok one", "x")]), etag=False)
    config = write_config(tmp_path / "w.toml", [url], RULES)
    assert "1 feed: 1 ok" in run_cli("run", "--once", "--config", str(config)).stderr
    again = run_cli("run", "--once", "--config", str(config))
    said = "1 feed: 0 ok, 0 not modified, 1 unchanged, 0 failed; 0 new entries"
    assert said in again.stderr
    # The same cycle in the same words from `watcher status`, and the same counts as JSON.
    assert said in run_cli("status", "--config", str(config)).stdout
    status = json.loads(run_cli("status", "--json", "--config", str(config)).stdout)
    assert (status["last_cycle"]["not_modified"], status["last_cycle"]["unchanged"]) == (0, 1)
    assert "if-none-match" not in feed_server.requests[-1].headers
    [feed] = json.loads(run_cli("feeds", "--format", "json", "--config", str(config)).stdout)
    assert feed["last_status"] == "unchanged"
    feed_server.serve(
        "/f.xml", rss("Wire", [("a", "TikTok one", "x"), ("b", "TikTok two", "y")]), etag=False
    )
    changed = run_cli("run", "--once", "--config", str(config))
    assert "1 new entry," in changed.stderr and "[tiktok] TikTok two" in changed.stdout


def test_failing_feeds_back_off_and_gone_feeds_pause(
    tmp_path: Path, feed_server: FeedServer, run_cli: Cli
) -> None:
    """A 500 backs the feed off (the next --once skips it, --force does not); a 429's
    Retry-After pushes the next fetch out; a 410 pauses the feed until it is resumed."""
    failing = feed_server.serve("/500", "boom", status=500, etag=False)
    limited = feed_server.serve(
        "/429", "slow down", status=429, etag=False, headers={"Retry-After": "7200"}
    )
    gone = feed_server.serve("/410", "gone", status=410, etag=False)
    config = write_config(tmp_path / "w.toml", [failing, limited, gone], RULES)
    assert run_cli("run", "--once", "--config", str(config)).exit_code == 1
    states = {
        f["url"]: f
        for f in json.loads(run_cli("feeds", "--format", "json", "--config", str(config)).stdout)
    }
    assert states[failing]["failures"] == 1 and not states[failing]["paused"]
    assert states[gone]["paused"]
    pushed = datetime.fromisoformat(states[limited]["next_fetch"])
    assert pushed - datetime.now(UTC) > timedelta(minutes=110)

    hits = len(feed_server.requests)
    again = run_cli("run", "--once", "--config", str(config))
    assert again.stderr.count("SKIPPED") == 3 and len(feed_server.requests) == hits
    forced = run_cli("run", "--once", "--force", "--config", str(config))
    assert "SKIPPED" not in forced.stderr and len(feed_server.requests) == hits + 3

    feed_server.serve("/410", rss("Back", [("b1", "TikTok returns", "x")]))
    resumed = run_cli("feeds", "resume", gone, "--config", str(config))
    assert resumed.stdout == f"resumed {gone}\n"
    assert run_cli("feeds", "resume", "nothing", "--config", str(config)).exit_code == 1
    back = run_cli("run", "--once", "--config", str(config))
    assert "[tiktok] TikTok returns" in back.stdout
