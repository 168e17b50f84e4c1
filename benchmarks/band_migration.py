"""Migration 0013 (band keys recomputed from rensa's MinHash) on a store of N entries, each
with its story and its eight bands as the previous release stored them.

    python benchmarks/band_migration.py --entries 100000

Prints the time the upgrade took and its rate; the entries' words come from a vocabulary of
news-like words so that every entry has bands.
"""

from __future__ import annotations

import argparse
import random
import sqlite3
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from alembic import command
from alembic.config import Config as AlembicConfig

from tests.adapters.test_band_migration import _migration
from watcher.adapters.sql.database import connect
from watcher.adapters.sql.schema import MIGRATIONS, migrate
from watcher.core.clustering import bands, shingles

WORDS = (
    "tariff trade talks china madrid tiktok deadline chips probe dumping analog negotiators "
    "beijing washington treasury commerce export import semiconductor framework agreement "
    "deal sale oracle bytedance ruling court extension officials ministry statement"
).split()


def build(path: Path, count: int) -> None:
    engine = connect(f"sqlite:///{path}")
    config = AlembicConfig()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "0012")
    engine.dispose()
    old = _migration()._shake_signature
    rng = random.Random(7)
    seen = datetime(2025, 9, 15, tzinfo=UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    with sqlite3.connect(path) as db:
        db.execute(
            "INSERT INTO feeds (id, url, configured, created_at) VALUES (1, 'u', 1, ?)", (seen,)
        )
        entries, band_rows = [], []
        for n in range(1, count + 1):
            title = " ".join(rng.sample(WORDS, 8)) + f" {n}"
            summary = " ".join(rng.sample(WORDS, 10))
            entries.append((n, 1, f"k{n}", title, summary, "", "", "[]", seen, n))
            band_rows += [(b, n, n, seen) for b in bands(old(shingles(title, summary)))]
        db.executemany(
            "INSERT INTO stories (id, created_at) VALUES (?, ?)",
            [(n, seen) for n in range(1, count + 1)],
        )
        db.executemany(
            "INSERT INTO entries (id, feed_id, key, title, summary, content, author, tags,"
            " first_seen_at, story_id) VALUES (?,?,?,?,?,?,?,?,?,?)",
            entries,
        )
        db.executemany("INSERT OR IGNORE INTO story_bands VALUES (?,?,?,?)", band_rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--entries", type=int, default=100_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / "w.db"
        build(path, args.entries)
        with sqlite3.connect(path) as db:
            rows = db.execute("SELECT count(*) FROM story_bands").fetchone()[0]
        engine = connect(f"sqlite:///{path}")
        started = time.perf_counter()
        migrate(engine)
        took = time.perf_counter() - started
        engine.dispose()
        print(
            f"{args.entries} entries, {rows} band rows: migration 0013 took {took:.1f} s "
            f"({args.entries / took:,.0f} entries a second)"
        )


if __name__ == "__main__":
    main()
