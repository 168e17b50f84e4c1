"""A database of stored stories built through the real pipeline (feeds served on 127.0.0.1,
``watcher run --once`` twice), for the tests of what reads them: the digest, the feeds and the
page."""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path

from click.testing import CliRunner, Result

from tests.conftest import write_config
from tests.servers import FeedServer
from watcher.adapters.sql.database import connect
from watcher.adapters.sql.store import SqlStore
from watcher.cli import cli

RULES = {
    "tiktok": ["TikTok", "ByteDance"],
    "madrid": ["Madrid talks"],
    "chips": ["analog chips"],
    "tariffs": ["tariffs"],
}
HOSTILE = "<script>alert('x')</script> TikTok *deal* [link](javascript:alert(1)) =cmd|calc"


def feed(title: str, items: list[tuple[str, str, str, int]]) -> str:
    """RSS with (guid, title, description, hours ago) items; titles are escaped as text."""
    base = datetime(2026, 9, 14, 12, 0, tzinfo=UTC)
    body = "".join(
        f"<item><guid isPermaLink='false'>{guid}</guid><title>{escape_xml(text)}</title>"
        f"<link>https://{title.lower().replace(' ', '')}.example/{guid}</link>"
        f"<description>{escape_xml(summary)}</description>"
        f"<pubDate>{(base - timedelta(hours=ago)).strftime('%a, %d %b %Y %H:%M:%S GMT')}"
        "</pubDate></item>"
        for guid, text, summary, ago in items
    )
    return (
        f"<?xml version='1.0' encoding='UTF-8'?><rss version='2.0'><channel>"
        f"<title>{title}</title><link>https://news.example/</link>{body}</channel></rss>"
    )


def escape_xml(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


STORY = "US and China resume Madrid talks on trade and tariffs"
WIRE = [
    ("w1", "TikTok deadline extended again", "ByteDance has until December.", 1),
    ("w2", STORY, "Negotiators met in Madrid on Sunday.", 2),
    ("w3", "China opens probe into US analog chips", "Texas Instruments named.", 3),
    # Escaped twice: feedparser reads RSS titles as HTML, so this stores HOSTILE as text.
    ("w4", escape_xml(HOSTILE), "A summary with <b>markup</b> & more.", 4),
    ("w5", "Weather: sunny", "Nothing to see.", 5),
]
POST = [
    ("p1", STORY, "Negotiators met in Madrid on Sunday.", 2),
    ("p2", "New tariffs on steel announced", "Effective next month.", 6),
]


@dataclass
class Digest:
    config: Path
    database: Path

    def run(self, *args: str) -> Result:
        result = CliRunner().invoke(
            cli, ["digest", "--config", str(self.config), "--since", "30d", *args]
        )
        assert result.exit_code == 0, result.output
        return result

    def store(self) -> SqlStore:
        return SqlStore(connect(f"sqlite:///{self.database}"))


def build_digest(tmp: Path, extra_feeds: Mapping[str, str] = {}, extra: str = "") -> Digest:
    """Two feeds (and ``extra_feeds``, path to RSS), a story both report, an entry that
    changes between two runs; match N is then dated N days back, so that time filters have
    something to cut."""
    server = FeedServer()
    server.start()
    try:
        wire = server.serve("/wire.xml", feed("Wire", WIRE))
        post = server.serve("/post.xml", feed("Post", POST))
        others = [server.serve(path, text) for path, text in extra_feeds.items()]
        config = write_config(tmp / "w.toml", [wire, post, *others], RULES, extra=extra)
        runner = CliRunner()
        assert runner.invoke(cli, ["run", "--once", "--config", str(config)]).exit_code == 0
        changed = [("w1", "TikTok deadline extended to January", WIRE[0][2], 1), *WIRE[1:]]
        server.serve("/wire.xml", feed("Wire", changed))
        assert runner.invoke(cli, ["run", "--once", "--config", str(config)]).exit_code == 0
    finally:
        server.stop()
    database = tmp / "w.db"
    with sqlite3.connect(database) as db:
        now = datetime.now(UTC).replace(tzinfo=None)
        for (match_id,) in db.execute("select id from matches").fetchall():
            moment = now - timedelta(days=match_id)
            db.execute("update matches set matched_at = ? where id = ?", (moment, match_id))
    return Digest(config, database)


class PageElements(HTMLParser):
    """What a page holds, as a browser would not run it: its tags, its links (href, src,
    action) and its text."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.hrefs: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.hrefs += [value or "" for name, value in attrs if name in ("href", "src", "action")]

    def handle_data(self, data: str) -> None:
        self.text.append(data)
