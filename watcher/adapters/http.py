"""Downloading feeds with httpx: conditional GET, bounded redirects, a total deadline per fetch,
and a cap on the body counted after decompression. ``file://`` URLs are read from disk.

httpx is the API; aiohttp is the transport under it (``httpx-aiohttp``): a round of conditional
GETs costs a third of httpcore's CPU with it. It hands httpx the raw bytes (no decompression, no
redirects of its own), so redirects are counted by httpx and bodies inflated here.

httpx's ``timeout`` bounds each read, not the request, so a server dripping a byte a second
would hold a fetch forever: the whole fetch runs under ``asyncio.timeout``. httpx does not cap
decompressed size either, so we advertise only gzip and deflate and inflate ourselves.
"""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import functools
import time
import zlib
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import unquote, urlsplit

import aiohttp
import httpx
from httpx_aiohttp import AiohttpTransport, HttpxAiohttpClient

from watcher import __version__
from watcher.core.errors import FetchError
from watcher.core.model import FetchResult, Validators
from watcher.core.schedule import response_hint
from watcher.core.settings import NO_ACCESS, Access

USER_AGENT = f"feed-watcher/{__version__} (+https://pypi.org/project/feed-watcher/)"
ACCEPT = (
    "application/rss+xml, application/atom+xml, application/feed+json, "
    "application/rdf+xml;q=0.9, application/xml;q=0.9, text/xml;q=0.9, */*;q=0.1"
)
MAX_REDIRECTS = 5
_SECRETS = "watcher.secret_headers"  # a request extension: (the feed's origin, header names)


class _Inflater:
    """Decodes a Content-Encoding chunk by chunk, never producing more than ``limit`` bytes."""

    def __init__(self, url: str, encoding: str, limit: int) -> None:
        self.url, self.limit, self.size = url, limit, 0
        encoding = encoding.strip().lower()
        if encoding in ("", "identity"):
            self._zlib = None
        elif encoding in ("gzip", "x-gzip"):
            self._zlib = zlib.decompressobj(16 + zlib.MAX_WBITS)
        elif encoding == "deflate":
            self._zlib = zlib.decompressobj()  # zlib-wrapped, as the RFC says; see _raw_deflate
        else:
            raise FetchError(url, f"unsupported content encoding {encoding!r}")
        self._first = True

    def feed(self, chunk: bytes) -> bytes:
        if self._zlib is None:
            return self._count(chunk)
        out = self._inflate(chunk)
        while self._zlib.unconsumed_tail:
            out += self._inflate(self._zlib.unconsumed_tail)
        return out

    def _inflate(self, chunk: bytes) -> bytes:
        assert self._zlib is not None
        try:
            data = self._zlib.decompress(chunk, self.limit - self.size + 1)
        except zlib.error:
            if not self._first:
                raise FetchError(self.url, "corrupt compressed body") from None
            # Some servers send raw deflate without the zlib header.
            self._zlib = zlib.decompressobj(-zlib.MAX_WBITS)
            data = self._zlib.decompress(chunk, self.limit - self.size + 1)
        self._first = False
        return self._count(data)

    def _count(self, data: bytes) -> bytes:
        self.size += len(data)
        if self.size > self.limit:
            raise FetchError(self.url, f"body larger than {self.limit} bytes")
        return data


@functools.lru_cache(maxsize=4096)  # the feeds' URLs, split again every round otherwise
def _hostname(url: str) -> str:
    return (urlsplit(url).hostname or "").lower()


def _freshness(response: httpx.Response) -> timedelta | None:
    headers = response.headers
    return response_hint(
        headers.get("cache-control"), headers.get("expires"), headers.get("date"), _now()
    )


def _now() -> datetime:
    return datetime.now(UTC)


