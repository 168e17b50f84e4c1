"""Migration 0013 on a real SQLite file and on the real PostgreSQL: the band keys stored under
the old MinHash are recomputed under rensa's, and back on a downgrade, so that stories stored
before the change still find their near-duplicates."""

from __future__ import annotations

import importlib.util
from datetime import UTC, datetime, timedelta
from types import ModuleType

import sqlalchemy as sa
from alembic import command
from alembic.config import Config as AlembicConfig

from watcher.adapters.sql.database import connect
from watcher.adapters.sql.schema import MIGRATIONS, migrate
from watcher.core.clustering import bands, shingles, signature

SEEN = datetime(2025, 9, 15, 12, 0, tzinfo=UTC)
TITLES = {
    1: ("US and China resume trade talks in Madrid", "Negotiators meet on Sunday in Spain"),
    2: ("US, China resume trade talks in Madrid", "Negotiators meet Sunday in Spain again"),
    3: ("TikTok deadline", ""),  # too few words: it never had bands
}


def _migration() -> ModuleType:
    path = next((MIGRATIONS / "versions").glob("0013_*.py"))
    spec = importlib.util.spec_from_file_location("migration_0013", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _stored(conn: sa.Connection) -> set[tuple[int, int, int]]:
    rows = conn.execute(sa.text("SELECT band, story_id, entry_id FROM story_bands"))
    return {(int(band), story, entry) for band, story, entry in rows}


def _expected(sign: object) -> set[tuple[int, int, int]]:
    """Story 1 holds entries 1 then 2: a band both give stays with entry 1, the first."""
    found: dict[tuple[int, int], int] = {}
    for entry in (1, 2):
        for band in bands(sign(shingles(*TITLES[entry]))):  # type: ignore[operator]
            found.setdefault((band, 1), entry)
    return {(band, story, entry) for (band, story), entry in found.items()}


def test_band_keys_are_recomputed_both_ways(database_url: str) -> None:
    """A database at 0012 whose bands came from the SHAKE-128 signature gets rensa's bands for
    the same entries (the first entry of a story keeping a band both give, its seen_at kept);
    downgraded, it gets the old ones back."""
    old = _migration()._shake_signature
    engine = connect(database_url)
    config = AlembicConfig()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "0012")
        conn.execute(
            sa.text(
                "INSERT INTO feeds (id, url, configured, created_at, guid_churn)"
                " VALUES (1, 'u', 1, '2025-01-01', 0)"
            )
        )
        conn.execute(sa.text("INSERT INTO stories (id, created_at) VALUES (1, '2025-01-01')"))
        for entry, (title, summary) in TITLES.items():
            conn.execute(
                sa.text(
                    "INSERT INTO entries (id, feed_id, key, title, summary, content, author,"
                    " tags, first_seen_at, story_id) VALUES (:id, 1, :key, :t, :s, '', '',"
                    " '[]', '2025-01-01', 1)"
                ),
                {"id": entry, "key": f"k{entry}", "t": title, "s": summary},
            )
        for band, story, entry in _expected(old):
            conn.execute(
                sa.text("INSERT INTO story_bands VALUES (:b, :s, :e, :at)"),
                {"b": band, "s": story, "e": entry, "at": SEEN + timedelta(minutes=entry)},
            )
    assert _expected(old) != _expected(signature)
    migrate(engine)
    with engine.connect() as conn:
        upgraded = _stored(conn)
        seen = set(conn.execute(sa.text("SELECT entry_id, seen_at FROM story_bands")).all())
    assert upgraded == _expected(signature)
    assert len({entry for entry, _ in seen}) == len(seen)  # each entry kept its own seen_at
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, "0012")
        assert _stored(conn) == _expected(old)
    engine.dispose()


def test_band_keys_do_not_change_between_versions() -> None:
    """Bands are stored: a version that computed other keys for the same words would miss
    every near-duplicate stored before the upgrade, unless a migration recomputes them. The
    first keys were computed by the first version (a tuple of ints per word); 0013 recomputes
    them as rensa's, and its downgrade gives the first ones back. A rensa release or a seed
    that changed rensa's keys would need a migration like 0013."""
    words = shingles(
        "TikTok deal framework agreed ahead of deadline in Madrid talks",
        "Negotiators from both sides agreed on a framework for the sale of the app",
    )
    assert bands(_migration()._shake_signature(words))[:2] == [
        7406639933109937454,
        3540677059551200137,
    ]
    assert bands(signature(words))[:2] == [8544695679060131726, 516949831287846791]


def test_bands_in_one_btree_and_back(database_url: str) -> None:
    """0017: on SQLite the band rows become a table without rowids (its key, (band,
    story_id), the only B-tree a band row goes into beside the seen_at index) and lose the
    (band, seen_at) index; PostgreSQL keeps that index. The rows stay, and its downgrade
    gives the old table back with them."""
    engine = connect(database_url)
    config = AlembicConfig()
    config.set_main_option("script_location", str(MIGRATIONS))
    rows = {(band, 1, 1) for band in (-(2**63), -1, 0, 2**63 - 1)}
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "0016")
        for band, story, entry in rows:
            conn.execute(
                sa.text("INSERT INTO story_bands VALUES (:b, :s, :e, :at)"),
                {"b": band, "s": story, "e": entry, "at": SEEN},
            )
        sqlite = conn.dialect.name == "sqlite"

        def shape() -> tuple[object, list[str]]:
            seen = sa.inspect(conn)
            options = seen.get_table_options("story_bands").get("sqlite_with_rowid")
            return options, sorted(str(i["name"]) for i in seen.get_indexes("story_bands"))

        old = shape()
        command.upgrade(config, "0017")
        assert _stored(conn) == rows
        assert shape() == (
            (False, ["ix_story_bands_seen_at"])
            if sqlite
            else (None, ["ix_story_bands_band_seen_at", "ix_story_bands_seen_at"])
        )
        command.downgrade(config, "0016")
        assert _stored(conn) == rows
        assert shape() == old == (None, ["ix_story_bands_band_seen_at", "ix_story_bands_seen_at"])
    engine.dispose()
