"""Feeds managed from the command line: ``feeds add`` (checked by a real fetch), ``remove``,
OPML ``import``/``export`` (nested, odd, hostile and peer-written files), rules added and
removed, and the rest of the CLI's manners: --json, shell completion, progress only on a
terminal."""

from __future__ import annotations

import json
import os
import pty
import select
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from click.testing import Result

from tests.conftest import write_config
from tests.servers import FeedServer, rss

Cli = Callable[..., Result]
ITEMS = [("a", "TikTok deal talks resume", ""), ("b", "Weather", "")]


def test_add_checks_the_feed_then_it_is_polled(
    tmp_path: Path, feed_server: FeedServer, run_cli: Cli
) -> None:
    """feeds add fetches the feed once to check it, refuses a page, says when it is already watched,
    and the next run polls it."""
    declared = feed_server.serve("/declared.xml", rss("Declared", []))
    extra = feed_server.serve("/extra.xml", rss("Extra Wire", ITEMS))
    page = feed_server.serve("/page.html", "<html><body>hello</body></html>")
    config = write_config(tmp_path / "w.toml", [declared])
    options = ["--config", str(config)]

    added = run_cli("feeds", "add", extra, "--name", "Extra", "--interval", "30m", *options)
    assert added.exit_code == 0, added.output
    assert added.stdout == f"added {extra}: Extra Wire, 2 items\n"
    assert run_cli("feeds", "add", extra, *options).stdout == f"already watched: {extra}\n"
    assert run_cli("feeds", "add", declared, *options).stdout == f"already watched: {declared}\n"
    refused = run_cli("feeds", "add", page, *options)
    assert refused.exit_code == 1
    assert refused.stderr.startswith(f"not added: {page}: an HTML page that links to no feed (")
    bad = run_cli("feeds", "add", extra, "--interval", "soon", *options)
    assert bad.exit_code == 2

    described = run_cli("check-config", *options).stdout
    assert f"feeds added with `watcher feeds add` (1):\n  - Extra: {extra} (every 30m)" in described

    hits = feed_server.hits("/extra.xml")
    assert run_cli("run", "--once", *options).exit_code == 0
    assert feed_server.hits("/extra.xml") == hits + 1
    listed = json.loads(run_cli("feeds", "--json", *options).stdout)
    assert {f["url"]: f["entries"] for f in listed} == {declared: 0, extra: 2}


def test_remove_keeps_entries_unless_purged(
    tmp_path: Path, feed_server: FeedServer, run_cli: Cli
) -> None:
    """feeds remove (by URL or name) keeps the entries unless --purge, and refuses a feed the config
    declares."""
    declared = feed_server.serve("/declared.xml", rss("Declared", []))
    extra = feed_server.serve("/extra.xml", rss("Extra Wire", ITEMS))
    other = feed_server.serve("/other.xml", rss("Other", [("c", "ByteDance files", "")]))
    config = write_config(tmp_path / "w.toml", [declared])
    options = ["--config", str(config)]
    for url in (extra, other):
        assert run_cli("feeds", "add", url, *options).exit_code == 0
    assert run_cli("run", "--once", *options).exit_code == 0

    removed = run_cli("feeds", "remove", "Extra Wire", *options)  # by its title
    assert removed.stdout == f"removed {extra} (its entries are kept)\n"
    purged = run_cli("feeds", "remove", other, "--purge", *options)
    assert purged.stdout == f"removed {other} and its entries\n"
    refused = run_cli("feeds", "remove", declared, *options)
    assert refused.exit_code == 2 and f"declared in {config}" in refused.stderr
    missing = run_cli("feeds", "remove", "nope", *options)
    assert missing.exit_code == 1 and "no feed 'nope' is watched" in missing.stderr

    digest = json.loads(run_cli("digest", "--format", "json", *options).stdout)
    assert [s["title"] for s in digest["stories"]] == ["TikTok deal talks resume"]
    hits = feed_server.hits("/extra.xml")
    run_cli("run", "--once", *options)
    assert feed_server.hits("/extra.xml") == hits  # no longer polled