def _moved_to(response: httpx.Response) -> str | None:
    """The final URL when every redirect on the way was permanent (301, 308); a temporary
    one (302, 303, 307) anywhere means the feed has not moved."""
    if response.history and all(hop.status_code in (301, 308) for hop in response.history):
        return str(response.url)
    return None


class _Host:
    """One host's share of us: at most ``per_host`` fetches at once, their starts at least
    ``per_host_gap`` apart. Waiting for a turn does not count against the fetch deadline."""

    def __init__(self, slots: asyncio.Semaphore) -> None:
        self.slots = slots
        self._next_start = 0.0

    async def turn(self, gap: float) -> None:
        if gap <= 0:
            return
        loop = asyncio.get_running_loop()
        start = max(loop.time(), self._next_start)
        self._next_start = start + gap  # claimed before sleeping: the next caller queues behind
        await asyncio.sleep(start - loop.time())


class _Transport(AiohttpTransport):
    """Two things httpx-aiohttp 0.2.0 hands aiohttp that it must not:

    - a request's body stream when httpx has not read it, which is the case for the GET httpx
      builds to follow a redirect: aiohttp then sends an empty chunked body ("0") that the
      server reads as the next request line. Reading the request first leaves no body at all.
    - a URL with credentials in it (``https://user:pw@host/feed``) beside the Authorization
      header httpx already made of them, which aiohttp refuses (ValueError). The header is
      enough."""

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        await request.aread()
        if request.url.userinfo and "authorization" in request.headers:
            request.url = request.url.copy_with(userinfo=b"")
        _keep_secrets_home(request)
        if self.proxy is not None and request.url.scheme == "http":
            # aiohttp sends a proxy's headers only when it tunnels (https): a plain http
            # request goes to the proxy itself, so the proxy's login goes with it.
            login = self.proxy.headers.get("Proxy-Authorization")
            if login:
                request.headers["Proxy-Authorization"] = login
        return await super().handle_async_request(request)


def _keep_secrets_home(request: httpx.Request) -> None:
    """A feed's secret headers go only to the host it names: httpx keeps every header but
    Authorization on a redirect to another origin, so the others are dropped here (the
    extension travels with each request httpx builds to follow a redirect)."""
    home, secret = request.extensions.get(_SECRETS, (None, ()))
    if home is not None and not _at_home(request.url, home):
        for name in secret:
            request.headers.pop(name, None)


def _origin(url: httpx.URL) -> tuple[str, str, int | None]:
    return url.scheme, url.host, url.port


def _at_home(url: httpx.URL, home: tuple[str, str, int | None]) -> bool:
    """The feed's own origin, or its https on the same host (httpx's rule for Authorization:
    a site that moves its feed from http to https keeps its login)."""
    scheme, host, port = _origin(url)
    upgraded = home[0] == "http" and home[2] in (None, 80) and scheme == "https" and port is None
    return (scheme, host, port) == home or (upgraded and host == home[1])


class _Cookies(httpx.Cookies):
    """A client's cookies, which read a response only when it sets one: httpx hands every
    response to the standard library's jar through two adapter objects, a tenth of the CPU of
    a 304, and the jar takes nothing from a response but its Set-Cookie and Set-Cookie2."""

    def extract_cookies(self, response: httpx.Response) -> None:
        if "set-cookie" in response.headers or "set-cookie2" in response.headers:
            super().extract_cookies(response)


def _with_cookies(client: httpx.AsyncClient) -> httpx.AsyncClient:
    # httpx's own attribute behind ``client.cookies``, whose setter would wrap ours in its own.
    client._cookies = _Cookies(client.cookies)
    return client


