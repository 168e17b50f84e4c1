"""A farm of realistic news feeds on disk, and a static server for it on 127.0.0.1.

Each feed is an RSS 2.0 (four in five) or Atom 1.0 document of 10–100 KB: 5–30 items, each with
a title, link, guid, date, author, categories, a one-paragraph summary and an HTML body of 2–8
paragraphs, drawn from a Zipf-like vocabulary so that distinct stories have distinct words.
About 4 % of the items are on one of the four shipped topics.

The server is nginx from Debian when it is installed (it sends ETag and Last-Modified and
answers conditional requests with 304); otherwise Python's threaded ``http.server``, which
sends Last-Modified and answers If-Modified-Since, noticeably slower — the table says which.
"""

from __future__ import annotations

import contextlib
import os
import random
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from xml.sax.saxutils import escape

COMMON = (
    "government market officials said week company report talks minister economy trade "
    "investors analysts shares prices growth policy bank deal industry global plan state "
    "exports imports security technology energy workers sales demand supply rates data"
).split()
TOPICS = [
    "TikTok's US divestiture deadline nears as ByteDance weighs offers",
    "US and China open talks in Madrid on trade and export controls",
    "China launches anti-dumping probe into US analog chips",
    "New tariffs on steel imports take effect",
]
# The four shipped topics as the benchmarks' keyword rules (name → TOML list of keywords).
RULES = {
    "tiktok": '["TikTok", "ByteDance"]',
    "madrid-talks": '["Madrid talks", "talks in Madrid"]',
    "analog-chips": '["analog chips", "anti-dumping probe"]',
    "tariffs": '["tariff", "tariffs"]',
}
SECTIONS = "World Business Markets Technology Politics Economy Asia Americas Europe".split()


def _vocabulary(count: int) -> list[str]:
    rng = random.Random(0)
    syllables = "ba be bi bo da de di do ka ke ki ko la le li lo ma me mi mo na ne ni no".split()
    words: set[str] = set()
    while len(words) < count:
        words.add("".join(rng.choice(syllables) for _ in range(rng.randint(2, 4))))
    return sorted(words)


WORDS = COMMON * 20 + _vocabulary(5000)  # common words often, the rest rarely


def _sentence(rng: random.Random, words: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(words)).capitalize() + "."


def _paragraph(rng: random.Random) -> str:
    return " ".join(_sentence(rng, rng.randint(8, 20)) for _ in range(rng.randint(2, 5)))


class Item:
    """One story as a feed tells it."""

    def __init__(self, rng: random.Random, feed: int, number: int) -> None:
        self.number = number
        self.title = rng.choice(TOPICS) if rng.random() < 0.04 else _sentence(rng, 9)[:-1]
        self.link = f"https://outlet{feed}.example/news/{number}-{rng.randrange(10**6)}"
        self.guid = f"urn:outlet{feed}:{number}"
        self.summary = _paragraph(rng)
        self.body = "".join(
            f"<p>{_paragraph(rng)}</p>" + ("<h2>Background</h2>" if rng.random() < 0.2 else "")
            for _ in range(rng.randint(2, 8))
        )
        self.author = f"{rng.choice(WORDS).title()} {rng.choice(WORDS).title()}"
        self.sections = rng.sample(SECTIONS, rng.randint(1, 3))
        day, minute = divmod(number * 37, 24 * 60)
        self.when = (1 + day % 28, minute // 60, minute % 60)


def _rss(feed: int, items: list[Item]) -> str:
    parts = []
    for item in items:
        day, hour, minute = item.when
        parts.append(
            f"<item><title>{escape(item.title)}</title><link>{item.link}</link>"
            f'<guid isPermaLink="false">{item.guid}</guid>'
            f"<pubDate>Mon, {day:02d} Sep 2025 {hour:02d}:{minute:02d}:00 +0000</pubDate>"
            f"<dc:creator>{item.author}</dc:creator>"
            + "".join(f"<category>{s}</category>" for s in item.sections)
            + f"<description>{escape(item.summary)}</description>"
            f"<content:encoded><![CDATA[{item.body}]]></content:encoded></item>"
        )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0" '
        'xmlns:content="http://purl.org/rss/1.0/modules/content/" '
        'xmlns:dc="http://purl.org/dc/elements/1.1/"><channel>'
        f"<title>Outlet {feed}</title><link>https://outlet{feed}.example/</link>"
        f"<description>News from outlet {feed}</description><ttl>15</ttl>"
        + "".join(reversed(parts))
        + "</channel></rss>\n"
    )


