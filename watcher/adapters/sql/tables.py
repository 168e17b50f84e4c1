"""The database schema, as SQLAlchemy Core tables. Migrations in ``migrations/`` must produce
exactly this (a test compares them)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    JSON,
    BigInteger,
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
    # How many times an entry came back under a new guid (see watcher.identity).
    Column("guid_churn", Integer, nullable=False, server_default=text("0")),
    Column("body_hash", Text),  # of the last body read
    Column("failures", Integer, nullable=False, server_default=text("0")),  # in a row
    Column("failing_since", UTCDateTime),
    Column("next_fetch_at", UTCDateTime),  # after its interval, a backoff or a Retry-After
    Column("paused_at", UTCDateTime),  # a 410 Gone; `watcher feeds resume` clears it
    Column("feed_hint", Integer),  # seconds: how often the feed asks to be read (<ttl>…)
    # A permanent redirect seen on the last fetches, and how many times in a row; after three
    # the feed is fetched at ``moved_to`` (its configured URL stays its name).
    Column("redirect_to", Text),
    Column("redirects_seen", Integer, nullable=False, server_default=text("0")),
    Column("moved_to", Text),
    Column("last_bytes", Integer),  # of the last body read, decompressed (None: a 304)
    Column("last_duration_ms", Integer),  # of the last successful fetch
    # "config": declared in the config file; "cli": added by `watcher feeds add` or `import`.
    Column("origin", String(10), nullable=False, server_default=text("'config'")),
    Column("interval_seconds", Integer),  # a CLI feed's own interval (None: the default)
    Column("category", Text),  # the config's, `feeds add --category`'s or an OPML folder's
    # Several workers on one PostgreSQL: who is fetching the feed, and until when at most.
    Column("lease_owner", Text),
    Column("lease_until", UTCDateTime),
    Index(None, "next_fetch_at"),
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
    Column("content_hash", Text),
    Column("revision", Integer, nullable=False, server_default=text("0")),
    Column("story_id", Integer, ForeignKey("stories.id")),
    Column("pruned_at", UTCDateTime),  # body and revisions removed by retention
    UniqueConstraint("feed_id", "key"),
    Index(None, "first_seen_at"),
    Index(None, "story_id"),
)

# Every key an entry is known by within its feed: its primary key and its aliases.
entry_keys = Table(
    "entry_keys",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("feed_id", Integer, ForeignKey("feeds.id", ondelete="CASCADE"), nullable=False),
    Column("key", Text, nullable=False),
    Column("entry_id", Integer, ForeignKey("entries.id", ondelete="CASCADE"), nullable=False),
    UniqueConstraint("feed_id", "key"),
    Index(None, "entry_id"),
)

# Earlier versions of an entry: revision N holds the text that revision N replaced.
revisions = Table(
    "revisions",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("entry_id", Integer, ForeignKey("entries.id", ondelete="CASCADE"), nullable=False),
    Column("number", Integer, nullable=False),
    Column("seen_at", UTCDateTime, nullable=False),
    Column("title", Text, nullable=False),
    Column("summary", Text, nullable=False),
    Column("content", Text, nullable=False),
    UniqueConstraint("entry_id", "number"),
)

stories = Table(
    "stories",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("created_at", UTCDateTime, nullable=False),
)

# Links (and URL guids) that make any entry carrying them part of a story.
story_keys = Table(
    "story_keys",
    metadata,
    Column("key", Text, primary_key=True),
    Column("story_id", Integer, ForeignKey("stories.id", ondelete="CASCADE"), nullable=False),
)

# MinHash bands of recent stories, for finding near-duplicates (pruned after the window). A
# band is recorded once per story, with the entry that brought it, so that a story told a
# hundred times costs one row per band, not a hundred.
story_bands = Table(
    "story_bands",
    metadata,
    Column("band", BigInteger, primary_key=True),
    # No foreign keys: checking them for each of the eight rows of a new entry cost more than
    # they protect (see migration 0016).
    Column("story_id", Integer, primary_key=True),
    Column("entry_id", Integer, nullable=False),
    Column("seen_at", UTCDateTime, nullable=False),
    Index(None, "seen_at"),  # for pruning what passed the window
    # A band's most recent stories, newest first, without reading any other band's rows. On
    # PostgreSQL only: its planner, given ORDER BY seen_at LIMIT, would otherwise walk the
    # seen_at index. SQLite reads a band's few rows from the table itself, which there is one
    # B-tree keyed (band, story_id) (no rowid, see migration 0017): every band row, keyed by a
    # random 64-bit band, dirtied a page of each such B-tree, which each commit wrote again.
    Index(None, "band", "seen_at").ddl_if(dialect="postgresql"),
    sqlite_with_rowid=False,
)

# Which match of a story notified for a rule: a story is notified once per rule.
story_rules = Table(
    "story_rules",
    metadata,
    Column("story_id", Integer, ForeignKey("stories.id", ondelete="CASCADE"), primary_key=True),
    Column("rule", Text, primary_key=True),
    Column("match_id", Integer, ForeignKey("matches.id", ondelete="CASCADE"), nullable=False),
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
    # A later member of a story that already notified for this rule: kept, not sent.
    Column("silent", Integer, nullable=False, server_default=text("0")),
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
    # 0 for the new match; N for the notification that revision N changed it.
    Column("revision", Integer, nullable=False, server_default=text("0")),
    UniqueConstraint("match_id", "target", "revision"),
    Index(None, "status", "next_attempt_at"),
)

# Per target: when its last batch or digest went out.
target_state = Table(
    "target_state",
    metadata,
    Column("target", Text, primary_key=True),
    Column("last_sent_at", UTCDateTime, nullable=False),
)

# The daemon's recent cycles, newest last, for `watcher status` (the last 100 are kept).
cycles = Table(
    "cycles",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("started_at", UTCDateTime, nullable=False),
    Column("finished_at", UTCDateTime, nullable=False),
    Column("feeds", Integer, nullable=False),
    Column("ok", Integer, nullable=False),
    Column("not_modified", Integer, nullable=False),  # a 304
    Column("failed", Integer, nullable=False),
    Column("new_entries", Integer, nullable=False),
    Column("changed", Integer, nullable=False),
    Column("new_matches", Integer, nullable=False),
    # The same bytes as last time (the server ignored the conditional request).
    Column("unchanged", Integer, nullable=False, server_default=text("0")),
)

# Rules added by `watcher rules add`, beside the config file's.
cli_rules = Table(
    "cli_rules",
    metadata,
    Column("name", Text, primary_key=True),
    Column("query", Text, nullable=False),
    Column("notify", JSON),  # target names; None: every target
    Column("created_at", UTCDateTime, nullable=False),
)

# The `watcher run` processes sharing the database, for `watcher status`.
workers = Table(
    "workers",
    metadata,
    Column("id", Text, primary_key=True),  # host:pid
    Column("host", Text, nullable=False),
    Column("pid", Integer, nullable=False),
    Column("started_at", UTCDateTime, nullable=False),
    Column("heartbeat_at", UTCDateTime, nullable=False),
)
