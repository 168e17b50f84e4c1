"""The schema's version: alembic migrations, run only when there is work for them, and copying
a whole database from one engine to another."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import (
    Column,
    Connection,
    Engine,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    func,
    insert,
    inspect,
    select,
    text,
)

from watcher.adapters.children import child_environment
from watcher.adapters.sql.database import connect, lock_key
from watcher.adapters.sql.tables import (
    feeds,
    metadata,
)
from watcher.core.errors import StoreError

MIGRATIONS = Path(__file__).parent / "migrations"


HEAD = "0017"  # the newest migration; tests/adapters/test_store.py checks it against alembic's


# Alembic's own record of the schema's revision, as its ``stamp`` would write it.
_VERSION = Table(
    "alembic_version",
    MetaData(),
    Column("version_num", String(32), nullable=False),
    PrimaryKeyConstraint("version_num", name="alembic_version_pkc"),
)


def migrate(engine: Engine) -> None:
    """Bring the schema up to date (a no-op when it already is). Alembic is imported only
    when there is work for it: it costs a quarter of a second, and every `watcher run --once`
    from a timer would pay it. An empty database gets the current tables at once."""
    if _revision(engine) == HEAD or _create_fresh(engine):
        return
    upgrade(engine)


def _create_fresh(engine: Engine) -> bool:
    """Create the current schema, stamped at HEAD, in a database that holds no table at all;
    whether the schema is now at HEAD. Running every migration from the first instead cost
    half a second (SQLite copies a table for each change), and in a child 1.4 s, at the
    first start of every new database; the tests check both ways give the same schema."""
    with engine.begin() as connection:
        _one_migrator(connection)
        if inspect(connection).get_table_names():
            return _version(connection) == HEAD
        metadata.create_all(connection)
        _VERSION.create(connection)
        connection.execute(insert(_VERSION).values(version_num=HEAD))
        return True


def upgrade(engine: Engine) -> None:
    """Run alembic's migrations up to HEAD, whatever the database holds."""
    from alembic import command
    from alembic.config import Config as AlembicConfig

    config = AlembicConfig()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.connect() as connection:
        sqlite_db = connection.dialect.name == "sqlite"
        if sqlite_db:
            # SQLite changes a table by copying it and dropping the old one; with foreign keys
            # enforced, that drop would cascade into every table that refers to it.
            connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
            connection.commit()  # end SQLAlchemy's autobegun transaction (SQLite began none)
        try:
            with connection.begin():
                _one_migrator(connection)
                config.attributes["connection"] = connection
                command.upgrade(config, "head")
        finally:
            if sqlite_db:
                connection.exec_driver_sql("PRAGMA foreign_keys=ON")
                connection.commit()


def _one_migrator(connection: Connection) -> None:
    """On PostgreSQL, workers starting together: one creates or migrates the schema while the
    others wait here (until its transaction ends), then find it at its head."""
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": lock_key("migrate")})


def migrate_apart(engine: Engine) -> None:
    """``migrate``, in a child process when there is work: alembic and Mako (10 MB and 125
    modules) would otherwise stay in a long-lived daemon for the rest of its life. A database
    in memory, which a child cannot see, is migrated here."""
    if _revision(engine) == HEAD or _create_fresh(engine):
        return
    if engine.url.get_backend_name() == "sqlite" and engine.url.database in (None, "", ":memory:"):
        migrate(engine)
        return
    child = subprocess.run(
        [sys.executable, "-c", "from watcher.adapters.sql.schema import _child; _child()"],
        input=engine.url.render_as_string(hide_password=False),  # not in argv, seen by ps
        capture_output=True,
        text=True,
        env=child_environment(),
        check=False,
    )
    if child.returncode != 0:
        last = (child.stderr.strip().splitlines() or [f"exit status {child.returncode}"])[-1]
        raise StoreError(f"cannot migrate the database: {last}")


def _child() -> None:
    """The child of ``migrate_apart``: the database URL comes on standard input."""
    engine = connect(sys.stdin.read())
    try:
        migrate(engine)
    finally:
        engine.dispose()


def _revision(engine: Engine) -> str | None:
    """The schema's alembic revision; None for an empty database."""
    with engine.connect() as connection:
        return _version(connection)


def _version(connection: Connection) -> str | None:
    if not inspect(connection).has_table("alembic_version"):
        return None
    revision = connection.scalar(text("SELECT version_num FROM alembic_version"))
    return None if revision is None else str(revision)


def copy_database(
    source: Engine, target: Engine, progress: Callable[[str, int], None] | None = None
) -> dict[str, int]:
    """Copy every row of ``source`` into ``target``, which is migrated first and must hold no
    feeds yet (so that nothing is merged by accident); rows per table. Tables go parents
    first, and PostgreSQL's id sequences are moved past the copied ids."""
    migrate(source)
    migrate(target)
    with target.connect() as conn:
        if conn.scalar(select(func.count()).select_from(feeds)):
            raise ValueError("the target database already holds feeds: copy into an empty one")
    copied: dict[str, int] = {}
    with source.connect() as reading, target.begin() as writing:
        for table in metadata.sorted_tables:
            count = 0
            rows = reading.execution_options(yield_per=2000).execute(select(table))
            for chunk in rows.mappings().partitions():
                writing.execute(insert(table), [dict(row) for row in chunk])
                count += len(chunk)
                if progress is not None:
                    progress(table.name, len(chunk))
            copied[table.name] = count
        if writing.dialect.name == "postgresql":
            for table in metadata.sorted_tables:
                if "id" in table.c and isinstance(table.c.id.type, Integer):
                    highest = select(func.max(table.c.id)).scalar_subquery()
                    sequence = func.pg_get_serial_sequence(table.name, "id")
                    writing.execute(
                        select(func.setval(sequence, func.coalesce(highest, 0) + 1, False))
                    )
    return copied
