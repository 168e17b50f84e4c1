"""Retention on a store of N entries (``benchmarks/soak.py``'s prefill: one a minute going
back), in batches against one transaction: the whole time, and the longest stretch without a
call to ``progress`` (the daemon feeds its watchdog there).

    python benchmarks/prune.py --entries 1000000 --retention-days 365

Each way runs on a fresh copy of the same prefilled SQLite file, without the VACUUM (the daemon
does not vacuum).
"""

from __future__ import annotations

import argparse
import itertools
import shutil
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from benchmarks.soak import prefill, write_config
from watcher.adapters.sql import upkeep
from watcher.adapters.sql.database import connect
from watcher.adapters.sql.store import SqlStore


def run(path: Path, retention: timedelta, batch: int) -> tuple[float, float, int]:
    """(seconds in all, longest gap between progress calls, bodies pruned)."""
    upkeep.PRUNE_BATCH = batch
    store = SqlStore(connect(f"sqlite:///{path}"))
    marks = [time.perf_counter()]
    report = store.upkeep.prune(
        datetime.now(UTC), retention, timedelta(days=2), lambda: marks.append(time.perf_counter()),
        vacuum=False,
    )  # fmt: skip
    marks.append(time.perf_counter())
    store.engine.dispose()
    gaps = [b - a for a, b in itertools.pairwise(marks)]
    return marks[-1] - marks[0], max(gaps), report.bodies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--retention-days", type=int, default=365)
    args = parser.parse_args()
    retention = timedelta(days=args.retention_days)
    with tempfile.TemporaryDirectory() as scratch:
        work = Path(scratch)
        config = write_config(work, [], 5, 25)
        started = time.perf_counter()
        prefill(config, work / "watcher.db", args.entries)
        print(f"prefilled {args.entries} entries in {time.perf_counter() - started:.0f} s\n")
        print("| way | rows a transaction | total (s) | longest without progress (s) | pruned |")
        print("|---|---|---|---|---|")
        for name, batch in (("batches", upkeep.PRUNE_BATCH), ("one transaction", 10**9)):
            copy = work / f"{batch}.db"
            shutil.copy(work / "watcher.db", copy)
            total, gap, pruned = run(copy, retention, batch)
            print(f"| {name} | {min(batch, args.entries)} | {total:.1f} | {gap:.2f} | {pruned} |")


if __name__ == "__main__":
    main()
