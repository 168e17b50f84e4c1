"""What the configuration says, as the rest of feed-watcher uses it: frozen, validated data.

The config file is read and checked in ``watcher.config`` (pydantic lives there); everything
else, the parser processes included, needs only these plain dataclasses, which import nothing
heavier than the query language.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import time as dt_time
from datetime import timedelta
from typing import Any

from watcher.core.matching.query import keywords_query, parse_query
from watcher.core.matching.tree import And, Node, Not

StoredRule = tuple[str, str, tuple[str, ...] | None]  # a CLI-added rule: (name, query, notify)


def in_category(category: str | None, wanted: str) -> bool:
    """Whether a feed of ``category`` is in ``wanted``: the same, or a folder inside it
    ("Asia/China" is in "Asia"), regardless of case."""
    if category is None:
        return False
    have, want = category.casefold().strip("/"), wanted.casefold().strip("/")
    return have == want or have.startswith(want + "/")


@dataclass(frozen=True, slots=True)
class AddedFeed:
    """A feed added from the command line (`feeds add`, `feeds import`), as stored."""

    url: str
    name: str | None = None
    interval: timedelta | None = None  # None: the config's
    category: str | None = None


@dataclass(frozen=True, slots=True)
class Templates:
    """A target's own title and body templates, Jinja2 source (None: the default for that
    part); watcher.render.templates renders them."""

    title: str | None = None
    body: str | None = None


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How a target's failed deliveries are retried: ``attempts`` in all, the first retry after
    ``backoff``, each later one after twice the previous delay, at most ``ceiling`` apart."""

    attempts: int = 10
    backoff: timedelta = timedelta(seconds=30)
    ceiling: timedelta = timedelta(hours=1)


WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True, slots=True)
class DigestSchedule:
    """When a digest target sends: at these local times, on these weekdays (0 = Monday)."""

    times: tuple[dt_time, ...]
    timezone: str = "UTC"
    days: frozenset[int] = frozenset(range(7))


@dataclass(frozen=True, slots=True)
class Access:
    """What a feed's requests carry besides its URL: headers (among them the Authorization
    made of its login) and the proxy they go through (None: the config's, else the
    environment's). The values of ``secret`` headers are never shown, and never sent on to
    another host when the feed redirects there."""

    headers: tuple[tuple[str, str], ...] = ()
    secret: frozenset[str] = frozenset()  # lower-case header names
    proxy: str | None = None


NO_ACCESS = Access()


@dataclass(frozen=True, slots=True)
class Feed:
    url: str
    name: str | None
    interval: timedelta
    # The bounds within which the feed's own hints (<ttl>, sy:updatePeriod, Cache-Control,
    # Expires) may move its interval; None: the interval itself, and an hour (or the interval
    # when that is longer).
    min_interval: timedelta | None = None
    max_interval: timedelta | None = None
    access: Access = NO_ACCESS
    category: str | None = None


@dataclass(frozen=True, slots=True)
class Rule:
    name: str
    query: Node
    source: str  # the query as written (keywords shown as a query), for people
    notify: tuple[str, ...] | None = None  # None: every target
    plurals: bool = True
    feeds: tuple[str, ...] = ()  # only entries from these feeds (names or URLs); () = all
    tags: tuple[str, ...] = ()  # only entries with one of these tags; () = any
    categories: tuple[str, ...] = ()  # only entries of feeds in these categories; () = all
    notify_on: frozenset[str] = frozenset({"new"})  # "new", and "changed" to hear of edits


def make_rule(
    name: str,
    query: str | None = None,
    keywords: Sequence[str] | None = None,
    exclude: str | None = None,
    **options: Any,
) -> Rule:
    """A rule from a query or keywords (raises QueryError naming the column)."""
    if keywords is not None:
        node: Node = keywords_query(tuple(keywords))
        source = " OR ".join(json.dumps(k, ensure_ascii=False) for k in keywords)
    else:
        assert query is not None
        node, source = parse_query(query), " ".join(query.split())
    if exclude is not None:
        node = And((node, Not(parse_query(exclude))))
        source = f"({source}) AND NOT ({' '.join(exclude.split())})"
    return Rule(name, node, source, **options)


@dataclass(frozen=True, slots=True)
class Target:
    name: str
    url: str  # a secret: show it only through watcher.redact
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    gap: timedelta = timedelta(seconds=1)  # the shortest time between two messages
    max_burst: int = 20  # more due at once than this: one summary instead
    mode: str = "instant"  # "instant", "batch" (every `every`) or "digest" (on `digest`)
    every: timedelta = timedelta(minutes=10)
    digest: DigestSchedule | None = None
    send_empty: bool = False
    templates: Templates = field(default_factory=Templates)
    rules: tuple[str, ...] = ()  # only alerts of these rules; () = every rule


_EMAIL_GAP = timedelta(seconds=2)  # 30 messages a minute: what mail relays tolerate


def default_gap(url: str) -> timedelta:
    """The rate a target gets when its config names none."""
    scheme = url.split(":", 1)[0].lower()
    return _EMAIL_GAP if scheme in ("mailto", "mailtos") else timedelta(seconds=1)


@dataclass(frozen=True, slots=True)
class Config:
    source: str
    database: str | None  # None: the default location, see watcher.locations
    interval: timedelta
    timeout: timedelta
    max_body: int
    concurrency: int
    per_host: int  # fetches from one host at the same time
    per_host_gap: timedelta  # between the starts of two fetches from one host
    tracking_params: tuple[str, ...]
    clustering: bool
    cluster_threshold: float
    cluster_window: timedelta
    retention: timedelta | None  # None: keep everything
    backlog: timedelta  # entries older than this when first seen are not notified...
    notify_backlog: bool  # ...nor those a feed holds when first read, unless this is true
    max_backoff: timedelta  # the longest wait before retrying a failing feed
    min_interval: timedelta | None  # the defaults of feeds that do not set their own
    max_interval: timedelta
    stop_timeout: timedelta  # in-flight work gets this long to finish when stopping
    lease: timedelta  # how long a worker's claim on a feed or a delivery holds unrenewed
    http: tuple[str, int] | None  # where the listener serves, if anywhere
    feeds: tuple[Feed, ...]
    rules: tuple[Rule, ...]
    targets: tuple[Target, ...]
    proxy: str | None = None  # every feed's, unless it has its own (None: the environment's)
    no_proxy: tuple[str, ...] = ()  # hosts reached directly, whatever the proxy
    http_token: str | None = None  # asked of the listener's pages and feeds, when set

    def added_feed(self, added: AddedFeed) -> Feed:
        """A feed added from the command line, with this config's defaults."""
        interval = added.interval or self.interval
        return Feed(
            added.url, added.name, interval, self.min_interval, self.max_interval,
            category=added.category,
        )  # fmt: skip

    def targets_for(self, rule: Rule) -> tuple[str, ...]:
        """The names of the targets a rule notifies: the rule's ``notify`` (default: every
        target), less the targets that subscribe to other rules only."""
        names = rule.notify if rule.notify is not None else tuple(t.name for t in self.targets)
        subscribed = {t.name: t.rules for t in self.targets}
        return tuple(
            name for name in names if not subscribed.get(name) or rule.name in subscribed[name]
        )