def _atom(feed: int, items: list[Item]) -> str:
    parts = []
    for item in items:
        day, hour, minute = item.when
        stamp = f"2025-09-{day:02d}T{hour:02d}:{minute:02d}:00Z"
        parts.append(
            f"<entry><title>{escape(item.title)}</title>"
            f'<link rel="alternate" type="text/html" href="{item.link}"/>'
            f"<id>{item.guid}</id><published>{stamp}</published><updated>{stamp}</updated>"
            f"<author><name>{item.author}</name></author>"
            + "".join(f'<category term="{s}"/>' for s in item.sections)
            + f"<summary>{escape(item.summary)}</summary>"
            f'<content type="html">{escape(item.body)}</content></entry>'
        )
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom">'
        f"<title>Outlet {feed}</title><id>urn:outlet{feed}</id>"
        f'<link href="https://outlet{feed}.example/"/><updated>2025-09-30T00:00:00Z</updated>'
        + "".join(reversed(parts))
        + "</feed>\n"
    )


class Farm:
    """``count`` feed files in ``root``; ``grow`` adds items to some of them."""

    def __init__(self, root: Path, count: int, seed: int = 42) -> None:
        self.root = root
        self.count = count
        self.rng = random.Random(seed)
        self.items: list[list[Item]] = []
        for feed in range(count):
            self.items.append([Item(self.rng, feed, n) for n in range(self.rng.randint(5, 30))])
            self._write(feed)

    def path(self, feed: int) -> str:
        return f"/{feed}.xml"

    def _write(self, feed: int) -> None:
        render = _atom if feed % 5 == 4 else _rss
        # Written aside, then renamed: a server reading the file meanwhile sends the old one
        # or the new one, never an empty or half-written body.
        target = self.root / self.path(feed)[1:]
        aside = target.with_suffix(".tmp")
        aside.write_text(render(feed, self.items[feed][-30:]))
        aside.replace(target)

    def grow(self, every: int = 10, added: int = 3) -> int:
        """Add ``added`` items to every ``every``-th feed; returns how many feeds changed."""
        changed = range(0, self.count, every)
        for feed in changed:
            start = len(self.items[feed])
            self.items[feed] += [Item(self.rng, feed, n) for n in range(start, start + added)]
            self._write(feed)
        return len(changed)

    @property
    def size(self) -> int:
        return sum(path.stat().st_size for path in self.root.glob("*.xml"))

    @property
    def entries(self) -> int:
        return sum(min(len(items), 30) for items in self.items)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextlib.contextmanager
def serve(root: Path) -> Iterator[tuple[str, str]]:
    """Serve ``root`` on 127.0.0.1; yields (base URL, server name)."""
    nginx = shutil.which("nginx") or next(
        (p for p in ("/usr/sbin/nginx",) if Path(p).exists()), None
    )
    port = _free_port()
    if nginx is None:
        handler = partial(_QuietHandler, directory=str(root))
        server = ThreadingHTTPServer(("127.0.0.1", port), handler)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield f"http://127.0.0.1:{port}", "Python http.server (nginx not installed)"
        finally:
            server.shutdown()
        return
    with tempfile.TemporaryDirectory() as scratch:
        conf = Path(scratch) / "nginx.conf"
        # Started by root, nginx's workers would run as nobody and find the farm, under a
        # private temporary directory, forbidden: they run as root too.
        user = "user root;\n" if os.geteuid() == 0 else ""
        conf.write_text(
            f"{user}daemon off; worker_processes 1; pid {scratch}/nginx.pid;\n"
            f"error_log {scratch}/error.log;\n"
            "events { worker_connections 1024; }\n"
            "http {\n"
            f"  access_log off; sendfile on; keepalive_requests 100000;\n"
            f"  client_body_temp_path {scratch}; proxy_temp_path {scratch};\n"
            f"  fastcgi_temp_path {scratch}; uwsgi_temp_path {scratch}; scgi_temp_path {scratch};\n"
            "  types { application/rss+xml xml; }\n"
            f"  server {{ listen 127.0.0.1:{port}; root {root}; }}\n"
            "}\n"
        )
        process = subprocess.Popen([nginx, "-c", str(conf), "-p", scratch])
        try:
            _wait_for(port)
            yield f"http://127.0.0.1:{port}", "nginx"
        finally:
            process.terminate()
            process.wait()


def _wait_for(port: int) -> None:
    for _ in range(100):
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port)):
            return
        time.sleep(0.05)
    raise SystemExit(f"the feed server did not start on port {port}")


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass
