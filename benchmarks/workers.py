"""Throughput of several ``watcher run`` workers sharing one PostgreSQL (issue 9).

    python benchmarks/workers.py --feeds 2000 --workers 1 2 4

For each worker count: a fresh database, the farm of ``farm.py`` served on 127.0.0.1, and
that many daemons started together. Round 1 ends when every feed has been read (all new:
parsing, matching, storing); round 2 makes every feed due again (each answers 304) and wakes
the workers with SIGHUP. Prints feeds per second for each round, the wall time, and the CPU
of the workers and their parser processes (from the kernel's per-process accounting).

Needs PostgreSQL on 127.0.0.1:5432 (``$WATCHER_BENCH_POSTGRES`` for another admin URL).
Every feed is on one host, so the per-host politeness limits are lifted for the run.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import resource
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from benchmarks.farm import Farm, serve

ADMIN = os.environ.get(
    "WATCHER_BENCH_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


@contextlib.contextmanager
def database() -> Iterator[str]:
    admin = sa.create_engine(ADMIN, isolation_level="AUTOCOMMIT")
    name = f"watcher_bench_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield admin.url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        admin.dispose()


def wait_until_read(engine: sa.Engine, count: int, since: float | None) -> None:
    """Until every feed has a fetch recorded (after ``since``, a Unix time, when given)."""
    query = "SELECT count(*) FROM feeds WHERE last_fetch_at IS NOT NULL"
    if since is not None:
        query += " AND last_fetch_at >= to_timestamp(:since)"
    while True:
        with contextlib.suppress(sa.exc.ProgrammingError), engine.connect() as conn:
            if conn.execute(sa.text(query), {"since": since}).scalar_one() >= count:
                return
        time.sleep(0.1)


def run(urls: list[str], workers: int, scratch: Path) -> tuple[float, float, float]:
    """(round 1 seconds, round 2 seconds, CPU seconds of both) for ``workers`` workers."""
    with database() as url:
        config = scratch / f"watcher-{workers}.toml"
        feeds = "".join(f'[[feeds]]\nurl = "{u}"\n' for u in urls)
        config.write_text(
            f'[watcher]\ndatabase = "{url}"\ninterval = "1h"\nconcurrency = 10\n'
            f'per_host = 10\nper_host_gap = "0s"\nlease = "60s"\n{feeds}'
        )
        engine = sa.create_engine(url)
        cpu_before = _children_cpu()
        started = time.perf_counter()
        processes = [
            subprocess.Popen(
                [sys.executable, "-m", "watcher", "run", "-q", "--config", str(config)],
                stdout=subprocess.DEVNULL,
            )
            for _ in range(workers)
        ]
        try:
            wait_until_read(engine, len(urls), None)
            first = time.perf_counter() - started
            with engine.begin() as conn:
                conn.execute(sa.text("UPDATE feeds SET next_fetch_at = now()"))
            since, started = time.time(), time.perf_counter()
            for process in processes:
                process.send_signal(signal.SIGHUP)
            wait_until_read(engine, len(urls), since)
            second = time.perf_counter() - started
        finally:
            for process in processes:
                process.send_signal(signal.SIGTERM)
            for process in processes:
                process.wait(timeout=60)
            engine.dispose()
        return first, second, _children_cpu() - cpu_before


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--feeds", type=int, default=2000)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as name:
        scratch = Path(name)
        scratch.chmod(0o755)  # nginx reads the farm as nobody
        root = scratch / "farm"
        root.mkdir()
        root.chmod(0o755)
        farm = Farm(root, args.feeds)
        with serve(root) as (base, server):
            urls = [f"{base}{farm.path(n)}" for n in range(args.feeds)]
            print(
                f"{args.feeds} feeds, {farm.size / 1e6:.1f} MB, {farm.entries} items, served by "
                f"{server}; PostgreSQL {ADMIN.rsplit('@', 1)[-1]}; {os.cpu_count()} cores\n"
            )
            print(
                "| workers | round 1 (s) | round 1 feeds/s | round 2 (s) | round 2 feeds/s "
                "| CPU, both rounds (s) |"
            )
            print("|---|---|---|---|---|---|")
            for workers in args.workers:
                first, second, cpu = run(urls, workers, scratch)
                print(
                    f"| {workers} | {first:.1f} | {args.feeds / first:.0f} | {second:.1f} | "
                    f"{args.feeds / second:.0f} | {cpu:.1f} |",
                    flush=True,
                )


if __name__ == "__main__":
    main()