class _Client(HttpxAiohttpClient):
    """httpx over ``_Transport``, for direct connections and for proxies alike (httpx mounts
    one transport per proxy)."""

    # httpx calls both with keywords (verify, cert, trust_env, http1, http2, limits), all of
    # which aiohttp's transport takes but the HTTP versions (it speaks HTTP/1.1).
    def _init_transport(
        self,
        *args: Any,
        transport: httpx.AsyncBaseTransport | None = None,
        **options: Any,
    ) -> httpx.AsyncBaseTransport:
        return transport or _Transport(**_aiohttp_options(options))

    def _init_proxy_transport(
        self, proxy: httpx.Proxy, *args: Any, **options: Any
    ) -> httpx.AsyncBaseTransport:
        return _Transport(proxy=_with_login_header(proxy), **_aiohttp_options(options))


def _with_login_header(proxy: httpx.Proxy) -> httpx.Proxy:
    """The proxy's login as a Proxy-Authorization header (sent by ``_Transport``):
    httpx-aiohttp 0.2.0 hands it to aiohttp as a ``BasicAuth``, which aiohttp 3.13 deprecates
    (a warning every request)."""
    if proxy.auth is None:
        return proxy
    login = base64.b64encode(":".join(proxy.auth).encode()).decode("ascii")
    headers = {**proxy.headers, "Proxy-Authorization": f"Basic {login}"}
    return httpx.Proxy(proxy.url, ssl_context=proxy.ssl_context, headers=headers)


