"""SQLite's band rows as one B-tree (migration 0017) against the table before it (0016: rowids,
the primary key's index and a (band, seen_at) index), and written in band order, side by side in
one run.

    python benchmarks/bands.py --entries 20000 --repeat 3

Each layout gets a new database file (alembic up to 0016, or the current schema) and a first
round's band rows as the writer stores them: eight random 64-bit bands an entry, 360 entries
(a writer batch of 20 feeds) a transaction, through the writer's own insert; then every batch
looks up the stories of its bands as ``assign_stories`` does. Prints the medians of the CPU
and wall seconds of each part, and the file's size.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from alembic import command
from alembic.config import Config as AlembicConfig

from watcher.adapters.sql.bulk import batches, insert_new_rows
from watcher.adapters.sql.database import connect
from watcher.adapters.sql.schema import MIGRATIONS, migrate
from watcher.adapters.sql.stories import _RECENT_BY_BAND
from watcher.adapters.sql.tables import story_bands

BATCH = 360  # entries a transaction: a writer batch of 20 feeds of the farm


def _layout(path: Path, revision: str | None) -> None:
    engine = connect(f"sqlite:///{path}")
    if revision is None:
        migrate(engine)  # the current schema
    else:
        config = AlembicConfig()
        config.set_main_option("script_location", str(MIGRATIONS))
        with engine.begin() as conn:
            config.attributes["connection"] = conn
            command.upgrade(config, revision)
    engine.dispose()


def one_run(
    path: Path, entries: int, seed: int, in_order: bool
) -> tuple[float, float, float, float, int]:
    """(insert CPU, insert wall, look-up CPU, look-up wall, file bytes); ``in_order``: each
    transaction's rows in band order, as ``record_stories`` now writes them."""
    rng = random.Random(seed)
    start = datetime(2026, 12, 1, tzinfo=UTC)
    engine = connect(f"sqlite:///{path}")
    batches_of_bands = []
    insert_cpu = insert_wall = 0.0
    for first in range(0, entries, BATCH):
        now = start + timedelta(seconds=first)
        rows = [
            {"band": rng.getrandbits(64) - 2**63, "story_id": e, "entry_id": e, "seen_at": now}
            for e in range(first + 1, min(first + BATCH, entries) + 1)
            for _ in range(8)
        ]
        batches_of_bands.append([row["band"] for row in rows])
        if in_order:
            rows.sort(key=lambda row: (row["band"], row["story_id"]))
        cpu, wall = time.process_time(), time.perf_counter()
        with engine.begin() as conn:
            insert_new_rows(conn, story_bands, [story_bands.c.band, story_bands.c.story_id], rows)
        insert_cpu += time.process_time() - cpu
        insert_wall += time.perf_counter() - wall
    cpu, wall = time.process_time(), time.perf_counter()
    since = start - timedelta(days=2)
    with engine.connect() as conn:
        for wanted in batches_of_bands:
            for batch in batches(wanted):
                conn.execute(_RECENT_BY_BAND, {"bands": list(batch), "since": since}).all()
    lookup_cpu, lookup_wall = time.process_time() - cpu, time.perf_counter() - wall
    engine.dispose()
    return insert_cpu, insert_wall, lookup_cpu, lookup_wall, path.stat().st_size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    layouts = {  # name: (revision, rows in band order)
        "0016: rowid table, two band indexes": ("0016", False),
        "0017: one B-tree": (None, False),
        "0017, each transaction's rows in band order": (None, True),
    }
    figures: dict[str, list[tuple[float, float, float, float, int]]] = {k: [] for k in layouts}
    with tempfile.TemporaryDirectory() as scratch:
        for run in range(args.repeat):
            for number, (name, (revision, in_order)) in enumerate(layouts.items()):  # in turn
                path = Path(scratch) / f"{run}-{number}.db"
                _layout(path, revision)
                figures[name].append(one_run(path, args.entries, run, in_order))
    print(f"{args.entries} entries, {8 * args.entries} band rows, {BATCH} entries a transaction;")
    print(f"medians of {args.repeat} runs, the layouts in turn\n")
    heads = ("layout", "insert CPU (s)", "insert wall (s)", "look-up CPU (s)", "look-up wall (s)")
    print("| " + " | ".join(heads) + " | file (MB) |\n" + "|---" * (len(heads) + 1) + "|")
    for name, runs in figures.items():
        cells = [f"{statistics.median(run[i] for run in runs):.2f}" for i in range(4)]
        size = statistics.median(run[4] for run in runs) / 1e6
        print(f"| {name} | {' | '.join(cells)} | {size:.1f} |")


if __name__ == "__main__":
    main()
