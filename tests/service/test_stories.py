"""Each story once: identity across guid churn and tracking parameters, revisions with diffs,
stories across feeds, and retention. Feeds are served on 127.0.0.1; the real command runs."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from click.testing import Result

from tests.conftest import SmtpSink
from tests.servers import FeedServer, rss

Cli = Callable[..., Result]
PUB = "Mon, 15 Sep 2025 10:00:00 GMT"


def config(
    tmp_path: Path, urls: list[str], rule: str = "query = 'TikTok'", watcher: str = ""
) -> Path:
    path = tmp_path / "w.toml"
    feeds = "".join(f'[[feeds]]\nurl = "{url}"\n' for url in urls)
    path.write_text(
        f'[watcher]\ndatabase = "sqlite:///{tmp_path / "w.db"}"\nnotify_backlog = true\n'
        f"{watcher}\n{feeds}"
        f'[[rules]]\nname = "tiktok"\n{rule}\n'
    )
    return path


def counts(tmp_path: Path) -> dict[str, int]:
    with sqlite3.connect(tmp_path / "w.db") as conn:
        return {
            "entries": conn.execute("SELECT count(*) FROM entries").fetchone()[0],
            "revisions": conn.execute("SELECT count(*) FROM revisions").fetchone()[0],
            "stories": conn.execute("SELECT count(DISTINCT story_id) FROM entries").fetchone()[0],
            "deliveries": conn.execute("SELECT count(*) FROM deliveries").fetchone()[0],
        }


def run(run_cli: Cli, path: Path) -> list[str]:
    """One ``watcher run --once``; the notifications it printed (no targets: the console)."""
    result = run_cli("run", "--once", "--config", str(path))
    assert result.exit_code == 0, result.output
    return result.stdout.splitlines()


def test_guid_churn(tmp_path: Path, feed_server: FeedServer, run_cli: Cli) -> None:
    """A feed that regenerates every guid on every fetch: the entry is recognised by its link,
    stored once, notified once, and the feed is flagged as churning."""
    item = {"title": "TikTok deal near", "link": "https://news.example/a", "pubDate": PUB}
    url = feed_server.serve("/f.xml", rss("Wire", [{**item, "guid": "g-1"}]))
    path = config(tmp_path, [url])
    assert len(run(run_cli, path)) == 1
    for n in range(2, 5):
        feed_server.serve("/f.xml", rss("Wire", [{**item, "guid": f"g-{n}"}]))
        assert run(run_cli, path) == []
    assert counts(tmp_path)["entries"] == 1 and counts(tmp_path)["deliveries"] == 1
    [feed] = json.loads(run_cli("feeds", "--format", "json", "--config", str(path)).stdout)
    assert feed["guid_churn"] == 3


def test_same_article_in_two_sections(
    tmp_path: Path, feed_server: FeedServer, run_cli: Cli
) -> None:
    """One outlet's article in its world and business feeds, with different utm_ parameters:
    two entries, one story, one notification."""
    world = feed_server.serve("/world.xml", rss("Wire", [{
        "guid": "w-1", "title": "TikTok sale approved", "pubDate": PUB,
        "link": "https://news.example/tiktok-sale?utm_source=world&amp;utm_medium=rss",
    }]))  # fmt: skip
    business = feed_server.serve("/business.xml", rss("Wire", [{
        "guid": "b-9", "title": "TikTok sale approved by regulators", "pubDate": PUB,
        "link": "https://news.example/tiktok-sale?utm_source=business&amp;fbclid=abc",
    }]))  # fmt: skip
    path = config(tmp_path, [world, business])
    assert len(run(run_cli, path)) == 1
    assert counts(tmp_path) == {"entries": 2, "revisions": 0, "stories": 1, "deliveries": 1}
    with sqlite3.connect(tmp_path / "w.db") as conn:
        links = {row[0] for row in conn.execute("SELECT link FROM entries")}
    assert links == {"https://news.example/tiktok-sale"}


WIRE = (
    "ByteDance and a group of US investors agreed a framework for the sale of TikTok's US "
    "operations, officials said on Monday, ahead of the divestiture deadline in December."
)


def test_wire_story_in_five_outlets(tmp_path: Path, feed_server: FeedServer, run_cli: Cli) -> None:
    """One wire story republished by five outlets with different headlines and links: five
    entries, one story, one notification; the digest shows it once, reported by five."""
    headlines = [
        "TikTok deal framework agreed ahead of deadline",
        "TikTok deal framework agreed ahead of December deadline",
        "Framework agreed for TikTok deal ahead of deadline",
        "TikTok deal: framework agreed ahead of deadline",
        "TikTok deal framework is agreed ahead of the deadline",
    ]
    urls = [
        feed_server.serve(
            f"/o{n}.xml",
            rss(
                f"Outlet {n}",
                [
                    {
                        "guid": f"o{n}-1",
                        "title": title,
                        "description": WIRE,
                        "pubDate": PUB,
                        "link": f"https://outlet{n}.example/story-{n}",
                    }
                ],
            ),
        )
        for n, title in enumerate(headlines)
    ]
    path = config(tmp_path, urls)
    assert len(run(run_cli, path)) == 1
    assert counts(tmp_path) == {"entries": 5, "revisions": 0, "stories": 1, "deliveries": 1}
    digest = json.loads(run_cli("digest", "--format", "json", "--config", str(path)).stdout)
    [story] = digest["stories"]
    sources = [story["source"], *story["other_sources"]]
    assert sorted(sources) == [f"Outlet {n}" for n in range(5)]
    assert sorted(e["source"] for e in story["entries"]) == sorted(sources)
    markdown = run_cli("digest", "--format", "markdown", "--config", str(path)).stdout
    assert "; also Outlet " in markdown


def test_unrelated_stories_stay_apart(
    tmp_path: Path, feed_server: FeedServer, run_cli: Cli
) -> None:
    """Two entries about TikTok that tell different stories stay two stories."""
    urls = [
        feed_server.serve("/a.xml", rss("Wire", [{"guid": "a", "title": "TikTok deal agreed",
                                          "description": WIRE, "pubDate": PUB}])),
        feed_server.serve("/b.xml", rss("Wire", [{"guid": "b",
                                          "title": "TikTok star launches a label",
                                          "description": "The singer announced a new record "
                                          "label for emerging artists in Seoul.",
                                          "pubDate": PUB}])),
    ]  # fmt: skip
    path = config(tmp_path, urls)
    assert len(run(run_cli, path)) == 2
    assert counts(tmp_path)["stories"] == 2


def rewrite(feed_server: FeedServer, titles: list[str]) -> list[dict[str, Any]]:
    return [{"guid": "x-1", "link": "https://news.example/x", "title": t, "pubDate": PUB,
             "description": "Negotiators met in Madrid."} for t in titles]  # fmt: skip


def test_headline_rewritten_three_times(
    tmp_path: Path, feed_server: FeedServer, run_cli: Cli
) -> None:
    """A breaking story's headline rewritten three times: one entry, three revisions, and,
    with notify_on = ["new", "changed"], one notification for each, with a word-level diff."""
    titles = [
        "TikTok talks begin",
        "TikTok talks stall",
        "TikTok talks resume",
        "TikTok deal reached",
    ]
    url = feed_server.serve("/f.xml", rss("Wire", rewrite(feed_server, titles[:1])))
    path = config(tmp_path, [url], "query = 'TikTok'\nnotify_on = ['new', 'changed']")
    printed = run(run_cli, path)
    for title in titles[1:]:
        feed_server.serve("/f.xml", rss("Wire", rewrite(feed_server, [title])))
        printed += run(run_cli, path)
    assert counts(tmp_path) == {"entries": 1, "revisions": 3, "stories": 1, "deliveries": 4}
    assert [line.split(" —")[0] for line in printed] == [
        "[tiktok] TikTok talks begin",
        "[tiktok] (updated) TikTok talks stall",
        "[tiktok] (updated) TikTok talks resume",
        "[tiktok] (updated) TikTok deal reached",
    ]
    shown = run_cli("show", "1", "--config", str(path)).stdout
    assert "title:   TikTok talks [-begin-]{+stall+}" in shown
    assert "title:   TikTok [-talks resume-]{+deal reached+}" in shown
    data = json.loads(run_cli("show", "1", "--format", "json", "--config", str(path)).stdout)
    assert [r["title"] for r in data["revisions"]] == titles[:3]
    assert [d["revision"] for d in data["deliveries"]] == [0, 1, 2, 3]


def test_changes_notify_only_when_asked(
    tmp_path: Path, feed_server: FeedServer, run_cli: Cli
) -> None:
    """A rewritten headline is stored as a revision but notifies only rules that ask for changes."""
    url = feed_server.serve("/f.xml", rss("Wire", rewrite(feed_server, ["TikTok talks begin"])))
    path = config(tmp_path, [url])
    assert len(run(run_cli, path)) == 1
    feed_server.serve("/f.xml", rss("Wire", rewrite(feed_server, ["TikTok talks stall"])))
    assert run(run_cli, path) == []
    assert counts(tmp_path)["revisions"] == 1


def test_a_change_that_makes_a_rule_match_is_a_new_match(
    tmp_path: Path, feed_server: FeedServer, run_cli: Cli
) -> None:
    """A rewrite that makes a rule match for the first time notifies it as new."""
    url = feed_server.serve("/f.xml", rss("Wire", rewrite(feed_server, ["Talks begin in Madrid"])))
    path = config(tmp_path, [url])
    assert run(run_cli, path) == []
    feed_server.serve("/f.xml", rss("Wire", rewrite(feed_server, ["TikTok talks begin in Madrid"])))
    assert [line.split(" —")[0] for line in run(run_cli, path)] == [
        "[tiktok] TikTok talks begin in Madrid"
    ]


def test_whitespace_and_markup_edits_are_not_revisions(
    tmp_path: Path, feed_server: FeedServer, run_cli: Cli
) -> None:
    """Edits to whitespace and markup only are not revisions and notify nothing."""
    item = {"guid": "w", "title": "TikTok deal", "pubDate": PUB,
            "description": "&lt;p&gt;The deal was agreed.&lt;/p&gt;"}  # fmt: skip
    url = feed_server.serve("/f.xml", rss("Wire", [item]))
    path = config(tmp_path, [url], "query = 'TikTok'\nnotify_on = ['new', 'changed']")
    run(run_cli, path)
    edited = {
        **item,
        "description": "&lt;div&gt;The  deal\n was &lt;b&gt;agreed.&lt;/b&gt;&lt;/div&gt;",
    }
    feed_server.serve("/f.xml", rss("Wire", [edited]))
    assert run(run_cli, path) == []
    assert counts(tmp_path)["revisions"] == 0


def test_entry_without_guid_or_link(tmp_path: Path, feed_server: FeedServer, run_cli: Cli) -> None:
    """Identified by its title and date: stored once however often it is fetched."""
    item = {"title": "TikTok statement", "description": "Text", "pubDate": PUB}
    url = feed_server.serve("/f.xml", rss("Wire", [item]))
    path = config(tmp_path, [url])
    assert len(run(run_cli, path)) == 1
    feed_server.serve("/f.xml", rss("Wire", [item, {"title": "Other", "pubDate": PUB}]))
    assert run(run_cli, path) == []
    assert counts(tmp_path)["entries"] == 2


def test_relative_links_with_xml_base(
    tmp_path: Path, feed_server: FeedServer, run_cli: Cli
) -> None:
    """Relative links are resolved against xml:base, and tracking parameters removed."""
    atom = (
        '<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom" '
        'xml:base="https://base.example/news/"><title>Base</title><id>urn:x</id>'
        "<updated>2025-09-15T10:00:00Z</updated>"
        '<entry><id>urn:1</id><title>TikTok</title><link href="2025/tiktok?utm_source=x"/>'
        "<updated>2025-09-15T10:00:00Z</updated></entry></feed>"
    )
    url = feed_server.serve("/atom.xml", atom)
    path = config(tmp_path, [url])
    [line] = run(run_cli, path)
    assert "https://base.example/news/2025/tiktok " in line


def test_retention_prunes_bodies_but_not_identity(
    tmp_path: Path, feed_server: FeedServer, run_cli: Cli
) -> None:
    """After pruning, an old entry that reappears is not new: it never notifies again."""
    item = {"guid": "r", "title": "TikTok deal", "description": "Long body " * 50, "pubDate": PUB}
    url = feed_server.serve("/f.xml", rss("Wire", [item]))
    path = config(tmp_path, [url], watcher='retention = "90d"')
    assert len(run(run_cli, path)) == 1
    with sqlite3.connect(tmp_path / "w.db") as conn:  # as if it had been stored long ago
        conn.execute("UPDATE entries SET first_seen_at = '2020-01-01 00:00:00.000000'")
    pruned = run_cli("prune", "--config", str(path))
    assert pruned.exit_code == 0
    assert pruned.stdout.startswith("pruned 1 entry body, 0 revisions")
    assert "database" in pruned.stdout and "→" in pruned.stdout
    with sqlite3.connect(tmp_path / "w.db") as conn:
        assert conn.execute("SELECT summary, pruned_at IS NOT NULL FROM entries").fetchone() == (
            "",
            1,
        )
    feed_server.serve("/f.xml", rss("Wire", [{**item, "description": "Edited body"}]) + " ")
    assert run(run_cli, path) == []


def test_word_diff_marks_changes() -> None:
    """The word diff marks deleted and added words, escaped for each format."""
    from watcher.render.alerts import format_diff

    assert format_diff("Talks begin in Madrid", "Talks stall in Madrid today", "text") == (
        "Talks [-begin-]{+stall+} in Madrid {+today+}"
    )
    assert format_diff("Talks begin", "Talks <stall>", "html") == (
        "Talks <del>begin</del><ins>&lt;stall&gt;</ins>"
    )
    assert format_diff("a b", "a c", "markdown") == "a ~~b~~**c**"


def test_first_sight_is_backlog(tmp_path: Path, feed_server: FeedServer, run_cli: Cli) -> None:
    """What a feed holds when first read (and anything dated over a day back) is stored and
    matched but not notified, unless notify_backlog; what comes after is news."""
    from email.utils import format_datetime

    now = datetime.now(UTC)
    old = [{"guid": f"old-{n}", "title": f"TikTok story {n}", "pubDate": PUB} for n in range(3)]
    url = feed_server.serve("/f.xml", rss("Wire", old))
    path = tmp_path / "w.toml"
    path.write_text(
        f'[watcher]\ndatabase = "sqlite:///{tmp_path / "w.db"}"\n[[feeds]]\nurl = "{url}"\n'
        "[[rules]]\nname = \"tiktok\"\nquery = 'TikTok'\n"
    )
    assert run(run_cli, path) == []
    digest = json.loads(run_cli("digest", "--format", "json", "--config", str(path)).stdout)
    assert len(digest["stories"]) == 3
    fresh = {"guid": "new", "title": "TikTok news today",
             "pubDate": format_datetime(now, usegmt=True)}  # fmt: skip
    stale = {"guid": "late", "title": "TikTok story from last week",
             "pubDate": format_datetime(now - timedelta(days=7), usegmt=True)}  # fmt: skip
    feed_server.serve("/f.xml", rss("Wire", [fresh, stale, *old]))
    assert [line.split(" —")[0] for line in run(run_cli, path)] == ["[tiktok] TikTok news today"]
    assert counts(tmp_path)["entries"] == 5


def test_highlights_follow_the_words_after_a_revision(
    tmp_path: Path, feed_server: FeedServer, smtp_server: SmtpSink, run_cli: Cli
) -> None:
    """A title rewritten under the same guid moves the matched word: the digest (every
    format), ``show``, the "(updated)" email and the JSON evidence all mark "TikTok" in the new
    title, never the characters where it stood in the old one."""
    old, new = (
        "Deadline extended again for TikTok sale",
        "Trump extends the deadline once more for the TikTok sale to Oracle",
    )
    item = {"guid": "g-1", "link": "https://news.example/tt", "pubDate": PUB,
            "description": "Talks continue."}  # fmt: skip
    url = feed_server.serve("/f.xml", rss("Wire", [{**item, "title": old}]))
    path = config(tmp_path, [url], "query = 'TikTok'\nnotify_on = ['new', 'changed']")
    with path.open("a") as file:
        file.write(f'[targets.desk]\nurl = "{smtp_server.url()}"\n')
    assert run_cli("run", "--once", "--config", str(path)).exit_code == 0
    feed_server.serve("/f.xml", rss("Wire", [{**item, "title": new}]))
    second = run_cli("run", "--once", "--config", str(path))
    assert second.exit_code == 0, second.output

    at = new.index("TikTok")
    data = json.loads(run_cli("digest", "--format", "json", "--config", str(path)).stdout)
    [story] = data["stories"]
    assert story["title"] == new
    assert story["matches"] == [{"field": "title", "start": at, "end": at + 6, "term": "TikTok"}]
    markdown = run_cli("digest", "--format", "markdown", "--config", str(path)).stdout
    assert "the **TikTok** sale to Oracle" in markdown and "**nce mo**" not in markdown
    page = run_cli("digest", "--format", "html", "--config", str(path)).stdout
    assert "<b>TikTok</b>" in page and "<b>nce mo</b>" not in page
    plain = run_cli("digest", "--config", str(path)).stdout
    assert "the [TikTok] sale to Oracle" in plain and "o[nce mo]re" not in plain
    shown = run_cli("show", "1", "--format", "json", "--config", str(path)).stdout
    [match] = json.loads(shown)["matches"]
    assert match["hits"] == [{"field": "title", "start": at, "end": at + 6, "term": "TikTok"}]

    first, updated = smtp_server.messages
    assert first["Subject"] == f"[tiktok] {old}"
    assert updated["Subject"] == f"[tiktok] (updated) {new}"
    body = updated.get_body(("html",))
    assert body is not None
    content = body.get_content()
    assert "the <b>TikTok</b> sale to Oracle" in content
    assert content.count("<b>") == 1  # only the word itself, never ": the " or a stale span


def test_a_rule_the_new_version_no_longer_matches_keeps_no_stale_evidence(
    tmp_path: Path, feed_server: FeedServer, run_cli: Cli
) -> None:
    """The match stays (it was notified) with the terms it was made on, but no offsets: the
    old ones would mark arbitrary characters of the new title."""
    item = {"guid": "g-2", "pubDate": PUB, "description": "Talks continue."}
    url = feed_server.serve(
        "/f.xml", rss("Wire", [{**item, "title": "TikTok sale deadline extended"}])
    )
    path = config(tmp_path, [url])
    assert len(run(run_cli, path)) == 1
    feed_server.serve(
        "/f.xml", rss("Wire", [{**item, "title": "App sale deadline extended once more"}])
    )
    assert run(run_cli, path) == []
    [story] = json.loads(run_cli("digest", "--format", "json", "--config", str(path)).stdout)[
        "stories"
    ]
    assert (story["matches"], story["terms"]) == ([], ["TikTok"])
    plain = run_cli("digest", "--config", str(path)).stdout
    [line] = [line for line in plain.splitlines() if "#1" in line]
    assert "App sale deadline extended once more (changed)" in line and "[" not in line


def json_feed(title: str, items: list[dict[str, Any]]) -> str:
    return json.dumps(
        {"version": "https://jsonfeed.org/version/1.1", "title": title, "items": items}
    )


def test_a_json_feed_is_one_more_outlet(
    tmp_path: Path, feed_server: FeedServer, run_cli: Cli
) -> None:
    """A JSON Feed goes through identity, clustering and matching like RSS: its copy of a wire
    story an RSS outlet also carries joins that story (one alert, both sources), a match in
    its HTML content alone is found, and a rewritten headline under the same id is a
    revision, not a new entry."""
    wire = {
        "guid": "r-1",
        "title": "TikTok deal framework agreed ahead of deadline",
        "description": WIRE,
        "pubDate": PUB,
        "link": "https://rss.example/story",
    }
    copy = {
        "id": "j-1",
        "url": "https://json.example/story",
        "content_html": f"<p>{WIRE}</p>",
        "title": "Framework agreed for TikTok deal ahead of deadline",
        "date_published": "2025-09-15T10:00:00Z",
    }
    inside = {
        "id": "j-2",
        "url": "https://json.example/other",
        "title": "Markets today",
        "content_html": "<p>Shares of <b>ByteDance</b> partners rose.</p>",
        "date_published": "2025-09-15T11:00:00Z",
    }
    served = {"Content-Type": "application/feed+json"}
    rss_url = feed_server.serve("/wire.xml", rss("RSS Outlet", [wire]))
    json_url = feed_server.serve(
        "/feed.json", json_feed("JSON Outlet", [copy, inside]), headers=served
    )
    path = config(tmp_path, [rss_url, json_url], "query = 'TikTok OR ByteDance'")
    printed = [line.split(" —")[0].removeprefix("[tiktok] ") for line in run(run_cli, path)]
    [story_alert] = [title for title in printed if title != "Markets today"]  # one, not two
    assert story_alert in (wire["title"], copy["title"]) and "Markets today" in printed
    assert counts(tmp_path) == {"entries": 3, "revisions": 0, "stories": 2, "deliveries": 2}
    digest = json.loads(run_cli("digest", "--format", "json", "--config", str(path)).stdout)
    [story] = [s for s in digest["stories"] if s["other_sources"]]
    assert sorted([story["source"], *story["other_sources"]]) == ["JSON Outlet", "RSS Outlet"]

    rewritten = {**copy, "title": "Framework agreed for TikTok deal, hours before deadline"}
    feed_server.serve("/feed.json", json_feed("JSON Outlet", [rewritten, inside]), headers=served)
    assert run(run_cli, path) == []
    assert counts(tmp_path) == {"entries": 3, "revisions": 1, "stories": 2, "deliveries": 2}


def test_json_feeds_of_every_shape_over_http(
    tmp_path: Path, feed_server: FeedServer, run_cli: Cli
) -> None:
    """JSON Feed 1.0 (served as application/json), 1.1 (application/feed+json) and one served
    as text/plain are read over HTTP; a hostile one (nested 100,000 deep) and one with a
    mistyped field fail alone, each with its reason, while the rest are stored."""
    v1 = json.dumps({"version": "https://jsonfeed.org/version/1", "title": "Old Blog",
                     "author": {"name": "Ana"},
                     "items": [{"id": 1, "content_text": "TikTok sale talks go on.",
                                "url": "https://old.example/1"}]})  # fmt: skip
    v11 = json_feed("New Blog", [{"id": "n1", "title": "TikTok deadline moves",
                                  "content_html": "<p>Again.</p>", "authors": [{"name": "Bo"}],
                                  "tags": ["tech"]}])  # fmt: skip
    plain = json_feed("Plain Blog", [{"id": "p1", "title": "TikTok in plain text"}])
    deep = '{"version": "https://jsonfeed.org/version/1.1", "items": ' + "[" * 100_000
    mistyped = json_feed("Bad Blog", [{"id": "b1", "title": ["not", "a", "string"]}])
    urls = [
        feed_server.serve("/v1.json", v1, headers={"Content-Type": "application/json"}),
        feed_server.serve("/v11.json", v11, headers={"Content-Type": "application/feed+json"}),
        feed_server.serve("/plain.txt", plain, headers={"Content-Type": "text/plain"}),
        feed_server.serve("/deep.json", deep, headers={"Content-Type": "application/json"}),
        feed_server.serve("/bad.json", mistyped, headers={"Content-Type": "application/json"}),
    ]
    path = config(tmp_path, urls)
    result = run_cli("run", "--once", "--config", str(path))
    assert result.exit_code == 1  # two feeds failed
    assert sorted(line.split(" —")[0] for line in result.stdout.splitlines()) == [
        "[tiktok] (untitled)",
        "[tiktok] TikTok deadline moves",
        "[tiktok] TikTok in plain text",
    ]
    assert f"({urls[3]}): JSON nested too deeply" in result.stderr
    assert f"({urls[4]}): invalid JSON Feed: items.0.title: Input should be a valid string" in (
        result.stderr
    )
    digest = json.loads(run_cli("digest", "--format", "json", "--config", str(path)).stdout)
    sources = {story["source"] for story in digest["stories"]}
    assert sources == {"Old Blog", "New Blog", "Plain Blog"}
