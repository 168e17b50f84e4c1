"""feed-watcher against the tools users would pick instead, on one farm, in one run.

    python benchmarks/peers.py --feeds 1000 --repeat 3

Builds a farm of N realistic news feeds (``benchmarks/farm.py``) served on 127.0.0.1 (nginx
when installed), then for each tool runs three rounds against a fresh state, each round a
fresh process as from cron or a systemd timer: 1 — every entry new; 2 — nothing changed (the
server answers 304); 3 — 10 % of the feeds gained three items. The peers are installed into
their own venvs under ``benchmarks/.work/venvs`` on first use:

- ``watcher run --once`` (this project; 4 keyword rules, the shipped topics);
- reader (``update_feeds(workers=8)``);
- rss2email (``r2e run``, mail handed to ``/bin/true`` as its sendmail);
- feed2exec (``feed2exec fetch --parallel``, the ``null`` output);
- and, as a floor rather than a peer, ``benchmarks/httpx_floor.py``: the same requests from a
  process that imports httpx and SQLAlchemy (fixed by the design), over the same client stack
  (httpx on aiohttp's transport), and parses nothing. No tool
  built on them can make a round cheaper, so ``peer / floor`` is the best speed-up possible.

CPU is user+system of the whole process tree (this script makes itself a child subreaper, so
worker processes that outlive their parents are still counted); peak memory is the largest
sum of the tree's proportional set sizes (PSS: each shared page split among the processes that
share it, so that worker processes forked from one server are not counted twice), sampled
every 20 ms; for a single process it equals its RSS less shared libraries' shares. A second
table splits each round's CPU between the tool's main thread, its other threads (the
watcher's writer, reader's workers) and the processes it started (the watcher's parsers),
from the same samples of /proc. Then the
daemon's cost of an unchanged round is measured in one long-lived process
(``benchmarks/daemon_round.py``).
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import json
import os
import resource
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from benchmarks.farm import RULES, Farm, serve
from watcher.core.xmlsafe import prepared, references_repaired
from watcher.parsing.fast import declined

WORK = Path(__file__).resolve().parent / ".work"
PEERS = {  # reader's vendored feedparser needs sgmllib, which reader does not declare
    "reader": ["reader==3.26", "sgmllib3k"],
    "rss2email": ["rss2email==3.14"],
    "feed2exec": ["feed2exec==0.23.0"],
}
ROUNDS = ("1: all new", "2: nothing changed", "3: 10% of feeds changed")
# Issue 18's targets: each round's speed-up over the fastest peer, round 1's CPU against that
# peer's, and the daemon's unchanged round against a bare loop on its client stack.
SPEEDUPS = (5.0, 2.0, 4.0)
CPU_SHARE = 0.25
DAEMON = 1.5
Medians = dict[str, list[float]]  # tool → one median a round
Verdict = tuple[str, str, bool]  # target, this run's figure, met


@dataclass(frozen=True)
class Measure:
    wall: float
    cpu: float
    rss_mb: float
    # Where the CPU went: the first process's main thread, its other threads, the processes
    # it started (each as last sampled; what a sample missed is cpu less their sum).
    main_thread: float = 0.0
    other_threads: float = 0.0
    children: float = 0.0


def _become_subreaper() -> None:
    """Orphaned grandchildren (a fork server's workers) are re-parented to us, so their CPU
    reaches RUSAGE_CHILDREN when we reap them."""
    PR_SET_CHILD_SUBREAPER = 36
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)


def _children(pid: int) -> list[int]:
    found = []
    try:
        for task in Path(f"/proc/{pid}/task").iterdir():
            found += [int(child) for child in (task / "children").read_text().split()]
    except OSError:
        pass
    return found


def _tree(root: int) -> list[int]:
    """``root`` and all its descendants."""
    found, stack = [], [root]
    while stack:
        pid = stack.pop()
        found.append(pid)
        stack += _children(pid)
    return found


def _memory(pids: list[int]) -> int:
    """Bytes: the sum of the processes' PSS."""
    total = 0
    for pid in pids:
        try:
            rollup = Path(f"/proc/{pid}/smaps_rollup").read_text()
        except OSError:
            continue
        total += next(
            int(line.split()[1]) * 1024 for line in rollup.splitlines() if line.startswith("Pss:")
        )
    return total


TICK = os.sysconf("SC_CLK_TCK")


def _thread_cpu(pid: int) -> dict[int, float]:
    """CPU seconds of each thread of ``pid``, by thread id."""
    found = {}
    try:
        for task in Path(f"/proc/{pid}/task").iterdir():
            fields = (task / "stat").read_text().rpartition(")")[2].split()
            found[int(task.name)] = (int(fields[11]) + int(fields[12])) / TICK
    except (OSError, IndexError, ValueError):
        pass  # gone meanwhile: its last sample stands
    return found


def measure(command: Sequence[str], cwd: Path, env: dict[str, str] | None = None) -> Measure:
    """Run ``command`` and everything it starts to completion."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    process = subprocess.Popen(
        command, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    peak = 0
    threads: dict[tuple[int, int], float] = {}  # (pid, thread id) → CPU seconds
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            pids = _tree(process.pid)
            peak = max(peak, _memory(pids))
            for pid in pids:
                threads.update(((pid, tid), cpu) for tid, cpu in _thread_cpu(pid).items())
            done.wait(0.02)

    sampler = threading.Thread(target=sample)
    sampler.start()
    _, stderr = process.communicate()
    wall = time.perf_counter() - started
    done.set()
    sampler.join()
    _reap_orphans()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if process.returncode not in (0, 1):
        raise SystemExit(f"{command[0]} exited with {process.returncode}:\n{stderr.decode()}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    root = process.pid
    main_thread = threads.get((root, root), 0.0)
    others = sum(cpu for (pid, tid), cpu in threads.items() if pid == root and tid != root)
    children = sum(cpu for (pid, _), cpu in threads.items() if pid != root)
    return Measure(wall, cpu, peak / 2**20, main_thread, others, children)


def _reap_orphans() -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            if not [c for c in _children(os.getpid()) if _is_ours(c)]:
                return
            time.sleep(0.01)


def _is_ours(pid: int) -> bool:
    """A child that is not the feed server (which runs until the end)."""
    try:
        return "nginx" not in Path(f"/proc/{pid}/comm").read_text()
    except OSError:
        return False


def venv(name: str, packages: Sequence[str] | None = None) -> Path:
    """A venv of its own under ``WORK`` holding ``packages`` (a peer's, by default),
    installed on first use."""
    wanted = PEERS[name] if packages is None else packages
    path = WORK / "venvs" / name
    if not (path / "bin" / "python").exists():
        print(f"installing {' '.join(wanted)} into {path} ...", file=sys.stderr)
        subprocess.run([sys.executable, "-m", "venv", str(path)], check=True)
        subprocess.run(
            [str(path / "bin" / "pip"), "install", "-q", *wanted],
            check=True,
            stdout=subprocess.DEVNULL,
        )
    return path


@dataclass(frozen=True)
class Tool:
    command: list[str]  # one round
    # How many entries it has stored: proof that it did the work (None: the floor, which
    # stores nothing by design).
    stored: Callable[[], int] | None


Setup = Callable[[Path, list[str]], Tool]  # workdir, feed URLs


def _rows(database: Path, query: str) -> Callable[[], int]:
    def count() -> int:
        with contextlib.closing(sqlite3.connect(database)) as conn:
            return int(conn.execute(query).fetchone()[0])

    return count


def watcher_setup(workdir: Path, urls: list[str]) -> Tool:
    lines = [
        f'[watcher]\ndatabase = "sqlite:///{workdir / "watcher.db"}"\n'
        # The farm is one host standing for many; real sites keep the polite default of 2.
        'concurrency = 4\nper_host = 4\nper_host_gap = "0s"\n'
    ]
    lines += [f'[[feeds]]\nurl = "{url}"\n' for url in urls]
    lines += [f'[[rules]]\nname = "{name}"\nkeywords = {words}\n' for name, words in RULES.items()]
    config = workdir / "watcher.toml"
    config.write_text("\n".join(lines))
    return Tool(
        [sys.executable, "-m", "watcher", "run", "--once", "-q", "--config", str(config)],
        _rows(workdir / "watcher.db", "SELECT count(*) FROM entries"),
    )


def reader_setup(workdir: Path, urls: list[str]) -> Tool:
    python = str(venv("reader") / "bin" / "python")
    db = workdir / "reader.sqlite"
    add = "import sys\nfrom reader import make_reader\nr = make_reader(sys.argv[1])\n"
    add += "for url in sys.stdin.read().split(): r.add_feed(url)\n"
    subprocess.run([python, "-c", add, str(db)], input="\n".join(urls), text=True, check=True)
    update = (
        "import sys\nfrom reader import make_reader\n"
        "make_reader(sys.argv[1]).update_feeds(workers=8, scheduled=False)"
    )
    return Tool([python, "-c", update, str(db)], _rows(db, "SELECT count(*) FROM entries"))


def rss2email_setup(workdir: Path, urls: list[str]) -> Tool:
    r2e = str(venv("rss2email") / "bin" / "r2e")
    config = workdir / "r2e.cfg"
    lines = [
        "[DEFAULT]\nto = reader@example.org\nfrom = r2e@example.org\n"
        "email-protocol = sendmail\nsendmail = /bin/true\n"
    ]
    lines += [f"[feed.f{n}]\nurl = {url}\n" for n, url in enumerate(urls)]
    config.write_text("\n".join(lines))
    data = workdir / "r2e.json"

    def seen() -> int:
        return sum(len(feed.get("seen", {})) for feed in json.loads(data.read_text())["feeds"])

    return Tool([r2e, "-c", str(config), "-d", str(data), "run"], seen)


def feed2exec_setup(workdir: Path, urls: list[str]) -> Tool:
    feed2exec = str(venv("feed2exec") / "bin" / "feed2exec")
    config = workdir / "feed2exec.ini"
    lines = [
        f"[f{n}]\nurl = {url}\noutput = feed2exec.plugins.null\n" for n, url in enumerate(urls)
    ]
    config.write_text("\n".join(lines))
    db = workdir / "feed2exec.db"
    return Tool(
        [feed2exec, "--config", str(config), "--database", str(db), "fetch", "--parallel"],
        _rows(db, "SELECT count(*) FROM feedcache"),
    )


def floor_setup(workdir: Path, urls: list[str]) -> Tool:
    listed = workdir / "urls.txt"
    listed.write_text("\n".join(urls))
    script = Path(__file__).with_name("httpx_floor.py")
    return Tool([sys.executable, str(script), str(workdir / "floor.json"), str(listed)], None)


FLOOR = "floor: httpx on aiohttp + SQLAlchemy, requests only"
TOOLS: dict[str, Setup] = {
    "feed-watcher": watcher_setup,
    "reader (8 workers)": reader_setup,
    "rss2email": rss2email_setup,
    "feed2exec (--parallel)": feed2exec_setup,
    FLOOR: floor_setup,
}


def run_tool(setup: Setup, farm_size: int, repeat: int) -> list[list[Measure]]:
    """``repeat`` runs of three rounds, each on a fresh farm and a fresh state."""
    runs = []
    for _ in range(repeat):
        with _served_farm(farm_size) as (scratch, farm, urls):
            tool = setup(scratch, urls)
            first = farm.entries
            rounds = [measure(tool.command, scratch)]
            _check(tool, first, "round 1")
            rounds.append(measure(tool.command, scratch))
            time.sleep(1.1)  # Last-Modified has a one-second resolution
            added = farm.grow() * 3
            rounds.append(measure(tool.command, scratch))
            _check(tool, first + added, "round 3")
            runs.append(rounds)
    return runs


def _check(tool: Tool, expected: int, when: str) -> None:
    if tool.stored is None:
        return
    stored = tool.stored()
    if stored < expected:
        raise SystemExit(f"{tool.command[0]} stored {stored} entries after {when}, not {expected}")


@contextlib.contextmanager
def _served_farm(size: int) -> Iterator[tuple[Path, Farm, list[str]]]:
    """A fresh farm served on 127.0.0.1: (scratch directory, farm, feed URLs)."""
    with _scratch() as scratch:
        root = scratch / "farm"
        root.mkdir()
        farm = Farm(root, size)
        with serve(root) as (base, _server):
            yield scratch, farm, [f"{base}{farm.path(n)}" for n in range(size)]


@contextlib.contextmanager
def _scratch() -> Iterator[Path]:
    """A scratch directory the feed server (nginx runs as nobody) can read."""
    with tempfile.TemporaryDirectory() as name:
        path = Path(name)
        path.chmod(0o755)
        yield path


def daemon_round(farm_size: int) -> list[float]:
    """CPU and wall seconds of an unchanged round inside a running daemon, then of the same
    requests from bare loops: httpx on aiohttp's transport, httpx on httpcore, aiohttp."""
    with _served_farm(farm_size) as (scratch, farm, urls):
        tool = watcher_setup(scratch, urls)
        measure(tool.command, scratch)
        _check(tool, farm.entries, "round 1")
        script = Path(__file__).with_name("daemon_round.py")
        out = subprocess.run(
            [sys.executable, str(script), str(scratch / "watcher.toml")],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.split()
    return [float(value) for value in out]


def _cpu_table(results: dict[str, list[list[Measure]]]) -> None:
    """Where each tool's CPU went, round by round (medians)."""
    print(
        "\nWhere the CPU goes (s): the tool's main thread, its other threads, the processes it "
        "started, and what the 20 ms samples missed (a process that lives less than that).\n"
        "\n| tool | round | main thread | other threads | other processes | not sampled |"
        "\n|---|---|---|---|---|---|"
    )
    for name, runs in results.items():
        for index, label in enumerate(ROUNDS):
            ones = [run[index] for run in runs]
            parts = [
                statistics.median(getattr(one, part) for one in ones)
                for part in ("main_thread", "other_threads", "children")
            ]
            missed = statistics.median(
                one.cpu - one.main_thread - one.other_threads - one.children for one in ones
            )
            print(f"| {name} | {label} | " + " | ".join(f"{p:.2f}" for p in parts), end="")
            print(f" | {missed:.2f} |")


CORPUS = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "corpus"
FEED_SUFFIXES = (".xml", ".rss", ".atom", ".rdf")  # the corpus also holds its README and list


def fast_path_coverage(what: str, paths: list[Path]) -> str:
    """How many documents the lxml fast path takes, and why it declines the others (each
    document as the watcher hands it to a parser)."""
    reasons = Counter(
        declined("https://news.example/feed.xml", references_repaired(prepared(path.read_bytes())))
        for path in paths
    )
    taken = reasons.pop(None, 0)
    why = "; ".join(f"{reason}: {count}" for reason, count in reasons.most_common())
    return f"fast path, {what}: {taken} of {len(paths)} documents taken" + (
        f"; declined: {why}" if why else ""
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--feeds", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--only", help="run only the tools whose name contains this")
    args = parser.parse_args()
    _become_subreaper()
    # The peers run from venvs that pip filled with compiled bytecode; so must we, even where
    # PYTHONDONTWRITEBYTECODE is set (compileall writes regardless).
    package = Path(__file__).resolve().parent.parent / "watcher"
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(package)], check=True)
    with _scratch() as scratch:
        farm = Farm(scratch, args.feeds)
        with serve(scratch) as (_, server):
            pass
        print(
            f"{args.feeds} feeds, {farm.size / 1e6:.1f} MB, {farm.entries} items, served by "
            f"{server}; medians of {args.repeat}; each round a fresh process.\n"
        )
        print(fast_path_coverage("the farm", sorted(scratch.glob("*.xml"))))
        feeds = sorted(path for path in CORPUS.iterdir() if path.suffix in FEED_SUFFIXES)
        print(fast_path_coverage("tests/fixtures/corpus", feeds) + "\n")
    results = {}
    for name, setup in TOOLS.items():
        if args.only and args.only not in name:
            continue
        print(f"running {name} ...", file=sys.stderr)
        results[name] = run_tool(setup, args.feeds, args.repeat)
    walls, cpus = _round_table(results, args.feeds)
    _cpu_table(results)
    verdicts = _speedups(walls, cpus)
    if not args.only or "watcher" in args.only:
        verdicts.append(_daemon_table(args.feeds))
    if verdicts:
        print("\n| issue 18's target | this run | |\n|---|---|---|")
        for target, figure, met in verdicts:
            print(f"| {target} | {figure} | {'met' if met else '**missed**'} |")


def _round_table(results: dict[str, list[list[Measure]]], feeds: int) -> tuple[Medians, Medians]:
    """The tools' rounds (medians of the runs); their walls and CPUs."""
    print("| tool | round | wall (s) | CPU (s) | peak memory, PSS (MB) | wall per feed (ms) |")
    print("|---|---|---|---|---|---|")
    walls: Medians = {}
    cpus: Medians = {}
    for name, runs in results.items():
        walls[name], cpus[name] = [], []
        for index, label in enumerate(ROUNDS):
            wall = statistics.median(run[index].wall for run in runs)
            cpu = statistics.median(run[index].cpu for run in runs)
            rss = statistics.median(run[index].rss_mb for run in runs)
            walls[name].append(wall)
            cpus[name].append(cpu)
            print(
                f"| {name} | {label} | {wall:.2f} | {cpu:.2f} | {rss:.0f} | "
                f"{wall / feeds * 1000:.2f} |"
            )
    return walls, cpus


def _speedups(walls: Medians, cpus: Medians) -> list[Verdict]:
    """feed-watcher against the fastest peer of each round, and against the floor."""
    ours = walls.get("feed-watcher")
    peers = {name: wall for name, wall in walls.items() if name not in ("feed-watcher", FLOOR)}
    floor = walls.get(FLOOR)
    if not ours or not peers:
        return []
    print(
        "\n| round | fastest peer | its wall (s) | feed-watcher (s) | speed-up |"
        + (" floor (s) | best possible speed-up |" if floor else "")
    )
    print("|---|---|---|---|---|" + ("---|---|" if floor else ""))
    verdicts = []
    for index, label in enumerate(ROUNDS):
        best = min(peers, key=lambda name: peers[name][index])
        fastest = peers[best][index]
        speedup = fastest / ours[index]
        print(
            f"| {label} | {best} | {fastest:.2f} | {ours[index]:.2f} | {speedup:.2f}x |"
            + (f" {floor[index]:.2f} | {fastest / floor[index]:.1f}x |" if floor else "")
        )
        wanted = SPEEDUPS[index]
        verdicts.append(
            (f"round {label}: ≥ {wanted:g}× {best}", f"{speedup:.2f}×", speedup >= wanted)
        )
        if index == 0:
            share = cpus["feed-watcher"][0] / cpus[best][0]
            verdicts.append(
                (f"round 1 CPU ≤ {CPU_SHARE:g}× {best}'s", f"{share:.2f}×", share <= CPU_SHARE)
            )
    return verdicts


def _daemon_table(feeds: int) -> Verdict:
    """The daemon's unchanged round beside bare loops of the same requests."""
    figures = daemon_round(feeds)
    print(
        f"\nAn unchanged round of {feeds} feeds (conditional GETs answered 304), CPU "
        "and wall seconds:\n\n| client | CPU (s) | wall (s) | CPU against the same stack |"
        "\n|---|---|---|---|"
    )
    labels = (
        "the daemon (long-lived process)",
        "bare loop: httpx on aiohttp's transport (the daemon's stack)",
        "bare loop: httpx on httpcore",
        "bare loop: aiohttp alone",
    )
    stack = figures[2]
    for index, label in enumerate(labels):
        cpu, wall = figures[2 * index], figures[2 * index + 1]
        print(f"| {label} | {cpu:.3f} | {wall:.3f} | {cpu / stack:.2f}x |")
    ratio = figures[0] / stack
    return (
        f"the daemon's unchanged round ≤ {DAEMON:g}× the bare loop",
        f"{ratio:.2f}×",
        ratio <= DAEMON,
    )


if __name__ == "__main__":
    main()
