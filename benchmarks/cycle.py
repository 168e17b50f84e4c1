"""How long ``watcher run --once`` takes over N feeds served on 127.0.0.1.

Three rounds against one database: 1 — every entry is new; 2 — nothing changed (the server
answers 304 to the stored ETag); 3 — 10 % of the feeds gained three items. Each round is a
fresh process, as from a timer; the whole run is repeated and medians reported.

    python benchmarks/cycle.py --feeds 200 --repeat 3

Prints a Markdown table of wall time, CPU time (user+sys) and peak RSS per round.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from benchmarks.farm import TOPICS, WORDS  # the same vocabulary as the peer benchmark's farm
from tests.servers import FeedServer


def paragraph(rng: random.Random, words: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(words)).capitalize() + "."


def feed_document(rng: random.Random, feed: int, items: range) -> str:
    entries = []
    for n in items:
        title = rng.choice(TOPICS) if rng.random() < 0.05 else paragraph(rng, 9)
        body = " ".join(paragraph(rng, 25) for _ in range(rng.randint(2, 6)))
        entries.append(
            f"<item><title>{title}</title><link>https://outlet{feed}.example/{n}</link>"
            f'<guid isPermaLink="false">o{feed}-{n}</guid>'
            f"<pubDate>Mon, 15 Sep 2025 10:{n % 60:02d}:00 GMT</pubDate>"
            f"<description>&lt;p&gt;{body}&lt;/p&gt;</description></item>"
        )
    return (
        '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel>'
        f"<title>Outlet {feed}</title><link>https://outlet{feed}.example/</link>"
        + "".join(reversed(entries))
        + "</channel></rss>"
    )


def run_round(config: Path) -> tuple[float, float, float]:
    """Wall seconds, CPU seconds and peak RSS (MB) of one ``watcher run --once``."""
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-m", "watcher", "run", "--once", "-q", "--config", str(config)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode not in (0, 1):
        raise SystemExit(f"watcher exited with {process.returncode}")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


def one_run(server: FeedServer, feeds: int, items: int, workdir: Path) -> list[tuple[float, ...]]:
    rng = random.Random(42)
    lines = [
        f'[watcher]\ndatabase = "sqlite:///{workdir / "bench.db"}"\nconcurrency = 20\n'
        'per_host = 20\nper_host_gap = "0s"\n'
    ]  # the farm is one host standing for many
    for feed in range(feeds):
        server.serve(f"/{feed}.xml", feed_document(rng, feed, range(items)))
        lines.append(f'[[feeds]]\nurl = "{server.url(f"/{feed}.xml")}"\n')
    for name, keywords in {
        "tiktok": '["TikTok", "ByteDance"]',
        "madrid-talks": '["Madrid talks", "talks in Madrid"]',
        "analog-chips": '["analog chips", "anti-dumping probe"]',
        "tariffs": '["tariff", "tariffs"]',
    }.items():
        lines.append(f'[[rules]]\nname = "{name}"\nkeywords = {keywords}\n')
    config = workdir / "bench.toml"
    config.write_text("\n".join(lines))
    results: list[tuple[float, ...]] = [run_round(config), run_round(config)]
    for feed in range(0, feeds, 10):  # 10 % of the feeds gain three items
        server.serve(f"/{feed}.xml", feed_document(rng, feed, range(items + 3)))
    results.append(run_round(config))
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--feeds", type=int, default=200)
    parser.add_argument("--items", type=int, default=30)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    server = FeedServer()
    server.start()
    runs = []
    try:
        for _ in range(args.repeat):
            with tempfile.TemporaryDirectory() as workdir:
                runs.append(one_run(server, args.feeds, args.items, Path(workdir)))
    finally:
        server.stop()
    size = sum(len(route.body) for route in server.routes.values())
    print(
        f"{args.feeds} feeds x {args.items} items ({size / 1e6:.1f} MB), "
        f"medians of {args.repeat} runs, each round a fresh `watcher run --once`:\n"
    )
    print("| round | wall (s) | CPU (s) | peak RSS (MB) | wall per feed (ms) |")
    print("|---|---|---|---|---|")
    names = ["1: all new", "2: nothing changed", "3: 10% of feeds changed"]
    for index, name in enumerate(names):
        wall, cpu, rss = (statistics.median(run[index][k] for run in runs) for k in range(3))
        print(f"| {name} | {wall:.2f} | {cpu:.2f} | {rss:.0f} | {wall / args.feeds * 1000:.1f} |")


if __name__ == "__main__":
    main()