def _aiohttp_options(options: dict[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in options.items() if name not in ("http1", "http2")}


class HttpFetcher:
    """The Fetcher port over one shared ``httpx.AsyncClient``; use it as an async context."""

    def __init__(
        self,
        deadline: float,
        max_body: int,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        max_connections: int = 20,
        per_host: int = 2,
        per_host_gap: float = 0.0,
        proxy: str | None = None,
        no_proxy: Sequence[str] = (),
    ) -> None:
        self.deadline = deadline
        self.max_body = max_body
        self.per_host = per_host
        self.per_host_gap = per_host_gap
        self._hosts: dict[str, _Host] = {}  # fifty feeds on one host: two at a time, spaced
        self._transport = transport
        self._max_connections = max_connections
        self._no_proxy = tuple(no_proxy)
        self._client = self._new_client(proxy)
        self._proxied: dict[str, httpx.AsyncClient] = {}  # feeds with a proxy of their own

    def _new_client(self, proxy: str | None) -> httpx.AsyncClient:
        """A client through ``proxy`` (None: the environment's, if any), straight to the
        ``no_proxy`` hosts."""
        # An injected transport (the tests' mock for what no local server gives) replaces
        # aiohttp's.
        client = httpx.AsyncClient if self._transport is not None else _Client
        direct = {f"all://{host}": self._transport or _Transport() for host in self._no_proxy}
        made = client(
            headers={
                "User-Agent": USER_AGENT,
                "Accept": ACCEPT,
                "Accept-Encoding": "gzip, deflate",
            },
            follow_redirects=True,
            max_redirects=MAX_REDIRECTS,
            # The deadline is the one limit, as documented: no phase of its own (a read
            # timeout once cut silent servers at 15 s within a 30 s deadline).
            timeout=httpx.Timeout(self.deadline),
            limits=httpx.Limits(max_connections=self._max_connections),
            transport=self._transport,
            proxy=proxy,
            mounts=direct or None,
        )
        return _with_cookies(made)

    async def __aenter__(self) -> HttpFetcher:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        for client in (self._client, *self._proxied.values()):
            await client.aclose()

    async def fetch(
        self, url: str, validators: Validators | None, access: Access = NO_ACCESS
    ) -> FetchResult:
        try:
            if url.lower().startswith("file:"):
                async with asyncio.timeout(self.deadline):
                    return await asyncio.to_thread(self._read_file, url, validators)
            host = self._host(url)
            async with host.slots:
                await host.turn(self.per_host_gap)
                async with asyncio.timeout(self.deadline):
                    started = time.monotonic()
                    result = await self._get(url, validators, access)
                    return dataclasses.replace(result, duration=time.monotonic() - started)
        except (TimeoutError, httpx.TimeoutException) as exc:  # ours, or httpx's at the same
            if isinstance(exc.__cause__, aiohttp.ClientConnectorError):
                # httpx-aiohttp 0.2.0 maps a refused connection to ConnectTimeout.
                raise FetchError(url, f"cannot connect: {exc.__cause__}") from None
            raise FetchError(url, f"no complete response within {self.deadline:g}s") from None
        except httpx.TooManyRedirects:
            raise FetchError(url, f"more than {MAX_REDIRECTS} redirects") from None
        except httpx.ConnectError as exc:
            raise FetchError(url, f"cannot connect: {exc or type(exc).__name__}") from None
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            raise FetchError(url, f"{type(exc).__name__}: {exc}") from None
        except (aiohttp.ClientError, aiohttp.http_exceptions.HttpProcessingError) as exc:
            # What httpx-aiohttp does not translate (a response that is not HTTP at all).
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
            raise FetchError(url, f"{type(exc).__name__}: {reason}".rstrip(": ")) from None

    def _host(self, url: str) -> _Host:
        name = _hostname(url)
        if name not in self._hosts:
            self._hosts[name] = _Host(asyncio.Semaphore(self.per_host))
        return self._hosts[name]

    async def _get(self, url: str, validators: Validators | None, access: Access) -> FetchResult:
        headers = dict(access.headers)
        if validators and validators.etag:
            headers["If-None-Match"] = validators.etag
        if validators and validators.last_modified:
            headers["If-Modified-Since"] = validators.last_modified
        client = self._client
        if access.proxy is not None:
            if access.proxy not in self._proxied:
                self._proxied[access.proxy] = self._new_client(access.proxy)
            client = self._proxied[access.proxy]
        extensions = None
        if access.secret:  # parsing the URL here, as well as in httpx, cost 7 % of a 304
            extensions = {_SECRETS: (_origin(httpx.URL(url)), tuple(access.secret))}
        stream = client.stream("GET", url, headers=headers, extensions=extensions)
        async with stream as response:
            if response.status_code in (401, 403) and access.secret:
                await response.aread()
                raise FetchError(
                    url,
                    f"authentication refused (HTTP {response.status_code})",
                    response.status_code,
                )
            if response.status_code == 304:
                # Read the (empty) body: a response left unread costs its connection.
                await response.aread()
                return FetchResult(
                    url,
                    304,
                    None,
                    validators.etag if validators else None,
                    validators.last_modified if validators else None,
                    hint=_freshness(response),
                    moved_to=_moved_to(response),
                )
            if response.status_code != 200:
                reason = response.reason_phrase or ""
                raise FetchError(
                    url,
                    f"HTTP {response.status_code} {reason}".strip(),
                    response.status_code,
                    response.headers.get("retry-after"),
                )
            inflater = _Inflater(url, response.headers.get("content-encoding", ""), self.max_body)
            body = bytearray()
            async for chunk in response.aiter_raw():
                body += inflater.feed(chunk)
            return FetchResult(
                url=url,
                status=200,
                body=bytes(body),
                etag=response.headers.get("etag"),
                last_modified=response.headers.get("last-modified"),
                content_type=response.headers.get("content-type"),
                hint=_freshness(response),
                moved_to=_moved_to(response),
            )

    def _read_file(self, url: str, validators: Validators | None) -> FetchResult:
        path = Path(unquote(urlsplit(url).path))
        try:
            stat = path.stat()
            # Our own validator: modification time in nanoseconds and size.
            tag = f'"{stat.st_mtime_ns:x}-{stat.st_size:x}"'
            if validators and validators.etag == tag:
                return FetchResult(url, 304, None, tag, None)
            if stat.st_size > self.max_body:
                raise FetchError(url, f"body larger than {self.max_body} bytes")
            body = path.read_bytes()
        except OSError as exc:
            raise FetchError(url, f"cannot read file: {exc.strerror or exc}") from None
        return FetchResult(url, 200, body, tag, None, None)
