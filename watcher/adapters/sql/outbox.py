"""The outbox: deliveries due, claimed, sent, failed and re-queued, per target."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime

from sqlalchemy import (
    func,
    select,
    update,
)
from sqlalchemy.sql.elements import ColumnElement

from watcher.adapters.sql.bulk import upsert
from watcher.adapters.sql.database import Database
from watcher.adapters.sql.rows import (
    alert_of,
    alert_select,
    sources_of,
    story_members_of,
)
from watcher.adapters.sql.tables import (
    deliveries,
    entries,
    matches,
    target_state,
)
from watcher.core.model import (
    Alert,
)
from watcher.core.redact import mask_feed_url as shown
from watcher.core.views import (
    GAVE_UP,
    DeliveryRow,
)


class SqlOutbox:
    """Deliveries due, claimed, sent, failed and re-queued, per target."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def due_targets(self, now: datetime) -> list[str]:
        with self.db.engine.connect() as conn:
            return list(
                conn.scalars(
                    select(deliveries.c.target)
                    .where(deliveries.c.status == "pending", deliveries.c.next_attempt_at <= now)
                    .distinct()
                    .order_by(deliveries.c.target)
                )
            )

    def due_alerts(
        self,
        now: datetime,
        limit: int,
        target: str | None = None,
        after: int = 0,
        claim: bool = True,
    ) -> list[Alert]:
        """Pending deliveries whose time has come, oldest first. When cooperative (and
        ``claim``) they are claimed for this process: another worker sees them again only
        after ``lease`` (if this one died before recording the send: the documented single
        repeat)."""
        due = (deliveries.c.status == "pending") & (deliveries.c.next_attempt_at <= now)
        if target is not None:
            due &= deliveries.c.target == target
        if after:
            due &= deliveries.c.id > after
        query = alert_select().order_by(deliveries.c.id)
        with self.db.engine.begin() as conn:
            if self.db.cooperative and claim:
                claimable = (
                    select(deliveries.c.id)
                    .where(due)
                    .order_by(deliveries.c.id)
                    .limit(limit)
                    .with_for_update(skip_locked=True)
                )
                claimed = conn.execute(
                    update(deliveries)
                    .where(deliveries.c.id.in_(claimable.scalar_subquery()))
                    .values(next_attempt_at=now + self.db.lease)
                    .returning(deliveries.c.id)
                ).scalars()
                query = query.where(deliveries.c.id.in_(list(claimed)))
            else:
                query = query.where(due).limit(limit)
            rows = conn.execute(query).all()
            members = story_members_of(conn, [r.story_id for r in rows if r.story_id])
        return [
            replace(
                alert_of(row),
                sources=sources_of(shown(row.feed_name), members.get(row.story_id, ()))[1:],
            )
            for row in rows
        ]

    def target_sent(self, target: str) -> datetime | None:
        """When a batch or digest target last sent."""
        with self.db.engine.connect() as conn:
            value = conn.scalar(
                select(target_state.c.last_sent_at).where(target_state.c.target == target)
            )
            return value

    def set_target_sent(self, target: str, when: datetime) -> None:
        with self.db.engine.begin() as conn:
            stmt = upsert(conn, target_state).values(target=target, last_sent_at=when)
            conn.execute(
                stmt.on_conflict_do_update(
                    index_elements=[target_state.c.target],
                    set_={"last_sent_at": stmt.excluded.last_sent_at},
                )
            )

    def mark_sent(self, delivery_id: int, now: datetime) -> None:
        with self.db.engine.begin() as conn:
            conn.execute(
                update(deliveries)
                .where(deliveries.c.id == delivery_id)
                .values(
                    status="sent",
                    sent_at=now,
                    attempts=deliveries.c.attempts + 1,
                    last_error=None,
                )
            )

    def mark_failed_attempt(
        self, delivery_id: int, reason: str, retry_at: datetime | None, now: datetime
    ) -> None:
        with self.db.engine.begin() as conn:
            conn.execute(
                update(deliveries)
                .where(deliveries.c.id == delivery_id)
                .values(
                    status="pending" if retry_at else "failed",
                    attempts=deliveries.c.attempts + 1,
                    last_error=reason,
                    next_attempt_at=retry_at or now,
                )
            )

    def deliveries(self, statuses: Sequence[str], limit: int | None = None) -> list[DeliveryRow]:
        """Deliveries in these states, oldest first."""
        query = (
            select(
                deliveries,
                matches.c.rule,
                entries.c.id.label("entry_id"),
                entries.c.title,
            )
            .join(matches, deliveries.c.match_id == matches.c.id)
            .join(entries, matches.c.entry_id == entries.c.id)
            .where(deliveries.c.status.in_(statuses))
            .order_by(deliveries.c.id)
            .limit(limit)
        )
        with self.db.engine.connect() as conn:
            return [
                DeliveryRow(
                    row.id,
                    row.target,
                    row.status,
                    row.attempts,
                    row.next_attempt_at,
                    row.last_error,
                    row.rule,
                    row.entry_id,
                    row.title,
                    row.revision,
                )
                for row in conn.execute(query)
            ]

    def requeue(
        self, ids: Sequence[int] | None, now: datetime, targets: Sequence[str] | None = None
    ) -> int:
        """Make deliveries due now with a fresh set of attempts: the given ones (failed,
        orphaned or waiting to retry), or with ``ids=None`` every failed or orphaned one; with
        ``targets``, only those to these targets. Returns how many."""
        where: ColumnElement[bool] = deliveries.c.status.in_(GAVE_UP)
        if ids is not None:
            where = deliveries.c.id.in_(ids) & deliveries.c.status.in_((*GAVE_UP, "pending"))
        if targets is not None:
            where = where & deliveries.c.target.in_(targets)
        with self.db.engine.begin() as conn:
            return int(
                conn.execute(
                    update(deliveries)
                    .where(where)
                    .values(status="pending", attempts=0, next_attempt_at=now)
                ).rowcount
            )

    def delivery_backlog(self) -> dict[str, dict[str, int]]:
        """Per target, how many deliveries are pending, failed for good, and orphaned (their
        target left the config)."""
        query = (
            select(deliveries.c.target, deliveries.c.status, func.count())
            .where(deliveries.c.status.in_(("pending", *GAVE_UP)))
            .group_by(deliveries.c.target, deliveries.c.status)
        )
        backlog: dict[str, dict[str, int]] = {}
        with self.db.engine.connect() as conn:
            for target, status, count in conn.execute(query):
                counts = backlog.setdefault(str(target), {"pending": 0, "failed": 0})
                counts[str(status)] = count
        return backlog

    def orphan_deliveries(self, targets: Sequence[str]) -> dict[str, int]:
        """Mark the pending deliveries to any target but ``targets`` (those the config has)
        orphaned, with the reason; how many, per target. Once: only pending ones change, and
        ``requeue`` brings them back should the target return."""
        absent = deliveries.c.status == "pending"
        if targets:
            absent &= deliveries.c.target.not_in(targets)
        with self.db.engine.begin() as conn:
            found = conn.execute(
                select(deliveries.c.target, func.count())
                .where(absent)
                .group_by(deliveries.c.target)
            ).all()
            for target, _ in found:
                conn.execute(
                    update(deliveries)
                    .where(absent & (deliveries.c.target == target))
                    .values(
                        status="orphaned",
                        last_error=f"target {target!r} is no longer in the config",
                    )
                )
        return {str(target): int(count) for target, count in found}

    def delivery_counts(self) -> dict[str, int]:
        with self.db.engine.connect() as conn:
            rows = conn.execute(
                select(deliveries.c.status, func.count()).group_by(deliveries.c.status)
            )
            return {str(row[0]): int(row[1]) for row in rows}