def test_rules_added_from_the_cli(tmp_path: Path, feed_server: FeedServer, run_cli: Cli) -> None:
    """rules add stores a rule beside the config's (checked, with its targets), and it matches from
    the next run."""
    url = feed_server.serve("/f.xml", rss("Wire", [("a", "TikTok deal signed in Madrid", "")]))
    config = write_config(tmp_path / "w.toml", [url], targets={"desk": "json://127.0.0.1:9"})
    options = ["--config", str(config)]
    added = run_cli("rules", "add", "madrid", "Madrid AND deal", "--notify", "desk", *options)
    assert added.stdout == "added rule madrid: Madrid AND deal\n"
    assert run_cli("rules", "add", "madrid", "Madrid", *options).exit_code == 1
    assert run_cli("rules", "add", "tiktok", "TikTok", *options).exit_code == 2  # in the file
    assert run_cli("rules", "add", "x", "((", *options).exit_code == 2
    unknown = run_cli("rules", "add", "x", "Madrid", "--notify", "nope", *options)
    assert unknown.exit_code == 2 and "unknown target 'nope'" in unknown.output
    assert "rules added with `watcher rules add` (1):\n  - madrid: Madrid AND deal -> desk" in (
        run_cli("check-config", *options).stdout
    )

    run_cli("run", "--once", *options)
    listed = json.loads(run_cli("rules", "--json", *options).stdout)
    assert [(r["name"], r["origin"], r["matches_24h"]) for r in listed] == [
        ("tiktok", "config", 1),
        ("madrid", "cli", 1),
    ]
    assert run_cli("rules", "remove", "madrid", *options).stdout == "removed rule madrid\n"
    assert run_cli("rules", "remove", "madrid", *options).exit_code == 1
    assert run_cli("rules", "remove", "tiktok", *options).exit_code == 2
    assert [r["name"] for r in json.loads(run_cli("rules", "--json", *options).stdout)] == [
        "tiktok"
    ]


NESTED = """<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE opml [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>
<opml version="1.0">
  <head><title>Mixed &amp; odd</title></head>
  <body>
    <outline text="News">
      <outline text="Trade" title="Trade desk">
        <outline type="rss" text="Wire" xmlUrl="{wire}" htmlUrl="https://wire.example/"/>
        <outline TEXT="Post" XMLURL="{post}" category="/politics" isComment="false"/>
      </outline>
      <outline text="a page, not a feed" url="https://example.org/" type="link"/>
      <outline text="&b;" xmlUrl="{wire}"/>
    </outline>
    <outline text="not a feed" xmlUrl="mailto:someone@example.org"/>
  </body>
</opml>
"""

# Miniflux's export, as it writes it (categories as folders, feeds with title and text).
MINIFLUX = """<?xml version="1.0" encoding="UTF-8"?>
<opml version="2.0">
    <head>
        <title>Miniflux</title>
        <dateCreated>Mon, 14 Sep 2026 08:00:00 UTC</dateCreated>
    </head>
    <body>
        <outline text="Trade">
            <outline title="Harbour Business Review" text="Harbour Business Review" \
xmlUrl="https://hbr.example/feed.xml" htmlUrl="https://hbr.example/" description=""></outline>
        </outline>
        <outline text="All">
            <outline title="Tech Daily" text="Tech Daily" xmlUrl="https://tech.example/rss" \
htmlUrl="https://tech.example/" description=""></outline>
        </outline>
    </body>
</opml>
"""


def test_opml_entities_are_never_expanded() -> None:
    """An internal entity in an attribute stays the literal text ``&x;`` (lxml would expand
    it even with resolve_entities off); an external one is not fetched; nothing fails."""
    from watcher.parsing.opml import read_opml

    data = (
        b'<?xml version="1.0"?>\n<!DOCTYPE opml [<!ENTITY x "Evil Name">'
        b'<!ENTITY ext SYSTEM "file:///etc/passwd">]>\n<opml version="2.0"><body>'
        b'<outline text="&x;" xmlUrl="https://a.example/f"/>'
        b'<outline text="&ext; &amp; co" xmlUrl="https://b.example/f"/></body></opml>'
    )
    titles = [outline.title for outline in read_opml(data)]
    assert titles == ["&x;", "&ext; & co"]


def test_import_nested_odd_and_hostile_opml(tmp_path: Path, run_cli: Cli) -> None:
    """OPML at any depth, in any attribute case, with entities and non-feed outlines, imports each
    feed once."""
    wire, post = "https://wire.example/rss", "https://post.example/atom"
    opml = tmp_path / "feeds.opml"
    opml.write_text(NESTED.format(wire=wire, post=post), encoding="utf-8")
    config = write_config(tmp_path / "w.toml", [])
    result = run_cli("feeds", "import", str(opml), "--config", str(config))
    assert result.exit_code == 0, result.output
    assert result.stdout == f"imported 2 feeds from {opml}\n"
    exported = run_cli("feeds", "export", "--config", str(config)).stdout
    assert f'title="Wire" xmlUrl="{wire}"' in exported
    assert f'title="Post" xmlUrl="{post}"' in exported
    assert "aaaaaaaaaa" not in exported  # the entity was never expanded

    again = run_cli("feeds", "import", str(opml), "--config", str(config))
    assert again.stdout == f"imported 0 feeds from {opml}; 2 were already watched\n"
    broken = tmp_path / "broken.opml"
    broken.write_text("<html><body>no</body></html>")
    refused = run_cli("feeds", "import", str(broken), "--config", str(config))
    assert refused.exit_code == 2 and "not an OPML document" in refused.stderr


