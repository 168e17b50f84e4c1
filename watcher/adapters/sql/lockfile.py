"""One ``watcher run`` per SQLite database: SQLite cannot share work between processes (it
has no ``SKIP LOCKED``; SQLAlchemy would silently drop it), so a second process on the same
file is refused while the first holds this lock, for its whole lifetime."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

from sqlalchemy.engine import make_url

from watcher.core.errors import DatabaseBusy


class DatabaseLock:
    """An exclusive ``flock`` on ``DATABASE.lock``, released when the process ends (even by
    SIGKILL: the kernel drops it with the file descriptor)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(self._fd, 32, 0).decode(errors="replace").strip() or "?"
            os.close(self._fd)
            database = path.with_suffix("")
            raise DatabaseBusy(
                f"{database} is in use by another `watcher run` (pid {holder}): an SQLite "
                "database serves one process; stop the other one, or move to PostgreSQL "
                "to run several workers"
            ) from None
        os.ftruncate(self._fd, 0)
        os.pwrite(self._fd, f"{os.getpid()}\n".encode(), 0)

    def release(self) -> None:
        os.close(self._fd)


def lock_database(url: str) -> DatabaseLock | None:
    """The lock for an SQLite file database; None for other databases (they coordinate
    through row leases) and in-memory ones."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    database = Path(str(parsed.database)).expanduser()
    database.parent.mkdir(parents=True, exist_ok=True)
    return DatabaseLock(database.with_name(database.name + ".lock"))
