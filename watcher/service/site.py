"""What the listener serves besides its health and metrics, read-only: the matches as live
feeds (``/feeds/matches.atom|json``, ``/feeds/rules/NAME.atom|json``) and the digest page
(``/``) with each rule's trend.

Every request is counted against its client's rate limit, then must carry the access token
when one is set (a bearer header, or ``?token=`` for readers that cannot send headers),
compared in constant time. Feeds answer conditional requests (a strong ETag of the body, and
Last-Modified), so a reader polling every few minutes costs a 304.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import math
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime
from email.utils import format_datetime, parsedate_to_datetime
from urllib.parse import quote, urlencode

from watcher.core.durations import parse_moment
from watcher.core.matching.matcher import Matcher
from watcher.core.matching.tree import QueryError
from watcher.core.ratelimit import RateLimit
from watcher.core.views import DigestQuery
from watcher.ports import Clock, StoryReports, WebRequest, WebResponse
from watcher.render.chart import span_start, trends
from watcher.render.digest import DigestPage, search_matcher, searched
from watcher.render.feeds import (
    FeedInfo,
    feed_path,
    feed_stories,
    last_modified,
    to_atom_feed,
    to_json_feed,
)
from watcher.render.page import PAGE_POLICY, SiteLinks, to_html

log = logging.getLogger(__name__)

FEED_ROWS = 100  # the newest matches a feed is made of (a story matched by two rules: two)
PAGE_LIMIT = 500  # stories on the page at most, unless ?limit= asks for fewer
RATE, BURST = 2.0, 60  # requests a second per client, and how many it may make at once
_FEED_PATH = re.compile(r"/feeds/(?:matches|rules/(?P<rule>[^/]+))\.(?P<kind>atom|json)")
_HOST = re.compile(r"[A-Za-z0-9.\-]+(:\d+)?|\[[0-9A-Fa-f:.]+\](:\d+)?")
_FEED_TYPES = {"atom": "application/atom+xml", "json": "application/feed+json"}
_FEED_POLICY = "default-src 'none'; sandbox; frame-ancestors 'none'"
_COMMON = (
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "no-referrer"),
    ("X-Frame-Options", "DENY"),
)


class BadRequest(ValueError):
    """A query parameter that cannot be used (the message says which and why)."""


class Site:
    """Answers the listener's requests but for its own (``/healthz``, ``/metrics``)."""

    def __init__(
        self,
        reports: StoryReports,
        rules: Sequence[str],
        token: str | None,
        clock: Clock,
        monotonic: Callable[[], float] = time.monotonic,
        limit: RateLimit | None = None,
    ) -> None:
        self._reports = reports
        self._rules = tuple(rules)
        self._token = _digest(token) if token else None
        self._clock, self._monotonic = clock, monotonic
        self._limit = limit or RateLimit(RATE, BURST)

    def __call__(self, request: WebRequest) -> WebResponse:
        if request.method not in ("GET", "HEAD"):
            return _text(405, "only GET and HEAD: nothing here changes", ("Allow", "GET, HEAD"))
        wait = self._limit.allow(request.client, self._monotonic())
        if wait:
            return _text(429, "too many requests", ("Retry-After", str(math.ceil(wait))))
        if not self._authorised(request):
            return _text(
                401,
                "an access token is needed: Authorization: Bearer TOKEN, or ?token=TOKEN",
                ("WWW-Authenticate", 'Bearer realm="feed-watcher"'),
            )
        try:
            if request.path == "/":
                return self._page(request)
            found = _FEED_PATH.fullmatch(request.path)
            if found is None:
                return _text(404, "not found: try /, /feeds/matches.atom, /healthz or /metrics")
            return self._feed(request, found["rule"], found["kind"])
        except BadRequest as exc:
            return _text(400, str(exc))
        except Exception:  # the database away: say so, and keep serving
            log.warning("http: cannot read the stored matches", exc_info=True)
            return _text(503, "the stored matches cannot be read now", ("Retry-After", "60"))

    def _authorised(self, request: WebRequest) -> bool:
        if self._token is None:
            return True
        scheme, _, given = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not given.strip():
            given = request.query.get("token", "")
        # Digests of equal length, compared in constant time: neither the token's length nor
        # how much of it a guess got right shows in the time taken.
        return bool(given) and hmac.compare_digest(_digest(given.strip()), self._token)

    def _feed(self, request: WebRequest, rule: str | None, kind: str) -> WebResponse:
        if rule is not None and rule not in self._rules:
            return _text(404, f"no rule named {rule!r}")
        rows = self._reports.digest(DigestQuery(rules=(rule,) if rule else (), limit=FEED_ROWS))
        stories = feed_stories(rows)
        base = _base(request)
        name = "every match" if rule is None else f"rule {rule}"
        info = FeedInfo(
            id="urn:feed-watcher:feed:" + ("matches" if rule is None else f"rule:{quote(rule)}"),
            title=f"feed-watcher: {name}",
            self_url=base + feed_path(rule, kind),
            page_url=base + "/" + (f"?{urlencode({'rule': rule, 'since': '30d'})}" if rule else ""),
        )
        body = to_atom_feed(info, stories) if kind == "atom" else to_json_feed(info, stories)
        return _conditional(request, body, last_modified(stories), _FEED_TYPES[kind])

    def _page(self, request: WebRequest) -> WebResponse:
        query, matcher, filters = self._page_query(request)
        now = self._clock()
        rows = self._reports.digest(replace(query, limit=None if matcher else query.limit))
        if matcher is not None:
            rows = searched(rows, matcher, query.limit)
        counted = replace(query, since=span_start(now), until=None, limit=None)
        drawn = trends(self._reports.match_times(counted), now, query.rules or self._rules)
        page = DigestPage(tuple(rows), now, query.since, query.until, tuple(filters.items()))
        carried = (("token", request.query["token"]),) if "token" in request.query else ()
        base = _base(request)

        def feed(rule: str | None, kind: str) -> str:
            return base + feed_path(rule, kind) + (f"?{urlencode(carried)}" if carried else "")

        site = SiteLinks(feed, {k: v for k, v in filters.items() if v}, carried)
        body = to_html(page, drawn, site).encode("utf-8")
        return WebResponse(
            200,
            (
                ("Content-Type", "text/html; charset=utf-8"),
                ("Content-Security-Policy", PAGE_POLICY),
                ("Cache-Control", "no-store"),
                *_COMMON,
            ),
            body,
        )

    def _page_query(
        self, request: WebRequest
    ) -> tuple[DigestQuery, Matcher | None, dict[str, str]]:
        """The page's filters, as ``watcher digest`` takes them (several rules or feeds:
        comma-separated)."""
        q = {name: value.strip() for name, value in request.query.items()}
        since = self._moment("since", q.get("since") or "24h")
        until = self._moment("until", q["until"]) if q.get("until") else None
        limit = q.get("limit", "")
        if limit and not (limit.isdigit() and 0 < int(limit) <= PAGE_LIMIT):
            raise BadRequest(f"limit: a number from 1 to {PAGE_LIMIT}, not {limit!r}")
        matcher = None
        if q.get("search"):
            try:
                matcher = search_matcher(q["search"])
            except QueryError as exc:
                raise BadRequest(f"search: {exc.explain()}") from None
        query = DigestQuery(
            since=since,
            until=until,
            rules=_listed(q.get("rule", "")),
            feeds=_listed(q.get("feed", "")),
            changed=q.get("changed", "") not in ("", "0", "no", "false"),
            limit=int(limit) if limit else PAGE_LIMIT,
            category=q.get("category") or None,
        )
        shown = ("since", "until", "rule", "feed", "search", "category")
        filters = {name: q.get(name, "") for name in shown} | {"since": q.get("since") or "24h"}
        if query.changed:
            filters["changed"] = "1"
        return query, matcher, filters

    def _moment(self, name: str, text: str) -> datetime:
        try:
            return parse_moment(text, self._clock())
        except ValueError as exc:
            raise BadRequest(f"{name}: {exc}") from None


