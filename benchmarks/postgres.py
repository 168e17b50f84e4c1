"""A round of new entries on PostgreSQL beside the same round on SQLite (issue 18's target:
PostgreSQL within 1.5× of SQLite).

    python benchmarks/postgres.py --feeds 300 --repeat 3

The farm of ``farm.py`` served on 127.0.0.1; for each repeat, ``watcher run --once`` reads it
into a fresh SQLite file and into a fresh PostgreSQL database (alternating which goes first),
with the same config as ``peers.py`` (four rules, concurrency 4). Prints each run's wall and
CPU seconds (the process and its parser processes, from the kernel's accounting), the entries
stored, and the medians and their ratio.

Needs PostgreSQL on 127.0.0.1:5432 (``$WATCHER_BENCH_POSTGRES`` for another admin URL).
"""

from __future__ import annotations

import argparse
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from benchmarks.farm import RULES, Farm, serve
from benchmarks.workers import database


def config(workdir: Path, name: str, url: str, feeds: list[str]) -> Path:
    lines = [
        f'[watcher]\ndatabase = "{url}"\n'
        'concurrency = 4\nper_host = 4\nper_host_gap = "0s"\n'  # as peers.py: one host
    ]
    lines += [f'[[feeds]]\nurl = "{feed}"\n' for feed in feeds]
    lines += [f'[[rules]]\nname = "{rule}"\nkeywords = {words}\n' for rule, words in RULES.items()]
    path = workdir / f"{name}.toml"
    path.write_text("\n".join(lines))
    return path


def one_round(path: Path, url: str) -> tuple[float, float, int]:
    """(wall, CPU seconds, entries stored) of one ``watcher run --once``."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "watcher", "run", "--once", "-q", "--config", str(path)],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        stored = int(conn.execute(sa.text("SELECT count(*) FROM entries")).scalar_one())
    engine.dispose()
    return wall, cpu, stored


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--feeds", type=int, default=300)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    results: dict[str, list[tuple[float, float, int]]] = {"SQLite": [], "PostgreSQL": []}
    with tempfile.TemporaryDirectory(prefix="pg-bench-") as scratch:
        workdir = Path(scratch)
        (workdir / "farm").mkdir()
        farm = Farm(workdir / "farm", args.feeds)
        with serve(workdir / "farm") as (base, server):
            feeds = [base + farm.path(n) for n in range(args.feeds)]
            print(f"{args.feeds} feeds, {farm.entries} entries, served by {server}")
            for n in range(args.repeat):
                order = ["SQLite", "PostgreSQL"] if n % 2 == 0 else ["PostgreSQL", "SQLite"]
                for kind in order:
                    if kind == "SQLite":
                        url = f"sqlite:///{workdir / f'w{n}.db'}"
                        result = one_round(config(workdir, f"sqlite{n}", url, feeds), url)
                    else:
                        with database() as url:
                            result = one_round(config(workdir, f"pg{n}", url, feeds), url)
                    results[kind].append(result)
                    wall, cpu, stored = result
                    print(f"  {kind:<10} run {n + 1}: {wall:6.2f} s wall, {cpu:6.2f} s CPU, "
                          f"{stored} entries")  # fmt: skip
    print("\n| database | wall, median (s) | CPU, median (s) | entries |")
    print("|---|---|---|---|")
    medians = {}
    for kind, runs in results.items():
        medians[kind] = statistics.median(r[0] for r in runs)
        cpu = statistics.median(r[1] for r in runs)
        print(f"| {kind} | {medians[kind]:.2f} | {cpu:.2f} | {runs[0][2]} |")
    ratio = medians["PostgreSQL"] / medians["SQLite"]
    print(f"\nPostgreSQL / SQLite (wall, medians): {ratio:.2f}× (target ≤ 1.5×)")


if __name__ == "__main__":
    main()
