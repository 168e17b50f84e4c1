"""Several workers on one database: feed leases, heartbeats, and jobs only one worker does at a
time (advisory locks on PostgreSQL)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    case,
    delete,
    func,
    or_,
    select,
    text,
    update,
)

from watcher.adapters.sql.bulk import among, upsert
from watcher.adapters.sql.database import Database, lock_key
from watcher.adapters.sql.tables import (
    feeds,
    workers,
)
from watcher.core.views import (
    WorkerRow,
)

_SHOWN = timedelta(days=1)  # how long a worker that never said goodbye stays listed


def _watched() -> Any:
    """Feeds the config watches (configured, not paused)."""
    return (feeds.c.configured == 1) & feeds.c.paused_at.is_(None)


def _free(now: datetime) -> Any:
    """Feeds no live worker holds: never leased, or the lease lapsed."""
    return or_(feeds.c.lease_until.is_(None), feeds.c.lease_until < now)


def _unleased(now: datetime) -> Any:
    """Watched feeds that no live worker holds."""
    return _watched() & _free(now)


class SqlCoordination:
    """Feed leases, heartbeats, and jobs only one worker does at a time."""

    def __init__(self, db: Database) -> None:
        self.db = db

    @contextlib.contextmanager
    def exclusive(self, name: str) -> Iterator[bool]:
        """Whether this process may do the job ``name`` now: on PostgreSQL, an advisory lock
        held for the block (False if another worker holds it); elsewhere always True."""
        if not self.db.cooperative:
            yield True
            return
        key = lock_key(name)
        with self.db.engine.connect() as conn:
            mine = bool(conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": key}).scalar())
            conn.commit()
            try:
                yield mine
            finally:
                if mine:
                    conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
                    conn.commit()

    def claim_feeds(
        self, worker: str, now: datetime, limit: int, due_by: datetime | None = None
    ) -> list[str]:
        """Lease up to ``limit`` feeds due by ``due_by`` (default ``now``: never fetched, or
        their next fetch has come; not paused, not leased by a live worker) to ``worker``
        until ``now + lease``; their URLs."""
        due_by = now if due_by is None else due_by
        claimable = (
            select(feeds.c.id)
            .where(
                _unleased(now),
                or_(feeds.c.next_fetch_at.is_(None), feeds.c.next_fetch_at <= due_by),
            )
            .order_by(feeds.c.next_fetch_at.nulls_first(), feeds.c.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        with self.db.engine.begin() as conn:
            return list(
                conn.execute(
                    update(feeds)
                    .where(feeds.c.id.in_(claimable.scalar_subquery()))
                    .values(lease_owner=worker, lease_until=now + self.db.lease)
                    .returning(feeds.c.url)
                ).scalars()
            )

    def claim_listed(self, worker: str, urls: Sequence[str], now: datetime) -> list[str]:
        """Lease those of ``urls`` that no live worker holds to ``worker`` until ``now +
        lease``, due or not (a one-shot run fetches every feed it is given); their URLs."""
        claimed: list[str] = []
        with self.db.engine.begin() as conn:
            for batch in among(list(urls)):
                claimed += conn.execute(
                    update(feeds)
                    .where(feeds.c.url.in_(batch), _free(now))
                    .values(lease_owner=worker, lease_until=now + self.db.lease)
                    .returning(feeds.c.url)
                ).scalars()
        return claimed

    def next_due_at(self, now: datetime) -> datetime | None:
        """When the soonest watched feed can be claimed: a feed nobody holds when it falls due
        (``now`` for one never fetched), a held one when its lease would lapse if its holder
        died, or its next fetch if later; None when no feed is watched. A worker asleep until
        then takes over a dead worker's feeds one lease after its last heartbeat."""
        held_until = case(
            (feeds.c.next_fetch_at > feeds.c.lease_until, feeds.c.next_fetch_at),
            else_=feeds.c.lease_until,
        )
        with self.db.engine.connect() as conn:
            free = conn.execute(
                select(feeds.c.next_fetch_at)
                .where(_unleased(now))
                .order_by(feeds.c.next_fetch_at.nulls_first())
                .limit(1)
            ).first()
            held = conn.execute(
                select(func.min(held_until)).where(_watched(), feeds.c.lease_until >= now)
            ).scalar()
        times: list[datetime] = [held] if held is not None else []
        if free is not None:
            times.append(free.next_fetch_at or now)
        return min(times, default=None)

    def release_feeds(self, worker: str, urls: Sequence[str] | None = None) -> None:
        """Give up ``worker``'s leases (all of them when ``urls`` is None)."""
        mine = feeds.c.lease_owner == worker
        with self.db.engine.begin() as conn:
            for batch in [None] if urls is None else among(list(urls)):
                where = mine if batch is None else mine & feeds.c.url.in_(batch)
                conn.execute(update(feeds).where(where).values(lease_owner=None, lease_until=None))

    def heartbeat(self, worker: str, host: str, pid: int, now: datetime) -> None:
        """``worker`` is alive: its row is refreshed and its leases extended."""
        with self.db.engine.begin() as conn:
            stmt = upsert(conn, workers).values(
                id=worker, host=host, pid=pid, started_at=now, heartbeat_at=now
            )
            conn.execute(
                stmt.on_conflict_do_update(
                    index_elements=[workers.c.id], set_={"heartbeat_at": now}
                )
            )
            # Rows this worker's writer holds are skipped, not waited for (waiting could
            # deadlock with it); they are released as soon as it commits anyway.
            mine = (
                select(feeds.c.id)
                .where(feeds.c.lease_owner == worker, feeds.c.lease_until.is_not(None))
                .with_for_update(skip_locked=True)
            )
            conn.execute(
                update(feeds)
                .where(feeds.c.id.in_(mine.scalar_subquery()))
                .values(lease_until=now + self.db.lease)
            )

    def worker_gone(self, worker: str) -> None:
        """A clean stop: the worker's leases and row go at once."""
        self.release_feeds(worker)
        with self.db.engine.begin() as conn:
            conn.execute(delete(workers).where(workers.c.id == worker))

    def workers(self, now: datetime) -> list[WorkerRow]:
        """Workers heard from within a day, alive or not (``WorkerRow.state`` tells), with the
        feeds whose lease still names each: a dead worker stays listed with what it held
        until it has been gone a day (a clean stop removes it at once)."""
        held = (
            select(feeds.c.lease_owner, func.count().label("n"))
            .where(feeds.c.lease_owner.is_not(None))
            .group_by(feeds.c.lease_owner)
            .subquery()
        )
        query = (
            select(workers, func.coalesce(held.c.n, 0).label("held"))
            .outerjoin(held, held.c.lease_owner == workers.c.id)
            .where(workers.c.heartbeat_at >= now - _SHOWN)
            .order_by(workers.c.started_at)
        )
        with self.db.engine.connect() as conn:
            return [
                WorkerRow(r.id, r.host, r.pid, r.started_at, r.heartbeat_at, r.held)
                for r in conn.execute(query)
            ]
