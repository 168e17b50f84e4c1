"""Statements every part of the store shares: the dialect's INSERT that knows ON CONFLICT, many
new rows in one statement, look-ups by a list of values, a group's values as one list, and
lists cut into bounded batches."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import JSON, Boolean, Column, Connection, Table, any_, bindparam
from sqlalchemy.dialects import sqlite
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.visitors import InternalTraversal, _TraverseInternalsType

_BATCH = 512  # bound the size of IN (...) lists and of multi-row statements


def upsert(conn: Connection, table: Any) -> Any:
    """The dialect's INSERT, which knows ON CONFLICT."""
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects import postgresql  # 30 ms to import: not for SQLite's users

        return postgresql.insert(table)
    return sqlite.insert(table)


class Among(ColumnElement[bool]):
    """``column`` is one of the values given as the parameter ``name`` (a list): on SQLite
    ``column IN (?, ?, …)``, on PostgreSQL ``column = ANY(%(name)s)``, the list as one array.
    psycopg caches the parsed form only of statements with at most 50 parameters, so an IN
    list of hundreds was parsed again in Python at every execution (three times the client's
    CPU of the array, for 512 keys)."""

    inherit_cache = True
    type = Boolean()
    _is_implicitly_boolean = True  # a condition as it is, not compared with 1 on SQLite
    _traverse_internals: _TraverseInternalsType = [  # noqa: RUF012 (SQLAlchemy's own form)
        ("column", InternalTraversal.dp_clauseelement),
        ("name", InternalTraversal.dp_string),
    ]

    def __init__(self, column: Column[Any], name: str) -> None:
        self.column = column
        self.name = name


@compiles(Among)
def _in_list(element: Among, compiler: SQLCompiler, **kw: Any) -> str:
    return compiler.process(element.column.in_(bindparam(element.name, expanding=True)), **kw)


@compiles(Among, "postgresql")
def _any_of_array(element: Among, compiler: SQLCompiler, **kw: Any) -> str:
    from sqlalchemy.dialects import postgresql

    values = bindparam(element.name, type_=postgresql.ARRAY(element.column.type))
    return compiler.process(element.column == any_(values), **kw)


class ListOf(ColumnElement[Any]):
    """The values of ``column`` over a group's rows as one list (none: an empty list):
    ``json_group_array`` on SQLite, ``json_agg`` on PostgreSQL. A look-up gets a row a thing
    with its many values in it, not a row a value: each row fetched from SQLite hands the GIL
    back and waits to take it again from the event loop's thread."""

    inherit_cache = True
    type = JSON()
    _traverse_internals: _TraverseInternalsType = [  # noqa: RUF012 (SQLAlchemy's own form)
        ("column", InternalTraversal.dp_clauseelement),
    ]

    def __init__(self, column: Column[Any]) -> None:
        self.column = column


@compiles(ListOf)
def _json_group_array(element: ListOf, compiler: SQLCompiler, **kw: Any) -> str:
    return f"json_group_array({compiler.process(element.column, **kw)})"


@compiles(ListOf, "postgresql")
def _json_agg(element: ListOf, compiler: SQLCompiler, **kw: Any) -> str:
    # json_agg over no rows is NULL, json_group_array's is [].
    return f"coalesce(json_agg({compiler.process(element.column, **kw)}), '[]'::json)"


