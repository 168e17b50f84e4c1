"""The HTTP fetcher against a real server on 127.0.0.1: conditional GET, errors, deadline,
redirects, compression and the body cap."""

from __future__ import annotations

import asyncio
import gzip
import itertools
import threading
import time
import zlib
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from tests.conftest import free_port
from tests.servers import FeedServer
from watcher.adapters.http import USER_AGENT, HttpFetcher
from watcher.core.errors import FetchError
from watcher.core.model import FetchResult, Validators

BODY = b'<?xml version="1.0"?><rss version="2.0"><channel><title>T</title></channel></rss>'


def fetch(
    url: str,
    validators: Validators | None = None,
    *,
    deadline: float = 5,
    max_body: int = 1 << 20,
    transport: httpx.AsyncBaseTransport | None = None,
) -> FetchResult:
    async def go() -> FetchResult:
        async with HttpFetcher(deadline, max_body, transport=transport) as fetcher:
            return await fetcher.fetch(url, validators)

    return asyncio.run(go())


def test_200_returns_body_and_validators(feed_server: FeedServer) -> None:
    """A 200 gives the body and the server's validators; the request names us and asks only for gzip
    or deflate."""
    url = feed_server.serve("/f", BODY, headers={"Last-Modified": "Mon, 15 Sep 2025 10:00:00 GMT"})
    result = fetch(url)
    assert result.status == 200 and result.body == BODY
    assert result.etag and result.last_modified == "Mon, 15 Sep 2025 10:00:00 GMT"
    seen = feed_server.requests[0].headers
    assert seen["user-agent"] == USER_AGENT
    assert seen["accept-encoding"] == "gzip, deflate"


def test_conditional_get_gives_not_modified(feed_server: FeedServer) -> None:
    """The stored ETag is sent back; the server's 304 becomes a result without a body."""
    url = feed_server.serve("/f", BODY)
    first = fetch(url)
    second = fetch(url, Validators(first.etag, "Mon, 15 Sep 2025 10:00:00 GMT"))
    assert second.not_modified and second.status == 304
    assert feed_server.requests[1].headers["if-none-match"] == first.etag
    assert feed_server.requests[1].headers["if-modified-since"] == "Mon, 15 Sep 2025 10:00:00 GMT"


@pytest.mark.parametrize(
    ("status", "reason"), [(500, "HTTP 500"), (404, "HTTP 404"), (410, "HTTP 410")]
)
def test_http_errors(feed_server: FeedServer, status: int, reason: str) -> None:
    """Each HTTP error status fails the fetch with a reason that names it, and keeps the status."""
    url = feed_server.serve("/f", b"oops", status=status, etag=False)
    with pytest.raises(FetchError) as caught:
        fetch(url)
    assert caught.value.reason.startswith(reason) and caught.value.status == status


def test_unreachable_host() -> None:
    """Nothing listens on the port: a clear 'cannot connect'."""
    with pytest.raises(FetchError, match="cannot connect"):
        fetch(f"http://127.0.0.1:{free_port()}/feed")


