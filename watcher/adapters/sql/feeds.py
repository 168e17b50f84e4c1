"""The feed ledger: which feeds are watched (the config's and those added from the command line),
where each stands between fetches, and what its last fetch brought."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    Connection,
    bindparam,
    delete,
    func,
    or_,
    select,
    update,
)

from watcher.adapters.sql.bulk import among, upsert
from watcher.adapters.sql.database import Database
from watcher.adapters.sql.rows import (
    display_name,
)
from watcher.adapters.sql.tables import (
    feeds,
)
from watcher.core.model import (
    FeedSchedule,
    FetchResult,
    QuietFetch,
    Validators,
)
from watcher.core.settings import AddedFeed, Feed


def _quiet_columns(status: str) -> dict[str, Any]:
    """``healthy`` as bound parameters, for many feeds in one statement."""
    return {
        "last_status": status,
        "last_http_status": bindparam("http_status"),
        **{column: bindparam(f"new_{column}") for column in healthy(None, None, None)},
    }


def _quiet_params(fetch: QuietFetch) -> dict[str, Any]:
    state = healthy(fetch.at, fetch.next_fetch, fetch.fetched)
    return {
        "feed_url": fetch.url,
        "http_status": fetch.fetched.status,
        **{f"new_{column}": value for column, value in state.items()},
    }


@functools.cache
def feed_update(names: tuple[str, ...]) -> Any:
    """UPDATE of one feed (``feed_url``) setting ``names`` from ``new_<name>`` parameters and
    adding ``churned`` to its guid churn; returns its id. Built once for each set of names:
    building it for every feed cost more than running it."""
    values: dict[str, Any] = {
        name: bindparam(f"new_{name}", type_=feeds.c[name].type) for name in names
    }
    values["guid_churn"] = feeds.c.guid_churn + bindparam("churned")
    return (
        update(feeds)
        .where(feeds.c.url == bindparam("feed_url"))
        .values(values)
        .returning(feeds.c.id)
    )


def healthy(
    now: datetime | None, next_fetch: datetime | None, fetched: FetchResult | None
) -> dict[str, Any]:
    """The feed state after a successful fetch, its lease ended (see ``ended_lease``)."""
    duration = fetched.duration if fetched else None
    return {
        **ended_lease(),
        "last_bytes": len(fetched.body) if fetched and fetched.body is not None else None,
        "last_duration_ms": round(duration * 1000) if duration is not None else None,
        "last_fetch_at": now,
        "last_ok_at": now,
        "last_error": None,
        "failures": 0,
        "failing_since": None,
        "paused_at": None,
        "next_fetch_at": next_fetch,
    }


def ended_lease() -> dict[str, Any]:
    """A feed's lease ends in the transaction that records its fetch, so that other workers
    may claim it as soon as it is due again and ``watcher status`` counts only what a worker
    still holds. (A worker that records after its lease lapsed, and another took the feed,
    ends that one's lease too: the feed may then be fetched once more, as after a takeover.)"""
    return {"lease_owner": None, "lease_until": None}


class SqlFeeds:
    """The feeds watched, where each stands between fetches, and what its last fetch brought."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def sync_feeds(self, configured: Sequence[Feed], now: datetime) -> None:
        """Make the feeds table agree with the config: add new feeds, update names, and
        mark feeds no longer configured (their entries stay). Only what differs is written:
        every start and reload syncs, and on a database shared by workers a write to every
        feed's row would wait on (and hold up) each of theirs."""
        columns = (feeds.c.url, feeds.c.name, feeds.c.category, feeds.c.configured, feeds.c.origin)
        with self.db.engine.begin() as conn:
            stored = {url: tuple(rest) for url, *rest in conn.execute(select(*columns))}
            changed = [
                feed
                for feed in configured
                if stored.get(feed.url) != (feed.name, feed.category, 1, "config")
            ]
            if changed:
                stmt = upsert(conn, feeds)
                stmt = stmt.on_conflict_do_update(
                    index_elements=[feeds.c.url],
                    set_={
                        "name": stmt.excluded.name,
                        "category": stmt.excluded.category,
                        "configured": 1,
                        "origin": "config",
                    },
                )
                rows = [
                    {"url": f.url, "name": f.name, "category": f.category, "configured": 1,
                     "created_at": now}
                    for f in changed
                ]  # fmt: skip
                conn.execute(stmt, rows)
            urls = {feed.url for feed in configured}
            gone = [
                url
                for url, (_, _, configured_, origin) in stored.items()
                if origin == "config" and configured_ and url not in urls
            ]
            for batch in among(gone):
                conn.execute(update(feeds).where(feeds.c.url.in_(list(batch))).values(configured=0))

    def feed_urls(self) -> list[str]:
        """Every feed the database knows, configured or not."""
        with self.db.engine.connect() as conn:
            return list(conn.scalars(select(feeds.c.url)))

    def cli_feeds(self) -> list[AddedFeed]:
        """The feeds added from the command line and not removed."""
        query = (
            select(feeds.c.url, feeds.c.name, feeds.c.interval_seconds, feeds.c.category)
            .where(feeds.c.origin == "cli", feeds.c.configured == 1)
            .order_by(feeds.c.id)
        )
        with self.db.engine.connect() as conn:
            return [
                AddedFeed(url, name, timedelta(seconds=seconds) if seconds else None, category)
                for url, name, seconds, category in conn.execute(query)
            ]

    def add_feeds(self, added: Sequence[AddedFeed], now: datetime) -> list[str]:
        """Add feeds from the command line; the URLs already known (from the config, or added
        before and not removed) are left as they are and returned."""
        with self.db.engine.begin() as conn:
            known = {
                url
                for (url,) in conn.execute(
                    select(feeds.c.url).where(
                        feeds.c.url.in_([feed.url for feed in added]), feeds.c.configured == 1
                    )
                )
            }
            for feed in added:
                if feed.url in known:
                    continue
                interval = feed.interval
                values = {
                    "name": feed.name,
                    "category": feed.category,
                    "configured": 1,
                    "origin": "cli",
                    "interval_seconds": int(interval.total_seconds()) if interval else None,
                }
                stmt = upsert(conn, feeds).values(url=feed.url, created_at=now, **values)
                conn.execute(stmt.on_conflict_do_update(index_elements=[feeds.c.url], set_=values))
        return sorted(known)

    def remove_feed(self, url_or_name: str, purge: bool) -> tuple[str, str] | None:
        """Stop polling a feed added from the command line (its entries stay unless
        ``purge``). Returns (url, origin), or None when no such feed is watched; a feed of the
        config file is returned untouched, with origin "config"."""
        with self.db.engine.begin() as conn:
            row = conn.execute(
                select(feeds.c.id, feeds.c.url, feeds.c.origin).where(
                    or_(feeds.c.url == url_or_name, display_name() == url_or_name),
                    feeds.c.configured == 1,
                )
            ).first()
            if row is None or row.origin != "cli":
                return None if row is None else (row.url, row.origin)
            if purge:
                conn.execute(delete(feeds).where(feeds.c.id == row.id))
            else:
                conn.execute(update(feeds).where(feeds.c.id == row.id).values(configured=0))
            return row.url, row.origin

    def validators(self, urls: Sequence[str]) -> dict[str, Validators]:
        out: dict[str, Validators] = {}
        with self.db.engine.connect() as conn:
            for batch in among(urls):
                rows = conn.execute(
                    select(
                        feeds.c.url, feeds.c.etag, feeds.c.last_modified, feeds.c.body_hash
                    ).where(feeds.c.url.in_(batch))
                )
                out.update(
                    {
                        row.url: Validators(row.etag, row.last_modified, row.body_hash)
                        for row in rows
                    }
                )
        return out

    def schedules(self, urls: Sequence[str] | None = None) -> dict[str, FeedSchedule]:
        """Where each fetched feed stands (of ``urls`` only, when given): next fetch, failures
        in a row, paused."""
        with self.db.engine.connect() as conn:
            if urls is None:
                return self._schedules(conn, None)
            found: dict[str, FeedSchedule] = {}
            for batch in among(list(urls)):
                found.update(self._schedules(conn, batch))
            return found

    def _schedules(self, conn: Connection, urls: Sequence[str] | None) -> dict[str, FeedSchedule]:
        query = select(
            feeds.c.url,
            feeds.c.next_fetch_at,
            feeds.c.failures,
            feeds.c.paused_at,
            feeds.c.last_ok_at,
            feeds.c.feed_hint,
            feeds.c.redirect_to,
            feeds.c.redirects_seen,
            feeds.c.moved_to,
        ).where(feeds.c.last_fetch_at.is_not(None))
        if urls is not None:
            query = query.where(feeds.c.url.in_(urls))
        return {
            row.url: FeedSchedule(
                row.next_fetch_at,
                row.failures,
                row.paused_at is not None,
                row.last_ok_at is not None,
                timedelta(seconds=row.feed_hint) if row.feed_hint else None,
                row.redirect_to,
                row.redirects_seen,
                row.moved_to,
            )
            for row in conn.execute(query)
        }

    def save_redirect(
        self, url: str, redirect_to: str | None, seen: int, moved_to: str | None
    ) -> None:
        """The permanent redirect a fetch met (None: none), on ``seen`` fetches in a row, and
        where the feed is fetched from now on."""
        with self.db.writing() as conn:
            conn.execute(
                update(feeds)
                .where(feeds.c.url == url)
                .values(redirect_to=redirect_to, redirects_seen=seen, moved_to=moved_to)
            )

    def resume(self, url_or_name: str, now: datetime) -> list[str]:
        """Un-pause the feeds with this URL or name and make them due now; their URLs."""
        with self.db.engine.begin() as conn:
            rows = conn.execute(
                update(feeds)
                .where((feeds.c.url == url_or_name) | (display_name() == url_or_name))
                .values(paused_at=None, failures=0, failing_since=None, next_fetch_at=now)
                .returning(feeds.c.url)
            )
            return [row.url for row in rows]

    def save_quiet(self, fetches: Sequence[QuietFetch]) -> None:
        """Record fetches that brought nothing new, in one transaction: a 304 changes only
        times and status; a 200 with the body read last time also its validators."""
        not_modified = [f for f in fetches if f.fetched.not_modified]
        unchanged = [f for f in fetches if not f.fetched.not_modified]
        by_url = feeds.c.url == bindparam("feed_url")
        with self.db.writing() as conn:
            if not_modified:
                conn.execute(
                    update(feeds).where(by_url).values(_quiet_columns("not-modified")),
                    [_quiet_params(f) for f in not_modified],
                )
            if unchanged:
                conn.execute(
                    update(feeds)
                    .where(by_url)
                    .values(
                        etag=bindparam("new_etag"),
                        last_modified=bindparam("new_last_modified"),
                        **_quiet_columns("unchanged"),
                    ),
                    [
                        _quiet_params(f)
                        | {"new_etag": f.fetched.etag, "new_last_modified": f.fetched.last_modified}
                        for f in unchanged
                    ],
                )

    def save_failure(
        self,
        url: str,
        reason: str,
        http_status: int | None,
        now: datetime,
        next_fetch: datetime | None = None,
        paused: bool = False,
    ) -> None:
        """A failed fetch: counted, with the reason; tried again at ``next_fetch`` (or, paused,
        only after ``watcher feeds resume``)."""
        with self.db.writing() as conn:
            conn.execute(
                update(feeds)
                .where(feeds.c.url == url)
                .values(
                    last_fetch_at=now,
                    last_status="failed",
                    last_http_status=http_status,
                    last_error=reason,
                    failures=feeds.c.failures + 1,
                    failing_since=func.coalesce(feeds.c.failing_since, now),
                    next_fetch_at=next_fetch,
                    paused_at=now if paused else None,
                    **ended_lease(),
                )
            )
