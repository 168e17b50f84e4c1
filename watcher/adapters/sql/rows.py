"""Rows as the core's data: entries, alerts and hits, and the selects they come from."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import (
    Connection,
    Row,
    func,
    select,
)

from watcher.adapters.sql.bulk import among
from watcher.adapters.sql.tables import (
    UTCDateTime,
    deliveries,
    entries,
    feeds,
    matches,
    revisions,
)
from watcher.core.model import (
    Alert,
    Entry,
    Hit,
)
from watcher.core.redact import mask_feed_url as shown
from watcher.core.views import StoryMember


def entry_time() -> Any:
    """When an entry happened: published, else updated, else first seen."""
    return func.coalesce(
        entries.c.published, entries.c.updated, entries.c.first_seen_at, type_=UTCDateTime()
    )


def display_name() -> Any:
    return func.coalesce(feeds.c.name, feeds.c.title, feeds.c.url)


def alert_select() -> Any:
    return (
        select(
            deliveries.c.id.label("delivery_id"),
            deliveries.c.target,
            deliveries.c.attempts,
            deliveries.c.revision.label("delivery_revision"),
            matches.c.rule,
            matches.c.hits,
            entries,
            display_name().label("feed_name"),
            feeds.c.url.label("feed_url"),
            revisions.c.title.label("previous_title"),
            revisions.c.summary.label("previous_summary"),
            revisions.c.content.label("previous_content"),
        )
        .join(matches, deliveries.c.match_id == matches.c.id)
        .join(entries, matches.c.entry_id == entries.c.id)
        .join(feeds, entries.c.feed_id == feeds.c.id)
        .outerjoin(
            revisions,
            (revisions.c.entry_id == entries.c.id) & (revisions.c.number == deliveries.c.revision),
        )
    )


def entry_of(row: Row[Any]) -> Entry:
    return Entry(
        key=row.key,
        title=row.title,
        link=row.link,
        guid=row.guid,
        published=row.published,
        updated=row.updated,
        summary=row.summary,
        content=row.content,
        author=row.author,
        tags=tuple(row.tags),
    )


def alert_of(row: Row[Any]) -> Alert:
    entry = entry_of(row)
    return Alert(
        delivery_id=row.delivery_id,
        target=row.target,
        rule=row.rule,
        hits=hits_of(row.hits),
        entry=entry,
        feed_name=shown(row.feed_name),
        feed_url=shown(row.feed_url),
        attempts=row.attempts,
        revision=row.delivery_revision,
        previous=None
        if row.previous_title is None
        else Entry(
            key=row.key,
            title=row.previous_title,
            link=row.link,
            summary=row.previous_summary,
            content=row.previous_content,
        ),
    )


def hits_of(stored: list[list[Any]]) -> tuple[Hit, ...]:
    return tuple(Hit(term, field, start, end) for field, start, end, term in stored)


def sources_of(first: str, members: Sequence[StoryMember]) -> tuple[str, ...]:
    """The feeds that reported a story, each once, the one shown first."""
    return tuple(dict.fromkeys((first, *(member.source for member in members))))


def story_members_of(
    conn: Connection, story_ids: Sequence[int]
) -> dict[int, tuple[StoryMember, ...]]:
    """Each story's entries, in the order they were first seen."""
    found: dict[int, list[StoryMember]] = {}
    for batch in among(list(set(story_ids))):
        rows = conn.execute(
            select(
                entries.c.story_id,
                entries.c.id,
                entries.c.title,
                entries.c.link,
                display_name().label("name"),
                entry_time().label("time"),
            )
            .join(feeds, entries.c.feed_id == feeds.c.id)
            .where(entries.c.story_id.in_(batch))
            .order_by(entries.c.first_seen_at, entries.c.id)
        )
        for row in rows:
            found.setdefault(row.story_id, []).append(
                StoryMember(row.id, row.title, row.link, shown(row.name), row.time)
            )
    return {story: tuple(members) for story, members in found.items()}
