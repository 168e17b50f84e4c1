"""Throughput of several ``watcher run`` workers sharing one PostgreSQL (issue 9).

    python benchmarks/workers.py --feeds 2000 --workers 1 2 4

For each worker count: a fresh database, the farm of ``farm.py`` served on 127.0.0.1, and
that many daemons started together. Round 1 ends when every feed has been read (all new:
parsing, matching, storing); round 2 makes every feed due again (each answers 304) and wakes
the workers with SIGHUP. Prints feeds per second for each round (each feed is leased once a
round: the claims per second), the wall time, and the CPU of the workers and their parser
processes (from the kernel's per-process accounting). Round 3 is round 2 again with one more
feed, on a server of its own, taking ``--slow`` seconds to answer (the first in the config, so
that it is among the first claimed): the time until every other feed is read, less round 2's,
is how long the slow feed held the others back.

Needs PostgreSQL on 127.0.0.1:5432 (``$WATCHER_BENCH_POSTGRES`` for another admin URL).
Every feed is on one host, so the per-host politeness limits are lifted for the run.
"""

from __future__ import annotations

import argparse
import contextlib
import http.server
import os
import resource
import signal
import subprocess
import sys
import tempfile
import threading
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


def wait_until_read(engine: sa.Engine, count: int, since: float | None, but: str = "") -> None:
    """Until every feed (``but`` one) has a fetch recorded (after ``since``, a Unix time)."""
    query = "SELECT count(*) FROM feeds WHERE last_fetch_at IS NOT NULL AND url != :but"
    if since is not None:
        query += " AND last_fetch_at >= to_timestamp(:since)"
    while True:
        with contextlib.suppress(sa.exc.ProgrammingError), engine.connect() as conn:
            found = conn.execute(sa.text(query), {"since": since, "but": but}).scalar_one()
            if found >= count:
                return
        time.sleep(0.1)


class SlowFeed:
    """One feed on a server of its own, answering at once or after ``delay`` seconds."""

    def __init__(self) -> None:
        self.delay = 0.0
        slow = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                time.sleep(slow.delay)
                body = (
                    b'<?xml version="1.0"?><rss version="2.0"><channel><title>Slow</title>'
                    b"<item><guid>s1</guid><title>A slow story</title></item></channel></rss>"
                )
                self.send_response(200)
                self.send_header("Content-Type", "application/rss+xml")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/slow.xml"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()


def rounds_again(
    engine: sa.Engine, processes: list[subprocess.Popen[bytes]], count: int, but: str
) -> float:
    """Every feed due at once, the workers woken: seconds until all but ``but`` are read."""
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE feeds SET next_fetch_at = now()"))
    since, started = time.time(), time.perf_counter()
    for process in processes:
        process.send_signal(signal.SIGHUP)
    wait_until_read(engine, count, since, but)
    return time.perf_counter() - started


def run(
    urls: list[str], workers: int, scratch: Path, slow: SlowFeed, slow_for: float
) -> tuple[float, float, float, float]:
    """(round 1 seconds, round 2 seconds, CPU seconds of all rounds, round 3 seconds) for
    ``workers`` workers."""
    with database() as url:
        config = scratch / f"watcher-{workers}.toml"
        feeds = "".join(f'[[feeds]]\nurl = "{u}"\n' for u in [slow.url, *urls])
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
            slow.delay = 0.0
            wait_until_read(engine, len(urls) + 1, None)
            first = time.perf_counter() - started
            second = rounds_again(engine, processes, len(urls) + 1, "")
            slow.delay = slow_for
            third = rounds_again(engine, processes, len(urls), slow.url)
            slow.delay = 0.0
        finally:
            for process in processes:
                process.send_signal(signal.SIGTERM)
            for process in processes:
                process.wait(timeout=60)
            engine.dispose()
        return first, second, _children_cpu() - cpu_before, third


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--feeds", type=int, default=2000)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--slow", type=float, default=10.0, help="seconds the slow feed takes")
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
                "| workers | round 1 (s) | round 1 claims/s | round 2 (s) | round 2 claims/s "
                f"| CPU, all rounds (s) | round 3, one feed taking {args.slow:.0f} s (s) "
                "| others held back (s) |"
            )
            print("|---|---|---|---|---|---|---|---|")
            slow = SlowFeed()
            for workers in args.workers:
                first, second, cpu, third = run(urls, workers, scratch, slow, args.slow)
                print(
                    f"| {workers} | {first:.1f} | {(args.feeds + 1) / first:.0f} | "
                    f"{second:.1f} | {(args.feeds + 1) / second:.0f} | {cpu:.1f} | "
                    f"{third:.1f} | {max(0.0, third - second):.1f} |",
                    flush=True,
                )


if __name__ == "__main__":
    main()
