"""What people read of the stored state: the digest, an entry's detail, feed statuses, counts per
rule, and the daemon's record of its cycles."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    Connection,
    Select,
    case,
    delete,
    func,
    insert,
    or_,
    select,
)

from watcher.adapters.sql.bulk import among
from watcher.adapters.sql.database import Database
from watcher.adapters.sql.rows import (
    display_name,
    entry_of,
    entry_time,
    hits_of,
    sources_of,
    story_members_of,
)
from watcher.adapters.sql.tables import (
    cycles,
    deliveries,
    entries,
    feeds,
    matches,
    revisions,
)
from watcher.core.model import (
    CycleRecord,
    Match,
)
from watcher.core.redact import mask_feed_url as shown
from watcher.core.redact import mask_feed_urls
from watcher.core.views import (
    DeliveryMark,
    DigestQuery,
    DigestRow,
    EntryDetail,
    FeedStatus,
    Revision,
    SentRecord,
    StoredEntry,
)

_CYCLES_KEPT = 100


class SqlReports:
    """The digest, entry details, feed statuses, counts per rule, and the cycles' record."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def digest(self, wanted: DigestQuery) -> list[DigestRow]:
        """Stored matches, newest first (by publication time, else update, else first sight),
        one per rule and story, with the story's entries and the match's deliveries."""
        when = entry_time()
        changed_at = (
            select(func.max(revisions.c.seen_at))
            .where(revisions.c.entry_id == entries.c.id)
            .scalar_subquery()
        )
        query = _filtered(
            select(
                matches.c.id.label("match_id"),
                entries.c.id.label("entry_id"),
                when.label("time"),
                matches.c.rule,
                matches.c.hits,
                matches.c.terms,
                entries.c.title,
                entries.c.link,
                entries.c.summary,
                entries.c.revision,
                display_name().label("feed_name"),
                feeds.c.url.label("feed_url"),
                feeds.c.category,
                entries.c.story_id,
                changed_at.label("changed_at"),
            ),
            wanted,
        ).order_by(when.desc(), matches.c.id.desc())
        if wanted.limit is not None:
            query = query.limit(wanted.limit)
        with self.db.engine.connect() as conn:
            rows = conn.execute(query).all()
            members = story_members_of(conn, [r.story_id for r in rows if r.story_id])
            sent = self._deliveries_of(conn, [r.match_id for r in rows])
        return [
            DigestRow(
                match_id=row.match_id,
                entry_id=row.entry_id,
                time=row.time,
                rule=row.rule,
                hits=hits_of(row.hits),
                title=row.title,
                link=row.link,
                feed_name=shown(row.feed_name),
                summary=row.summary,
                story_id=row.story_id,
                sources=sources_of(shown(row.feed_name), members.get(row.story_id, ())),
                feed_url=shown(row.feed_url),
                revision=row.revision,
                members=members.get(row.story_id, ()),
                deliveries=sent.get(row.match_id, ()),
                matched_terms=tuple(row.terms),
                category=row.category,
                changed_at=row.changed_at if row.revision else None,
            )
            for row in rows
        ]

    def match_times(self, wanted: DigestQuery) -> list[tuple[str, datetime]]:
        """(rule, matched at) of each story the digest would show, for trends over time."""
        query = _filtered(select(matches.c.rule, matches.c.matched_at), wanted)
        with self.db.engine.connect() as conn:
            return [(row.rule, row.matched_at) for row in conn.execute(query)]

    def _deliveries_of(
        self, conn: Connection, match_ids: Sequence[int]
    ) -> dict[int, tuple[DeliveryMark, ...]]:
        found: dict[int, list[DeliveryMark]] = {}
        for batch in among(list(set(match_ids))):
            rows = conn.execute(
                select(
                    deliveries.c.match_id,
                    deliveries.c.target,
                    deliveries.c.status,
                    deliveries.c.attempts,
                    deliveries.c.sent_at,
                    deliveries.c.revision,
                )
                .where(deliveries.c.match_id.in_(batch))
                .order_by(deliveries.c.id)
            )
            for row in rows:
                found.setdefault(row.match_id, []).append(
                    DeliveryMark(row.target, row.status, row.attempts, row.sent_at, row.revision)
                )
        return {match: tuple(marks) for match, marks in found.items()}

    def rule_counts(self, now: datetime) -> dict[str, tuple[int, int]]:
        """Matches per rule found in the last 24 hours and the last 7 days."""
        day = now - timedelta(days=1)
        query = (
            select(
                matches.c.rule,
                func.sum(case((matches.c.matched_at >= day, 1), else_=0)),
                func.count(),
            )
            .where(matches.c.matched_at >= now - timedelta(days=7))
            .group_by(matches.c.rule)
        )
        with self.db.engine.connect() as conn:
            return {str(row[0]): (int(row[1] or 0), int(row[2])) for row in conn.execute(query)}

    def stored_entries(self, since: datetime | None) -> Iterator[StoredEntry]:
        """Stored entries first seen since ``since``, newest first, read in batches."""
        query = (
            select(
                entries,
                display_name().label("feed_name"),
                feeds.c.url.label("feed_url"),
                feeds.c.category.label("feed_category"),
                entry_time().label("time"),
            )
            .join(feeds, entries.c.feed_id == feeds.c.id)
            .order_by(entries.c.first_seen_at.desc(), entries.c.id.desc())
            .execution_options(yield_per=500)
        )
        if since is not None:
            query = query.where(entries.c.first_seen_at >= since)
        with self.db.engine.connect() as conn:
            for row in conn.execute(query):
                yield StoredEntry(
                    row.id, entry_of(row), row.feed_name, row.feed_url, row.time, row.feed_category
                )

    def feed_statuses(self) -> list[FeedStatus]:
        counts = (
            select(entries.c.feed_id, func.count().label("n"))
            .group_by(entries.c.feed_id)
            .subquery()
        )
        query = (
            select(
                feeds,
                display_name().label("display"),
                func.coalesce(counts.c.n, 0).label("n"),
            )
            .outerjoin(counts, counts.c.feed_id == feeds.c.id)
            .order_by(feeds.c.configured.desc(), feeds.c.id)
        )
        with self.db.engine.connect() as conn:
            return [
                FeedStatus(
                    url=shown(row.url),
                    name=shown(row.display),
                    configured=bool(row.configured),
                    last_fetch=row.last_fetch_at,
                    last_status=row.last_status,
                    entries=row.n,
                    last_error=row.last_error and mask_feed_urls(row.last_error),
                    warning=row.last_warning,
                    guid_churn=row.guid_churn,
                    failures=row.failures,
                    failing_since=row.failing_since,
                    next_fetch=row.next_fetch_at,
                    paused=row.paused_at is not None,
                    category=row.category,
                    moved_to=row.moved_to and shown(row.moved_to),
                    last_bytes=row.last_bytes,
                    last_duration_ms=row.last_duration_ms,
                )
                for row in conn.execute(query)
            ]

    def entry_detail(self, entry_id: int) -> EntryDetail | None:
        """An entry with its revisions, matches, deliveries and story, or None."""
        with self.db.engine.connect() as conn:
            row = conn.execute(
                select(entries, display_name().label("feed_name"), feeds.c.url.label("feed_url"))
                .join(feeds, entries.c.feed_id == feeds.c.id)
                .where(entries.c.id == entry_id)
            ).first()
            if row is None:
                return None
            history = conn.execute(
                select(revisions)
                .where(revisions.c.entry_id == entry_id)
                .order_by(revisions.c.number)
            ).all()
            found = conn.execute(
                select(matches).where(matches.c.entry_id == entry_id).order_by(matches.c.id)
            ).all()
            sent = conn.execute(
                select(deliveries, matches.c.rule)
                .join(matches, deliveries.c.match_id == matches.c.id)
                .where(matches.c.entry_id == entry_id)
                .order_by(deliveries.c.id)
            ).all()
            members = self._story_members(conn, row.story_id, entry_id)
        return EntryDetail(
            entry_id=row.id,
            entry=entry_of(row),
            feed_name=shown(row.feed_name),
            feed_url=shown(row.feed_url),
            first_seen=row.first_seen_at,
            revision=row.revision,
            pruned=row.pruned_at is not None,
            revisions=tuple(Revision(r.number, r.seen_at, r.title, r.summary) for r in history),
            matches=tuple((Match(m.rule, hits_of(m.hits)), bool(m.silent)) for m in found),
            deliveries=tuple(
                SentRecord(
                    d.rule, d.target, d.revision, d.status, d.attempts, d.sent_at, d.last_error
                )
                for d in sent
            ),
            story_id=row.story_id,
            story=members,
        )

    def _story_members(
        self, conn: Connection, story_id: int | None, but: int
    ) -> tuple[StoredEntry, ...]:
        if story_id is None:
            return ()
        rows = conn.execute(
            select(
                entries,
                display_name().label("feed_name"),
                feeds.c.url.label("feed_url"),
                entry_time().label("time"),
            )
            .join(feeds, entries.c.feed_id == feeds.c.id)
            .where(entries.c.story_id == story_id, entries.c.id != but)
            .order_by(entries.c.first_seen_at, entries.c.id)
        )
        return tuple(
            StoredEntry(r.id, entry_of(r), shown(r.feed_name), shown(r.feed_url), r.time)
            for r in rows
        )

    def record_cycle(self, record: CycleRecord) -> None:
        """Keep the daemon's cycle for ``watcher status``; only the last ones are kept."""
        with self.db.writing() as conn:
            new_id = conn.execute(
                insert(cycles).values(dataclasses.asdict(record)).returning(cycles.c.id)
            ).scalar_one()
            conn.execute(delete(cycles).where(cycles.c.id <= new_id - _CYCLES_KEPT))

    def last_cycle(self) -> CycleRecord | None:
        with self.db.engine.connect() as conn:
            row = conn.execute(select(cycles).order_by(cycles.c.id.desc()).limit(1)).first()
        if row is None:
            return None
        return CycleRecord(**{k: v for k, v in row._mapping.items() if k != "id"})

    def failing_feeds(self) -> int:
        """Configured feeds whose last fetch failed (paused ones included)."""
        with self.db.engine.connect() as conn:
            return int(
                conn.execute(
                    select(func.count())
                    .select_from(feeds)
                    .where(feeds.c.configured == 1, feeds.c.failures > 0)
                ).scalar_one()
            )


def _filtered(query: Select[Any], wanted: DigestQuery) -> Select[Any]:
    """``query`` over the digest's stories (a story shows once, through its first match)
    with the filters of ``wanted``; its limit is left to the caller."""
    query = (
        query.select_from(matches)
        .join(entries, matches.c.entry_id == entries.c.id)
        .join(feeds, entries.c.feed_id == feeds.c.id)
        .where(matches.c.silent == 0)
    )
    if wanted.since is not None:
        query = query.where(matches.c.matched_at >= wanted.since)
    if wanted.until is not None:
        query = query.where(matches.c.matched_at < wanted.until)
    if wanted.rules:
        query = query.where(matches.c.rule.in_(wanted.rules))
    if wanted.feeds:
        query = query.where(or_(feeds.c.url.in_(wanted.feeds), display_name().in_(wanted.feeds)))
    if wanted.changed:
        query = query.where(entries.c.revision > 0)
    if wanted.category:
        folder = wanted.category.strip("/").lower()
        category = func.lower(feeds.c.category)
        query = query.where(or_(category == folder, category.startswith(folder + "/")))
    return query
