"""Does the daemon's memory plateau? A long run of ``watcher run`` against a changing farm.

    python benchmarks/soak.py --feeds 300 --minutes 70            # 10 % changing every 10 s
    python benchmarks/soak.py --feeds 300 --minutes 20 --quiet    # nothing ever changes
    python benchmarks/soak.py --feeds 300 --minutes 70 --prefill 1000000

The farm of ``benchmarks/farm.py`` is served on 127.0.0.1; the daemon polls every feed every
``--interval`` seconds (its interval bounds pinned there, whatever the feeds' own hints say),
every entry is news (``backlog`` of ten years), the four shipped topics notify an SMTP server
run by this script (aiosmtpd, from the test extras), and the database is SQLite. Every
``--change-every`` seconds ``--change-fraction`` of the feeds gain three items (none with
``--quiet``). ``--prefill N`` first stores N entries in the database, to see whether the
plateau depends on how much is stored.

The daemon runs under the environment of the shipped unit (``Environment=`` lines of
``systemd/feed-watcher.service``), so that what is measured is what ships; ``--env K=V``
adds to it. Every ``--sample`` seconds the proportional set size (PSS) of each process of the
daemon's tree is read from ``/proc/PID/smaps_rollup``: the main process, and the rest (the
parser processes). After ``--warmup`` minutes, the growth is reported
three ways: the least-squares slope in MB per hour and per 10,000 new entries, and the
difference between the means of the first and the last five samples of the measured span;
the same for the tree's anonymous pages alone (``Pss_Anon``), which other processes on the
machine do not move.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from benchmarks.farm import RULES, Farm, serve

UNIT = Path(__file__).resolve().parent.parent / "systemd" / "feed-watcher.service"


@dataclass(frozen=True)
class Sample:
    seconds: float  # since the daemon started
    main_mb: float
    others_mb: float  # the parser processes (and a fork server, in commits that had one)
    entries: int  # stored by the daemon (the prefill not counted)
    # The tree's anonymous pages alone (Pss_Anon): unlike PSS, it does not rise when other
    # processes that map the same files (libpython, shared objects) exit.
    anon_mb: float = 0.0

    @property
    def total_mb(self) -> float:
        return self.main_mb + self.others_mb


def _pss_kb(pid: int, field: str = "Pss:") -> int:
    try:
        rollup = Path(f"/proc/{pid}/smaps_rollup").read_text()
    except OSError:
        return 0
    return next((int(line.split()[1]) for line in rollup.splitlines() if line.startswith(field)), 0)


def _descendants(pid: int) -> list[int]:
    found, stack = [], [pid]
    while stack:
        parent = stack.pop()
        try:
            tasks = list(Path(f"/proc/{parent}/task").iterdir())
        except OSError:
            continue
        for task in tasks:
            try:
                children = [int(c) for c in (task / "children").read_text().split()]
            except OSError:
                continue
            found += children
            stack += children
    return found


def unit_environment() -> dict[str, str]:
    """The ``Environment=`` settings of the shipped unit."""
    found: dict[str, str] = {}
    for line in UNIT.read_text().splitlines():
        if line.startswith("Environment="):
            for pair in line.removeprefix("Environment=").split():
                key, _, value = pair.strip('"').partition("=")
                found[key] = value
    return found


class SmtpCounter:
    """An SMTP server on 127.0.0.1 that accepts and counts messages."""

    def __init__(self) -> None:
        from aiosmtpd.controller import Controller

        self.messages = 0
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = int(probe.getsockname()[1])
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages += 1
        return "250 OK"

    def __enter__(self) -> int:
        self.controller.start()
        return self.port

    def __exit__(self, *exc: object) -> None:
        self.controller.stop()


def write_config(workdir: Path, urls: list[str], interval: int, smtp_port: int) -> Path:
    every = f'"{interval}s"'
    lines = [
        "[watcher]",
        f'database = "sqlite:///{workdir / "watcher.db"}"',
        f"interval = {every}",
        f"min_interval = {every}",
        f"max_interval = {every}",
        'backlog = "3650d"',  # the farm's items are dated 2025: every new one is news
        "per_host = 20",  # the farm is one host standing for many
        'per_host_gap = "0s"',
        "[targets.desk]",
        f'url = "mailto://127.0.0.1:{smtp_port}?from=watcher@example.org&to=desk@example.org"',
        'rate = "100/s"',
    ]
    for name, keywords in RULES.items():
        lines += ["[[rules]]", f'name = "{name}"', f"keywords = {keywords}"]
    lines += [f'[[feeds]]\nurl = "{url}"' for url in urls]
    config = workdir / "watcher.toml"
    config.write_text("\n".join(lines) + "\n")
    return config


def prefill(config: Path, database: Path, count: int) -> None:
    """Store ``count`` entries of a feed the farm does not serve, as months of use would."""
    from watcher.app import open_store
    from watcher.config.load import load_config
    from watcher.core.redact import Redactor

    open_store(load_config(config), Redactor()).engine.dispose()  # create and migrate
    now = datetime.now(UTC)
    with sqlite3.connect(database) as conn:
        cursor = conn.execute(
            "INSERT INTO feeds (url, name, configured, created_at) VALUES (?, ?, 0, ?)",
            ("https://archive.example/feed", "Archive", now.strftime("%Y-%m-%d %H:%M:%S.%f")),
        )
        feed = cursor.lastrowid
        batch = 50_000
        for start in range(0, count, batch):
            rows = [
                (
                    feed, f"guid:urn:archive:{n}", f"urn:archive:{n}", f"Archived story {n}",
                    f"https://archive.example/{n}", "Summary of an archived story.", "", "",
                    "[]", (now - timedelta(minutes=n)).strftime("%Y-%m-%d %H:%M:%S.%f"),
                    f"{n:064x}",
                )
                for n in range(start, min(start + batch, count))
            ]  # fmt: skip
            conn.executemany(
                "INSERT INTO entries (feed_id, key, guid, title, link, summary, content, author,"
                " tags, first_seen_at, content_hash) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                rows,
            )
        conn.execute(
            "INSERT INTO entry_keys (feed_id, key, entry_id) "
            "SELECT feed_id, key, id FROM entries WHERE feed_id = ?",
            (feed,),
        )


@dataclass
class Changer:
    """Grows the farm on a schedule, in a thread."""

    farm: Farm
    every: float
    fraction: float
    stop: threading.Event
    rounds: int = 0

    def run(self) -> None:
        step = max(1, round(1 / self.fraction)) if self.fraction > 0 else 0
        while step and not self.stop.wait(self.every):
            self.farm.grow(every=step, added=3)
            self.rounds += 1


def stored(database: Path, offset: int) -> int:
    try:
        with sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=5) as conn:
            return int(conn.execute("SELECT count(*) FROM entries").fetchone()[0]) - offset
    except sqlite3.Error:
        return -1


def slope(xs: list[float], ys: list[float]) -> float:
    """Least-squares slope of ys over xs."""
    if len(xs) < 2:
        return 0.0
    return statistics.linear_regression(xs, ys).slope


def report(samples: list[Sample], warmup: float, title: str) -> None:
    span = [s for s in samples if s.seconds >= warmup]
    print(f"\n## {title}\n")
    print("| minute | tree PSS (MB) | main (MB) | parser processes (MB) | entries stored |")
    print("|---|---|---|---|---|")
    shown = -1
    for sample in samples:
        minute = int(sample.seconds // 60)
        if minute != shown and (minute % 5 == 0 or sample is samples[-1]):
            shown = minute
            print(
                f"| {sample.seconds / 60:.1f} | {sample.total_mb:.1f} | {sample.main_mb:.1f} | "
                f"{sample.others_mb:.1f} | {sample.entries} |"
            )
    if len(span) < 10:
        print("\n(too short to measure a slope after the warm-up)")
        return
    hours = [s.seconds / 3600 for s in span]
    entries = [s.entries / 10_000 for s in span]
    head, tail = span[:5], span[-5:]
    measured = (span[-1].seconds - span[0].seconds) / 60
    print(f"\nafter the first {warmup / 60:.0f} min, over {measured:.1f} min:\n")
    print("| process | first 5 (MB) | last 5 (MB) | growth (MB) | slope (MB/h) | per 10k entries |")
    print("|---|---|---|---|---|---|")
    parts: list[tuple[str, Callable[[Sample], float]]] = [
        ("tree", lambda s: s.total_mb),
        ("tree, anonymous pages only", lambda s: s.anon_mb),
        ("main", lambda s: s.main_mb),
        ("parser processes", lambda s: s.others_mb),
    ]
    for name, value in parts:
        ys = [value(s) for s in span]
        first = statistics.mean(value(s) for s in head)
        last = statistics.mean(value(s) for s in tail)
        per_entries = slope(entries, ys) if entries[-1] > entries[0] else 0.0
        print(
            f"| {name} | {first:.1f} | {last:.1f} | {last - first:+.1f} | "
            f"{slope(hours, ys):+.2f} | {per_entries:+.3f} |"
        )
    print(
        f"\npeak tree PSS: {max(s.total_mb for s in samples):.1f} MB; "
        f"new entries stored: {span[-1].entries}"
    )


def soak(args: argparse.Namespace) -> list[Sample]:
    with tempfile.TemporaryDirectory(prefix="soak-") as scratch:
        workdir = Path(scratch)
        (workdir / "farm").mkdir()
        farm = Farm(workdir / "farm", args.feeds)
        smtp = SmtpCounter()
        with serve(workdir / "farm") as (base, server), smtp as smtp_port:
            urls = [base + farm.path(n) for n in range(args.feeds)]
            config = write_config(workdir, urls, args.interval, smtp_port)
            database = workdir / "watcher.db"
            if args.prefill:
                started = time.perf_counter()
                prefill(config, database, args.prefill)
                print(f"prefilled {args.prefill} entries in {time.perf_counter() - started:.0f} s")
            offset = args.prefill
            env = {**os.environ, **unit_environment(), **dict(e.split("=", 1) for e in args.env)}
            print(f"server: {server}; daemon environment from the unit: {unit_environment()}")
            stop = threading.Event()
            changer = Changer(
                farm, args.change_every, 0 if args.quiet else args.change_fraction, stop
            )
            # The daemon's log goes to a file: a pipe nobody reads fills up (64 KB) and then
            # blocks the daemon on its next warning, which once passed for a hang.
            log = (workdir / "daemon.log").open("w")
            daemon = subprocess.Popen(
                [sys.executable, "-m", "watcher", "run", "-q", "--config", str(config)],
                env=env,
                stderr=log,
                text=True,
            )
            samples: list[Sample] = []
            began = time.monotonic()
            threading.Thread(target=changer.run, daemon=True).start()
            try:
                for _ in _ticks(args.sample, args.minutes * 60):
                    if daemon.poll() is not None:
                        raise SystemExit(f"the daemon exited: {_tail(workdir / 'daemon.log')}")
                    others = _descendants(daemon.pid)
                    samples.append(
                        Sample(
                            time.monotonic() - began,
                            _pss_kb(daemon.pid) / 1024,
                            sum(_pss_kb(pid) for pid in others) / 1024,
                            stored(database, offset),
                            sum(_pss_kb(pid, "Pss_Anon:") for pid in [daemon.pid, *others]) / 1024,
                        )
                    )
            finally:
                stop.set()
                daemon.send_signal(signal.SIGTERM)
                try:
                    daemon.wait(30)
                except subprocess.TimeoutExpired:  # say so, and keep the samples
                    print("the daemon did not stop within 30 s of SIGTERM: killed")
                    daemon.kill()
                    daemon.wait()
                log.close()
            print(f"{changer.rounds} rounds of changes; {smtp.messages} emails received")
            print(f"the daemon's log, {(workdir / 'daemon.log').stat().st_size} bytes, ends:")
            print(_tail(workdir / "daemon.log"))
            return samples


def _tail(path: Path, lines: int = 5) -> str:
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def _ticks(every: float, duration: float) -> Iterator[None]:
    start = time.monotonic()
    while time.monotonic() - start < duration:
        yield
        time.sleep(max(0.0, every - (time.monotonic() - start) % every))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--feeds", type=int, default=300)
    parser.add_argument("--minutes", type=float, default=70)
    parser.add_argument("--warmup", type=float, default=10, help="minutes not measured")
    parser.add_argument("--interval", type=int, default=5, help="seconds between polls")
    parser.add_argument("--change-every", type=float, default=10, help="seconds")
    parser.add_argument("--change-fraction", type=float, default=0.1)
    parser.add_argument("--quiet", action="store_true", help="no feed ever changes")
    parser.add_argument("--prefill", type=int, default=0, help="entries stored beforehand")
    parser.add_argument("--sample", type=float, default=10, help="seconds between samples")
    parser.add_argument("--env", action="append", default=[], help="KEY=VALUE for the daemon")
    args = parser.parse_args()
    samples = soak(args)
    what = (
        "no changes"
        if args.quiet
        else f"{args.change_fraction:.0%} changing every {args.change_every:g} s"
    )
    prefilled = f", {args.prefill:,} entries stored beforehand" if args.prefill else ""
    report(
        samples,
        args.warmup * 60,
        f"{args.feeds} feeds every {args.interval} s, {what}{prefilled}, {args.minutes:g} min",
    )


if __name__ == "__main__":
    main()