def test_network_failure_through_transport() -> None:
    """Failures no local server gives reliably (DNS) are reported like any other."""

    def fail(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("[Errno -2] Name or service not known", request=request)

    with pytest.raises(FetchError, match="Name or service not known"):
        fetch("https://nowhere.invalid/feed", transport=httpx.MockTransport(fail))


def test_slow_drip_is_cut_by_the_total_deadline(feed_server: FeedServer) -> None:
    """A server sending a byte every 0.2 s never trips a read timeout, but the deadline holds."""
    url = feed_server.serve("/drip", BODY, drip=0.2)
    started = time.monotonic()
    with pytest.raises(FetchError, match="no complete response within 1s"):
        fetch(url, deadline=1)
    assert time.monotonic() - started < 3


def test_a_server_silent_for_longer_than_15s_is_waited_for_within_the_deadline(
    feed_server: FeedServer,
) -> None:
    """``timeout`` is the limit from connecting to the last byte, and the only one: a server
    that says nothing for 16 s and then answers, within a 20 s deadline, is read (a read
    timeout of 15 s used to fail it)."""
    url = feed_server.serve("/silent", BODY, delay=16)
    result = fetch(url, deadline=20)
    assert result.status == 200 and result.body == BODY


def test_body_cap(feed_server: FeedServer) -> None:
    """A body larger than max_body fails the fetch, saying so."""
    url = feed_server.serve("/big", b"x" * 5000)
    with pytest.raises(FetchError, match="larger than 1000 bytes"):
        fetch(url, max_body=1000)


@pytest.mark.parametrize(
    ("encoding", "compress"), [("gzip", gzip.compress), ("deflate", zlib.compress)]
)
def test_compression_bombs_are_cut_at_the_cap_counted_decompressed(
    feed_server: FeedServer, encoding: str, compress: Callable[[bytes], bytes]
) -> None:
    """50 MB of zeros compress to ~50 KB; the cap counts what they inflate to."""
    bomb = compress(b"\0" * 50_000_000)
    assert len(bomb) < 100_000
    url = feed_server.serve("/bomb", bomb, headers={"Content-Encoding": encoding})
    with pytest.raises(FetchError, match="larger than 100000 bytes"):
        fetch(url, max_body=100_000)


def test_an_endless_body_is_cut_at_the_cap(feed_server: FeedServer) -> None:
    """No Content-Length, and the data never stops: the fetch ends at the cap."""
    sent = [0]

    def endless(request: BaseHTTPRequestHandler) -> None:
        request.send_response(200)
        request.send_header("Content-Type", "application/rss+xml")
        request.send_header("Connection", "close")
        request.end_headers()
        try:
            while sent[0] < 1 << 30:
                request.wfile.write(b"<item>" * 10_000)
                sent[0] += 60_000
        except OSError:
            pass  # the client hung up, as it should

    url = feed_server.serve("/endless", b"", handler=endless)
    with pytest.raises(FetchError, match="larger than 1000000 bytes"):
        fetch(url, max_body=1_000_000)
    assert sent[0] < 50_000_000


@pytest.mark.parametrize(
    ("encoding", "encode"),
    [
        ("gzip", gzip.compress),
        ("deflate", zlib.compress),
        ("deflate", lambda b: zlib.compress(b)[2:-4]),  # raw deflate, as some servers send
    ],
)
def test_compressed_bodies_are_inflated(feed_server: FeedServer, encoding: str, encode) -> None:  # type: ignore[no-untyped-def]
    """gzip and deflate bodies come out inflated."""
    url = feed_server.serve("/z", encode(BODY), headers={"Content-Encoding": encoding})
    assert fetch(url).body == BODY


@pytest.mark.parametrize("encoding", ["br", "zstd", "compress"])
def test_unsupported_encodings_are_refused(feed_server: FeedServer, encoding: str) -> None:
    """We ask for gzip and deflate only; what we cannot inflate under a cap is refused."""
    url = feed_server.serve("/odd", b"\x1b\x00", headers={"Content-Encoding": encoding})
    with pytest.raises(FetchError, match=f"unsupported content encoding '{encoding}'"):
        fetch(url)
    assert feed_server.requests[-1].headers["accept-encoding"] == "gzip, deflate"


def test_redirects_are_followed_but_bounded(feed_server: FeedServer) -> None:
    """Redirects are followed, up to a limit: a loop fails the fetch instead of running forever."""

    def redirect_to(target: str):  # type: ignore[no-untyped-def]
        def handler(request: BaseHTTPRequestHandler) -> None:
            request.send_response(301)
            request.send_header("Location", target)
            request.send_header("Content-Length", "0")
            request.end_headers()

        return handler

    feed_server.serve("/final", BODY)
    feed_server.serve("/moved", b"", handler=redirect_to("/final"))
    moved = fetch(feed_server.url("/moved"))
    assert moved.body == BODY and moved.moved_to == feed_server.url("/final")
    feed_server.serve("/loop", b"", handler=redirect_to("/loop"))
    with pytest.raises(FetchError, match="more than 5 redirects"):
        fetch(feed_server.url("/loop"))


def test_a_cookie_set_on_a_redirect_is_sent_on_and_kept(feed_server: FeedServer) -> None:
    """A consent wall: the feed answers only with the cookie its redirect set; later fetches
    of the same client send it, across answers that set no cookie (a 304 among them), and a
    later Set-Cookie replaces it."""

    def feed(request: BaseHTTPRequestHandler) -> None:
        cookie = request.headers.get("Cookie", "")
        if "consent=" not in cookie:
            request.send_response(302)
            request.send_header("Location", "/wall")
        elif request.headers.get("If-None-Match") == '"v1"':
            request.send_response(304)
        else:
            request.send_response(200)
            request.send_header("ETag", '"v1"')
            if cookie == "consent=yes":
                request.send_header("Set-Cookie", "consent=again; Path=/")
        request.send_header("Content-Length", "0")
        request.end_headers()

    def wall(request: BaseHTTPRequestHandler) -> None:
        request.send_response(302)
        request.send_header("Set-Cookie", "consent=yes; Path=/")
        request.send_header("Location", "/feed")
        request.send_header("Content-Length", "0")
        request.end_headers()

    feed_server.serve("/feed", b"", handler=feed)
    feed_server.serve("/wall", b"", handler=wall)

    async def go() -> list[FetchResult]:
        async with HttpFetcher(5, 1 << 20) as fetcher:
            url = feed_server.url("/feed")
            first = await fetcher.fetch(url, None)
            quiet = await fetcher.fetch(url, Validators('"v1"', None))
            again = await fetcher.fetch(url, None)
            return [first, quiet, again]

    first, quiet, again = asyncio.run(go())
    assert first.status == 200 and quiet.status == 304 and again.status == 200
    sent = [r.headers.get("cookie") for r in feed_server.requests]
    assert [r.path for r in feed_server.requests] == ["/feed", "/wall", "/feed", "/feed", "/feed"]
    assert sent == [None, None, "consent=yes", "consent=again", "consent=again"]


@pytest.mark.parametrize(
    ("first", "second", "moved"), [(301, 308, True), (301, 302, False), (307, 301, False)]
)
def test_a_feed_has_moved_only_if_every_redirect_was_permanent(
    feed_server: FeedServer, first: int, second: int, moved: bool
) -> None:
    """A chain of redirects says the feed moved only when every step was permanent (301 or 308)."""
    feed_server.serve("/end", BODY)
    feed_server.serve("/b", b"", status=second, headers={"Location": "/end"}, etag=False)
    feed_server.serve("/a", b"", status=first, headers={"Location": "/b"}, etag=False)
    result = fetch(feed_server.url("/a"))
    assert result.body == BODY
    assert result.moved_to == (feed_server.url("/end") if moved else None)


def test_file_urls(tmp_path: Path) -> None:
    """file:// feeds are read from disk, with a validator of their own so that an unchanged
    file is 'not modified'."""
    path = tmp_path / "feed.xml"
    path.write_bytes(BODY)
    first = fetch(path.as_uri())
    assert first.body == BODY
    assert fetch(path.as_uri(), Validators(first.etag, None)).not_modified
    with pytest.raises(FetchError, match="cannot read file"):
        fetch((tmp_path / "missing.xml").as_uri())


def test_at_most_two_connections_per_host(feed_server: FeedServer) -> None:
    """Six feeds on one host, fetched together: the server never sees more than two requests
    at a time."""
    lock = threading.Lock()
    active, peak = [0], [0]

    def slow(request: BaseHTTPRequestHandler) -> None:
        with lock:
            active[0] += 1
            peak[0] = max(peak[0], active[0])
        time.sleep(0.15)
        with lock:
            active[0] -= 1
        request.send_response(200)
        request.send_header("Content-Length", str(len(BODY)))
        request.end_headers()
        request.wfile.write(BODY)

    urls = [feed_server.serve(f"/f{n}", b"", handler=slow) for n in range(6)]

    async def go() -> list[FetchResult]:
        async with HttpFetcher(5, 1 << 20) as fetcher:
            return await asyncio.gather(*(fetcher.fetch(url, None) for url in urls))

    results = asyncio.run(go())
    assert [r.body for r in results] == [BODY] * 6
    assert peak[0] == 2


def test_requests_to_one_host_are_spaced_by_the_gap(feed_server: FeedServer) -> None:
    """Four feeds on one host with a 0.2 s gap: the server sees their requests start at least
    0.2 s apart, though two may run at once."""
    starts: list[float] = []

    def record(request: BaseHTTPRequestHandler) -> None:
        starts.append(time.monotonic())
        request.send_response(200)
        request.send_header("Content-Length", str(len(BODY)))
        request.end_headers()
        request.wfile.write(BODY)

    urls = [feed_server.serve(f"/g{n}", b"", handler=record) for n in range(4)]

    async def go() -> None:
        async with HttpFetcher(5, 1 << 20, per_host_gap=0.2) as fetcher:
            await asyncio.gather(*(fetcher.fetch(url, None) for url in urls))

    asyncio.run(go())
    starts.sort()
    gaps = [later - earlier for earlier, later in itertools.pairwise(starts)]
    assert len(starts) == 4
    assert min(gaps) >= 0.18, gaps


def test_a_not_modified_answer_keeps_its_connection(feed_server: FeedServer) -> None:
    """Ten conditional fetches answered 304 travel over one connection, not ten."""
    url = feed_server.serve("/kept", BODY)

    async def go() -> None:
        async with HttpFetcher(5, 1 << 20) as fetcher:
            tag = (await fetcher.fetch(url, None)).etag
            for _ in range(10):
                assert (await fetcher.fetch(url, Validators(tag, None))).not_modified

    asyncio.run(go())
    assert len({seen.port for seen in feed_server.requests}) == 1


def test_a_proxy_named_by_the_environment_carries_the_fetch(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``HTTP_PROXY`` is honoured as httpx honours it (through aiohttp's transport too): the
    request goes to the proxy, with the feed's full URL, and its answer is the feed's."""
    seen: list[str] = []

    class Proxy(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            seen.append(self.path)
            self.send_response(200)
            self.send_header("Content-Type", "application/rss+xml")
            self.send_header("Content-Length", str(len(BODY)))
            self.end_headers()
            self.wfile.write(BODY)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Proxy)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        for name in ("NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy"):
            monkeypatch.delenv(name, raising=False)
        monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{server.server_port}")
        result = fetch("http://feeds.example/rss")
    finally:
        server.shutdown()
        server.server_close()
    assert result.status == 200 and result.body == BODY
    assert seen == ["http://feeds.example/rss"]


def test_credentials_in_the_url_are_sent_as_basic_auth(feed_server: FeedServer) -> None:
    """A feed URL with ``user:password@`` reaches the server as an Authorization header (never
    in the request line), and the server's answer is the feed."""
    seen: list[tuple[str, str | None]] = []

    def private(request: BaseHTTPRequestHandler) -> None:
        seen.append((request.path, request.headers.get("Authorization")))
        request.send_response(200)
        request.send_header("Content-Length", str(len(BODY)))
        request.end_headers()
        request.wfile.write(BODY)

    url = feed_server.serve("/private.xml", b"", handler=private)
    result = fetch(url.replace("http://", "http://desk:s3cr3t@"))
    assert result.status == 200 and result.body == BODY
    assert seen == [("/private.xml", "Basic ZGVzazpzM2NyM3Q=")]  # base64 of desk:s3cr3t


def test_a_server_that_does_not_speak_http_fails_that_feed(feed_server: FeedServer) -> None:
    """Bytes that are no HTTP response at all: the feed fails with a reason, like any other
    broken server (nothing escapes the fetcher as a transport library's own exception)."""

    def garbage(request: BaseHTTPRequestHandler) -> None:
        request.wfile.write(b"SSH-2.0-OpenSSH_9.6\r\n\r\n")
        request.close_connection = True

    url = feed_server.serve("/ssh", b"", handler=garbage)
    with pytest.raises(FetchError) as caught:
        fetch(url)
    assert "status line" in caught.value.reason, caught.value.reason


def test_secret_headers_stay_with_the_feeds_own_site() -> None:
    """The origin a feed's secret headers may go to after a redirect: its own, or its https
    on the same host (as httpx keeps Authorization); not another host, another port, or a
    downgrade to http."""
    from watcher.adapters.http import _at_home, _origin

    home = _origin(httpx.URL("http://news.example/feed"))
    assert _at_home(httpx.URL("http://news.example/other"), home)
    assert _at_home(httpx.URL("https://news.example/feed"), home)
    assert not _at_home(httpx.URL("https://cdn.example/feed"), home)
    assert not _at_home(httpx.URL("http://news.example:8080/feed"), home)
    secure = _origin(httpx.URL("https://news.example/feed"))
    assert not _at_home(httpx.URL("http://news.example/feed"), secure)
