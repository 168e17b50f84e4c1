"""The database schema, as SQLAlchemy Core tables. Migrations in ``migrations/`` must produce
exactly this (a test compares them)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    JSON,
    Column,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in, aware UTC datetimes out, on SQLite as on PostgreSQL."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

feeds = Table(
    "feeds",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("url", Text, nullable=False, unique=True),
    Column("name", Text),  # the configured name; the display name falls back to title, then URL
    Column("title", Text),
    Column("configured", Integer, nullable=False, default=1),
    Column("etag", Text),
    Column("last_modified", Text),
    Column("last_fetch_at", UTCDateTime),
    Column("last_ok_at", UTCDateTime),
    Column("last_status", String(20)),
    Column("last_http_status", Integer),
    Column("last_error", Text),
    Column("last_warning", Text),
    Column("created_at", UTCDateTime, nullable=False),
)

entries = Table(
    "entries",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("feed_id", Integer, ForeignKey("feeds.id", ondelete="CASCADE"), nullable=False),
    Column("key", Text, nullable=False),
    Column("guid", Text),
    Column("title", Text, nullable=False),
    Column("link", Text),
    Column("published", UTCDateTime),
    Column("updated", UTCDateTime),
    Column("summary", Text, nullable=False),
    Column("content", Text, nullable=False),
    Column("author", Text, nullable=False),
    Column("tags", JSON, nullable=False),
    Column("first_seen_at", UTCDateTime, nullable=False),
    UniqueConstraint("feed_id", "key"),
    Index(None, "first_seen_at"),
)

matches = Table(
    "matches",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("entry_id", Integer, ForeignKey("entries.id", ondelete="CASCADE"), nullable=False),
    Column("rule", Text, nullable=False),
    Column("terms", JSON, nullable=False),
    Column("fields", JSON, nullable=False),
    # Evidence: [[field, start, end, term], ...], character offsets into the entry's field.
    Column("hits", JSON, nullable=False, server_default=text("'[]'")),
    Column("matched_at", UTCDateTime, nullable=False),
    UniqueConstraint("entry_id", "rule"),
    Index(None, "matched_at"),
)

deliveries = Table(
    "deliveries",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("match_id", Integer, ForeignKey("matches.id", ondelete="CASCADE"), nullable=False),
    Column("target", Text, nullable=False),
    Column("status", String(20), nullable=False),  # pending, sent, failed
    Column("attempts", Integer, nullable=False, default=0),
    Column("last_error", Text),
    Column("next_attempt_at", UTCDateTime, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("sent_at", UTCDateTime),
    UniqueConstraint("match_id", "target"),
    Index(None, "status", "next_attempt_at"),
)
