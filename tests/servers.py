"""Real servers on 127.0.0.1 for the tests: a feed server that records what it was asked."""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

FIXTURES = Path(__file__).parent / "fixtures"


@dataclass
class Route:
    """What the server answers on one path."""

    body: bytes = b""
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    etag: bool = True  # send an ETag and honour If-None-Match
    drip: float | None = None  # seconds between single bytes: a hostile slow server
    handler: Callable[[BaseHTTPRequestHandler], None] | None = None  # anything stranger
    delay: float = 0.0  # seconds before answering: a slow server


@dataclass(frozen=True)
class Seen:
    path: str
    headers: dict[str, str]
    port: int  # the client's: one per connection
    at: float = field(default_factory=time.monotonic)  # when the request came


class FeedServer:
    """A ThreadingHTTPServer on 127.0.0.1:0 serving ``routes``; ``requests`` records each GET."""

    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.requests: list[Seen] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                server.requests.append(
                    Seen(
                        self.path,
                        {k.lower(): v for k, v in self.headers.items()},
                        self.client_address[1],
                    )
                )
                route = server.routes.get(self.path)
                if route is not None and route.delay:
                    time.sleep(route.delay)
                if route is None:
                    self._send(404, b"not found", {"Content-Type": "text/plain"})
                elif route.handler is not None:
                    route.handler(self)
                else:
                    self._serve(route)

            def _serve(self, route: Route) -> None:
                headers = {"Content-Type": "application/xml", **route.headers}
                if route.etag and route.status == 200:
                    tag = '"' + hashlib.sha256(route.body).hexdigest()[:16] + '"'
                    headers["ETag"] = tag
                    if self.headers.get("If-None-Match") == tag:
                        self._send(304, b"", {"ETag": tag})
                        return
                if route.drip is not None:
                    self._drip(route, headers)
                    return
                self._send(route.status, route.body, headers)

            def _send(self, status: int, body: bytes, headers: dict[str, str]) -> None:
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                if status != 304:
                    self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if status != 304:
                    self.wfile.write(body)

            def _drip(self, route: Route, headers: dict[str, str]) -> None:
                self.send_response(200)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(route.body)))
                self.end_headers()
                try:
                    for byte in route.body:
                        self.wfile.write(bytes([byte]))
                        self.wfile.flush()
                        time.sleep(route.drip or 0)
                except OSError:
                    pass  # the client gave up, as it should

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def serve(self, path: str, body: bytes | str, **options: object) -> str:
        """Serve ``body`` at ``path`` and return its URL."""
        data = body.encode() if isinstance(body, str) else body
        self.routes[path] = Route(body=data, **options)  # type: ignore[arg-type]
        return self.url(path)

    def serve_fixture(self, path: str, name: str) -> str:
        return self.serve(path, (FIXTURES / "feeds" / name).read_bytes())

    def hits(self, path: str) -> int:
        return sum(1 for seen in self.requests if seen.path == path)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()


Item = tuple[str, str, str] | Mapping[str, str]


def rss(title: str, items: Sequence[Item], extra: str = "") -> str:
    """The tests' one RSS 2.0 builder. An item is (guid, title, description), given a link of
    its own and a fixed date, or a mapping of any of guid, link, title, description and pubDate,
    written as given (so that a test can leave any of them out). ``extra``: attributes of
    ``<rss>``, such as namespaces."""
    body = "".join(_item(item) for item in items)
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"{" " * bool(extra)}{extra}>'
        "<channel>"
        f"<title>{title}</title><link>https://news.example/</link>{body}</channel></rss>"
    )


def _item(item: Item) -> str:
    if not isinstance(item, Mapping):
        guid, title, description = item
        item = {"guid": guid, "title": title, "link": f"https://news.example/{guid}",
                "description": description, "pubDate": "Mon, 15 Sep 2025 10:00:00 GMT"}  # fmt: skip
    parts = []
    if "guid" in item:
        parts.append(f'<guid isPermaLink="false">{item["guid"]}</guid>')
    for tag in ("title", "link", "description", "pubDate"):
        if tag in item:
            parts.append(f"<{tag}>{item[tag]}</{tag}>")
    return f"<item>{''.join(parts)}</item>"


def demanding(header: str, expected: str, body: str) -> Callable[[BaseHTTPRequestHandler], None]:
    """A route's handler that serves ``body`` (RSS) only to a request whose ``header`` is
    ``expected``, and 401 to the rest: a feed behind a login or an API key."""

    def handle(request: BaseHTTPRequestHandler) -> None:
        ok = request.headers.get(header) == expected
        data = body.encode() if ok else b"who are you?"
        request.send_response(200 if ok else 401)
        request.send_header("Content-Type", "application/rss+xml" if ok else "text/plain")
        request.send_header("Content-Length", str(len(data)))
        request.end_headers()
        request.wfile.write(data)

    return handle
