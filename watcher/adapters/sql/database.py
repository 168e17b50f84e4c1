"""The database connection: the engine (SQLite in WAL mode with a busy timeout, or
PostgreSQL), the driver's errors as the project's own, and the transaction a thread's writes
share."""

from __future__ import annotations

import contextlib
import hashlib
import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Connection,
    Engine,
    create_engine,
    event,
)
from sqlalchemy.engine import ExceptionContext, make_url
from sqlalchemy.exc import (
    ArgumentError,
    DBAPIError,
    InterfaceError,
    NoSuchModuleError,
    OperationalError,
)

from watcher.core.errors import StoreError, StoreUnavailable, WriteConflict


def connect(url: str) -> Engine:
    """An engine for ``url``; SQLite files get their directory, WAL and a busy timeout. What
    the driver raises through it comes out as the project's own errors (``_our_error``)."""
    try:
        parsed = make_url(url)
        if parsed.get_backend_name() == "sqlite":
            if parsed.database and parsed.database != ":memory:":
                Path(parsed.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
            engine = create_engine(url)
            event.listen(engine, "connect", _sqlite_pragmas)
        else:
            engine = create_engine(url, pool_pre_ping=True)
    except (ArgumentError, NoSuchModuleError, ImportError) as exc:
        raise StoreError(f"cannot use the database URL: {exc}") from None
    event.listen(engine, "handle_error", _our_error)
    return engine


def _our_error(context: ExceptionContext) -> StoreError | None:
    """A driver's error as StoreUnavailable (unreachable, locked), WriteConflict (a deadlock or
    serialization failure between workers) or StoreError; the first line of its reason."""
    original = context.original_exception
    reason = (str(original).strip().splitlines() or [type(original).__name__])[0]
    if getattr(original, "sqlstate", None) in _CONFLICTS:
        return WriteConflict(reason)
    if isinstance(context.sqlalchemy_exception, (OperationalError, InterfaceError)):
        return StoreUnavailable(reason)
    if isinstance(context.sqlalchemy_exception, DBAPIError):
        return StoreError(reason)
    return None


def database_exists(url: str) -> bool:
    """False for an SQLite file not created yet (looking must not create it); True otherwise."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return True
    return Path(str(parsed.database)).expanduser().exists()


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def masked_database_url(url: str) -> str:
    """The database URL with its password hidden."""
    return make_url(url).render_as_string(hide_password=True)


def database_password(url: str) -> str | None:
    """The password in a database URL, so that it can be kept out of logs."""
    password = make_url(url).password
    return None if password is None else str(password)


_CONFLICTS = ("40P01", "40001")  # PostgreSQL: deadlock detected, serialization failure


def lock_key(name: str) -> int:
    """A stable signed 64-bit advisory-lock key for ``name``."""
    digest = hashlib.blake2b(f"feed-watcher:{name}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


class Database:
    """An engine and what every part of the store shares: whether several workers use it
    (PostgreSQL: ``cooperative``, so deliveries and feeds are claimed and leased), the lease,
    and the transaction a thread's writes share inside ``together``."""

    def __init__(self, engine: Engine, lease: timedelta = timedelta(seconds=60)) -> None:
        self.engine = engine
        self._shared = threading.local()  # a transaction shared by a thread's writes
        self.cooperative = engine.dialect.name == "postgresql"
        self.lease = lease

    @contextlib.contextmanager
    def together(self) -> Iterator[None]:
        """This thread's writes inside the block share one transaction: one commit for many
        feeds' worth (each feed's entries and deliveries stay atomic, just not alone). A
        collision with another worker's transaction raises WriteConflict."""
        with self.engine.begin() as conn:
            self._shared.conn = conn
            try:
                yield
            finally:
                self._shared.conn = None

    @contextlib.contextmanager
    def writing(self) -> Iterator[Connection]:
        """The shared transaction if the caller is inside ``together``, else a new one."""
        shared: Connection | None = getattr(self._shared, "conn", None)
        if shared is not None:
            yield shared
            return
        with self.engine.begin() as conn:
            yield conn