def insert_new_rows(
    conn: Connection,
    table: Table,
    unique: Sequence[Column[Any]],
    rows: list[dict[str, Any]],
    returning: Sequence[Column[Any]] = (),
) -> list[Any]:
    """Insert ``rows`` (dicts with the same keys), skipping those whose ``unique`` columns
    are already there (none: every row); with ``returning``, those columns of the rows
    inserted.

    These are the many small rows of new entries (the entries, their keys, story keys and
    bands: a dozen for each entry), so they go straight to the driver, each value through its
    column type's bind processor: SQLAlchemy's per-row parameter handling cost as much as the
    inserts themselves. SQLite and PostgreSQL spell ON CONFLICT and RETURNING alike.
    """
    if not rows:
        return []
    dialect = conn.dialect
    quote = dialect.identifier_preparer.quote
    names = list(rows[0])
    # Identifiers only, from our own table definitions (table.c[name] below checks them).
    head = f"INSERT INTO {quote(table.name)} ({', '.join(quote(n) for n in names)}) "
    tail = f" ON CONFLICT ({', '.join(quote(c.name) for c in unique)}) DO NOTHING" if unique else ""
    if returning:
        tail += f" RETURNING {', '.join(quote(c.name) for c in returning)}"
    columns = [_bound(table.c[name], [row[name] for row in rows], dialect) for name in names]
    if dialect.name == "postgresql":
        # One array a column: a short statement whatever the number of rows. Rows spelled
        # out in the statement (thousands of placeholders) were parsed anew by psycopg in
        # Python at every execution (it caches statements of up to 50 parameters), which
        # cost more than the server's work; and an executemany runs each row as a statement
        # of its own on the server. The arrays go in binary (%b): psycopg writes the text
        # form element by element in Python, escaping each, and took 5-10 times as long.
        arrays = ", ".join(f"%b::{table.c[name].type.compile(dialect=dialect)}[]" for name in names)
        sql = f"{head}SELECT * FROM unnest({arrays}){tail}"  # noqa: S608 (see head)
        result = conn.exec_driver_sql(sql, tuple(columns))
        return list(result) if returning else []
    one_row = f"({', '.join(['?'] * len(names))})"
    params = list(zip(*columns, strict=True))
    if not returning:  # SQLite, in process, loses nothing row by row
        conn.exec_driver_sql(f"{head}VALUES {one_row}{tail}", params)
        return []
    found: list[Any] = []
    for batch in batches(params):
        sql = f"{head}VALUES {', '.join([one_row] * len(batch))}{tail}"
        found += conn.exec_driver_sql(sql, tuple(v for row in batch for v in row)).all()
    return found


def _bound(column: Column[Any], values: list[Any], dialect: Any) -> list[Any]:
    """``values`` of ``column`` as the driver takes them. Many rows of one insert share a
    value (a timestamp, a feed id), and hashable ones are converted once each."""
    # The dialect's own type: SQLAlchemy 2.1's generic JSON has no bind processor for
    # psycopg, whose JSON type has one (a list passed raw became a PostgreSQL array).
    process = column.type.dialect_impl(dialect).bind_processor(dialect)
    if process is None:
        return values
    done: dict[Any, Any] = {}
    bound: list[Any] = []
    for value in values:
        if value is None:
            bound.append(None)
        elif value.__hash__ is None:  # a list (JSON)
            bound.append(process(value))
        else:
            if value not in done:
                done[value] = process(value)
            bound.append(done[value])
    return bound


def among(values: Sequence[Any]) -> list[Sequence[Any]]:
    """``values`` for IN lists (and arrays of ``Among``): runs of at most 512, each padded to
    a power of two with its last value, which the list then names again to no effect. Its
    statement's text depends only on its length, as with ``batches``, but 150 values take one
    statement rather than four (128, 16, 4, 2): the look-up of a feed's known entries is one
    statement, not three or four."""
    runs: list[Sequence[Any]] = []
    for start in range(0, len(values), _BATCH):
        run = list(values[start : start + _BATCH])
        size = 1 << (len(run) - 1).bit_length()
        runs.append(run + run[-1:] * (size - len(run)))
    return runs


def batches(values: Sequence[Any]) -> list[Sequence[Any]]:
    """``values`` in runs whose lengths are powers of two, at most 512 (150 → 128, 16, 4, 2).

    The text of a statement with an IN list or many rows depends on their number, and the
    driver keeps the statements it has prepared (SQLite's module 128 a connection): lengths
    that changed from cycle to cycle, as the number of feeds due does, kept adding prepared
    statements, and a quiet daemon grew by megabytes an hour for as long as it ran. Powers of
    two leave ten lengths, all prepared within the first cycles."""
    runs: list[Sequence[Any]] = []
    start = 0
    while start < len(values):
        size = min(_BATCH, 1 << ((len(values) - start).bit_length() - 1))
        runs.append(values[start : start + size])
        start += size
    return runs