def test_export_then_import_round_trips(
    tmp_path: Path, feed_server: FeedServer, run_cli: Cli
) -> None:
    """An export imported elsewhere gives the same feeds with the same names (from a Miniflux
    export)."""
    declared = feed_server.serve("/declared.xml", rss("Declared", []))
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first = write_config(tmp_path / "a" / "w.toml", [declared])
    second = write_config(tmp_path / "b" / "w.toml", [])
    peer = tmp_path / "miniflux.opml"
    peer.write_text(MINIFLUX, encoding="utf-8")
    assert run_cli("feeds", "import", str(peer), "--config", str(first)).exit_code == 0
    out = tmp_path / "export.opml"
    assert run_cli("feeds", "export", "-o", str(out), "--config", str(first)).exit_code == 0
    assert run_cli("feeds", "import", str(out), "--config", str(second)).exit_code == 0

    def listed(config: Path) -> set[tuple[str, str]]:
        data = json.loads(run_cli("feeds", "--json", "--config", str(config)).stdout)
        return {(f["url"], f["name"]) for f in data}

    assert listed(second) == {
        (declared, declared),
        ("https://hbr.example/feed.xml", "Harbour Business Review"),
        ("https://tech.example/rss", "Tech Daily"),
    }


def test_shell_completion_completes_commands_and_choices(tmp_path: Path) -> None:
    """The bash completion script completes command names and option choices, run for real."""
    script = subprocess.run(
        [sys.executable, "-m", "watcher", "completion", "bash"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    assert "_WATCHER_COMPLETE=bash_complete" in script
    env = {**os.environ, "_WATCHER_COMPLETE": "bash_complete"}
    for words, cword, expected in (
        ("watcher dig", "1", "plain,digest"),
        ("watcher digest --format c", "3", "plain,csv"),
    ):
        completed = subprocess.run(
            [sys.executable, "-m", "watcher"],
            env={**env, "COMP_WORDS": words, "COMP_CWORD": cword},
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        assert expected in completed.stdout.splitlines(), completed.stdout


def test_run_once_shows_progress_only_on_a_terminal(
    tmp_path: Path, feed_server: FeedServer
) -> None:
    """run --once draws a progress bar on a terminal and nothing of the kind when piped."""
    url = feed_server.serve("/f.xml", rss("Wire", ITEMS))
    config = write_config(tmp_path / "w.toml", [url])
    env = {k: v for k, v in os.environ.items() if k != "WATCHER_CONFIG"}
    command = [sys.executable, "-m", "watcher", "run", "--once", "--config", str(config)]
    leader, follower = pty.openpty()
    process = subprocess.Popen(command, stdout=follower, stderr=follower, env=env)
    os.close(follower)
    seen = b""
    while True:
        ready, _, _ = select.select([leader], [], [], 30)
        if not ready:
            break
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # the terminal closed with the process
            break
        if not chunk:
            break
        seen += chunk
    assert process.wait(timeout=30) == 0
    os.close(leader)
    assert b"fetching" in seen and b"1/1" in seen
    piped = subprocess.run(command, capture_output=True, env=env, check=True)
    assert b"fetching" not in piped.stderr and b"\x1b[" not in piped.stderr


PAGE = """<!DOCTYPE html>
<html><head><title>Site</title>
<base href="/news/">
<link rel="stylesheet alternate" type="text/css" href="print.css">
<link rel="alternate" type="application/rss+xml" title="World  news" href="world.xml">
<link rel="Alternate" type="application/atom+xml" href="{other}">
<link rel="alternate" type="application/feed+json; charset=utf-8" title="JSON" href="feed.json">
<link rel="alternate" type="application/rss+xml" title="Again" href="/news/world.xml">
<link rel="alternate" type="text/html" hreflang="fr" href="/fr/">
</head><body><link rel="alternate" type="application/rss+xml" href="/in-body.xml"></body></html>
"""


def test_add_finds_the_feeds_a_page_links_to(
    tmp_path: Path, feed_server: FeedServer, run_cli: Cli
) -> None:
    """Given a web page, `feeds add` lists the feeds its head links to (resolved against the
    page and its relative <base>, each once, no stylesheet, nothing from the body), adds the
    first or the one --pick chooses, and says which; a page with none is refused with what
    was looked for."""
    world = feed_server.serve("/news/world.xml", rss("World Wire", ITEMS))
    other = feed_server.serve("/elsewhere/other.atom", rss("Other", ITEMS))
    json_feed = json.dumps(
        {"version": "https://jsonfeed.org/version/1.1", "title": "Site JSON",
         "items": [{"id": "1", "title": "TikTok"}]}
    )  # fmt: skip
    feed_json = feed_server.serve(
        "/news/feed.json", json_feed, headers={"Content-Type": "application/feed+json"}
    )
    html = {"Content-Type": "text/html; charset=utf-8"}
    page = feed_server.serve("/site/index.html", PAGE.format(other=other), headers=html)
    config = write_config(tmp_path / "w.toml", [])
    options = ["--config", str(config)]

    added = run_cli("feeds", "add", page, *options)
    assert added.exit_code == 0, added.output
    assert added.stdout == (
        f"{page} is a web page; it links to 3 feeds:\n"
        f"  1. World news (RSS) {world}\n"
        f"  2. (Atom) {other}\n"
        f"  3. JSON (JSON Feed) {feed_json}\n"
        f"added {world}: World Wire, 2 items (feed 1 of the page; --pick N for another)\n"
    )
    picked = run_cli("feeds", "add", page, "--pick", "3", "--category", " Blogs ", *options)
    assert picked.exit_code == 0, picked.output
    assert picked.stdout.endswith(f"added {feed_json}: Site JSON, 1 item (feed 3 of the page; "
                                  "--pick N for another)\n")  # fmt: skip
    again = run_cli("feeds", "add", page, *options)
    assert again.stdout.endswith(f"already watched: {world}\n")
    too_far = run_cli("feeds", "add", page, "--pick", "4", *options)
    assert too_far.exit_code == 1
    assert too_far.stderr == f"not added: {page}: --pick 4, but the page links to 3 feed(s)\n"
    listed = json.loads(run_cli("feeds", "--json", *options).stdout)
    assert sorted((feed["url"], feed["category"]) for feed in listed) == sorted(
        [(world, None), (feed_json, "Blogs")]
    )

    bare = feed_server.serve(
        "/bare.html", "<html><head><title>x</title></head></html>", headers=html
    )
    refused = run_cli("feeds", "add", bare, *options)
    assert refused.exit_code == 1
    assert refused.stderr == (
        f'not added: {bare}: an HTML page that links to no feed (looked for <link rel="alternate"> '
        "of type application/rss+xml, application/atom+xml, application/feed+json, "
        "application/rdf+xml)\n"
    )


def test_import_finds_the_feed_of_an_entry_that_gives_only_a_page(
    tmp_path: Path, feed_server: FeedServer, run_cli: Cli
) -> None:
    """An OPML entry with only an htmlUrl gets the first feed its page links to; one whose
    page links to none is named on stderr and left out; the rest import as usual."""
    html = {"Content-Type": "text/html"}
    world = feed_server.serve("/news/world.xml", rss("World Wire", ITEMS))
    other = feed_server.serve("/elsewhere/other.atom", rss("Other", ITEMS))
    page = feed_server.serve("/site/index.html", PAGE.format(other=other), headers=html)
    bare = feed_server.serve("/bare.html", "<html><head></head><body>x</body></html>", headers=html)
    plain = feed_server.serve("/plain.xml", rss("Plain", ITEMS))
    opml = tmp_path / "pages.opml"
    opml.write_text(
        '<?xml version="1.0"?><opml version="2.0"><body><outline text="Desk">'
        f'<outline text="Site" htmlUrl="{page}"/><outline text="Bare" htmlUrl="{bare}"/>'
        f'<outline text="Plain" xmlUrl="{plain}" htmlUrl="{bare}"/></outline></body></opml>'
    )
    config = write_config(tmp_path / "w.toml", [])
    result = run_cli("feeds", "import", str(opml), "--config", str(config))
    assert result.exit_code == 0, result.output
    assert result.stdout == (
        f"{page} is a web page: its feed {world}\nimported 2 feeds from {opml}\n"
    )
    assert result.stderr == f"no feed for {bare}: it links to none\n"
    listed = json.loads(run_cli("feeds", "--json", "--config", str(config)).stdout)
    assert sorted((feed["url"], feed["name"]) for feed in listed) == sorted(
        [(world, "Site"), (plain, "Plain")]
    )


# FreshRSS's export: categories as folders, each feed with type, text, xmlUrl, htmlUrl.
FRESHRSS = """<?xml version="1.0" encoding="UTF-8"?>
<opml version="2.0">
\t<head><title>FreshRSS</title><dateCreated>Tue, 15 Sep 2026 08:00:00 +0000</dateCreated></head>
\t<body>
\t\t<outline text="China">
\t\t\t<outline text="Xinhua Wire" type="rss" xmlUrl="https://xinhua.example/rss" \
htmlUrl="https://xinhua.example/" description="" />
\t\t</outline>
\t</body>
</opml>
"""
# NetNewsWire's: folders nest, feeds carry title, text, description and version.
NETNEWSWIRE = """<?xml version="1.0" encoding="UTF-8"?>
<!-- OPML generated by NetNewsWire -->
<opml version="1.1">
\t<head><title>Subscriptions-OnMyMac.opml</title></head>
<body>
\t<outline text="Asia" title="Asia">
\t\t<outline text="Japan" title="Japan">
\t\t\t<outline text="Nikkei" title="Nikkei" description="" type="rss" version="RSS" \
htmlUrl="https://nikkei.example/" xmlUrl="https://nikkei.example/rss.xml"/>
\t\t</outline>
\t</outline>
\t<outline text="Loose" title="Loose" description="" type="rss" version="RSS" \
htmlUrl="https://loose.example/" xmlUrl="https://loose.example/feed"/>
</body>
</opml>
"""
# Feedly's: folders with text and title, feeds with type, text, title, xmlUrl, htmlUrl.
FEEDLY = """<?xml version="1.0" encoding="UTF-8"?>
<opml version="1.0">
  <head><title>Ana subscriptions in feedly Cloud</title></head>
  <body>
    <outline text="Markets" title="Markets">
      <outline type="rss" text="Chip Wire" title="Chip Wire" \
xmlUrl="https://chips.example/feed" htmlUrl="https://chips.example"/>
    </outline>
  </body>
</opml>
"""


def test_opml_folders_are_categories_both_ways(tmp_path: Path, run_cli: Cli) -> None:
    """Files written by Miniflux, FreshRSS, NetNewsWire and Feedly: each feed's folder path
    becomes its category; the export writes the folders back (nested), and importing that
    elsewhere gives the same feeds, names and categories."""
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first = write_config(tmp_path / "a" / "w.toml", [])
    second = write_config(tmp_path / "b" / "w.toml", [])
    for name, text in (("miniflux", MINIFLUX), ("freshrss", FRESHRSS),
                       ("netnewswire", NETNEWSWIRE), ("feedly", FEEDLY)):  # fmt: skip
        peer = tmp_path / f"{name}.opml"
        peer.write_text(text, encoding="utf-8")
        assert run_cli("feeds", "import", str(peer), "--config", str(first)).exit_code == 0

    def listed(config: Path) -> set[tuple[str, str, str | None]]:
        data = json.loads(run_cli("feeds", "--json", "--config", str(config)).stdout)
        return {(f["url"], f["name"], f["category"]) for f in data}

    expected = {
        ("https://hbr.example/feed.xml", "Harbour Business Review", "Trade"),
        ("https://tech.example/rss", "Tech Daily", "All"),
        ("https://xinhua.example/rss", "Xinhua Wire", "China"),
        ("https://nikkei.example/rss.xml", "Nikkei", "Asia/Japan"),
        ("https://loose.example/feed", "Loose", None),
        ("https://chips.example/feed", "Chip Wire", "Markets"),
    }
    assert listed(first) == expected
    out = tmp_path / "export.opml"
    assert run_cli("feeds", "export", "-o", str(out), "--config", str(first)).exit_code == 0
    exported = out.read_text()
    assert '<outline text="Asia" title="Asia">\n      <outline text="Japan" title="Japan">' in (
        exported
    )
    assert run_cli("feeds", "import", str(out), "--config", str(second)).exit_code == 0
    assert listed(second) == expected
    asia = json.loads(
        run_cli("feeds", "--json", "--category", "asia", "--config", str(second)).stdout
    )
    assert [feed["name"] for feed in asia] == ["Nikkei"]