def _listed(text: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in text.split(",") if part.strip())


def _conditional(
    request: WebRequest, body: bytes, modified: datetime, content_type: str
) -> WebResponse:
    """``body`` with its validators, or 304 when the request's validators still hold
    (If-None-Match first; If-Modified-Since only without it, RFC 9110 section 13.2.2)."""
    tag = f'"{hashlib.sha256(body).hexdigest()[:32]}"'
    headers = (
        ("ETag", tag),
        ("Last-Modified", format_datetime(modified.replace(microsecond=0), usegmt=True)),
        ("Cache-Control", "private, no-cache"),
        ("Content-Security-Policy", _FEED_POLICY),
        *_COMMON,
    )
    if _still_fresh(request, tag, modified):
        return WebResponse(304, headers)
    return WebResponse(200, (("Content-Type", f"{content_type}; charset=utf-8"), *headers), body)


def _still_fresh(request: WebRequest, tag: str, modified: datetime) -> bool:
    if (matches := request.headers.get("if-none-match")) is not None:
        given = [t.strip().removeprefix("W/") for t in matches.split(",")]
        return "*" in given or tag in given
    if (since := request.headers.get("if-modified-since")) is not None:
        try:
            return modified.replace(microsecond=0) <= parsedate_to_datetime(since)
        except (TypeError, ValueError):  # a date that cannot be read counts for nothing
            return False
    return False


def _base(request: WebRequest) -> str:
    """``http://HOST`` as the client addressed us (a Host header of another shape is not
    echoed)."""
    host = request.headers.get("host", "")
    return f"http://{host}" if _HOST.fullmatch(host) else ""


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode("utf-8")).digest()


def _text(status: int, message: str, *extra: tuple[str, str]) -> WebResponse:
    return WebResponse(
        status,
        (("Content-Type", "text/plain; charset=utf-8"), *extra, *_COMMON),
        (message + "\n").encode("utf-8"),
    )
