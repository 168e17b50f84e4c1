"""Does a bigger store make a cycle slower? One ``watcher run --once`` over N feeds (all new
entries) against an empty database and against one that already holds a million entries.

    python benchmarks/identity.py [--feeds 1000] [--stored 1000000] [--repeat 3]

The large database is built once (directly with sqlite3, in benchmarks/.work/, reused by later
runs): the same feed URLs, each with its share of old entries, their identity keys, stories and
story keys, first seen over the last 90 days, with near-duplicate bands for the last 48 hours.
Prints wall and CPU time for both and their ratio (issue 4's target: at most 1.3).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from benchmarks.cycle import feed_document
from tests.servers import FeedServer
from watcher.core.clustering import bands, shingles, signature

WORK = Path(__file__).resolve().parent / ".work"


def write_config(path: Path, server: FeedServer, feeds: int, database: Path) -> None:
    lines = [
        f'[watcher]\ndatabase = "sqlite:///{database}"\nconcurrency = 20\nper_host = 20\n'
        'per_host_gap = "0s"\n'
    ]  # the farm is one host standing for many
    lines += [f'[[feeds]]\nurl = "{server.url(f"/{n}.xml")}"\n' for n in range(feeds)]
    lines.append("[[rules]]\nname = \"tiktok\"\nquery = 'TikTok OR ByteDance'\n")
    path.write_text("\n".join(lines))


def seeded_database(config: Path, database: Path, feeds: int, stored: int) -> Path:
    """The database with ``stored`` old entries, built once and cached."""
    cached = WORK / f"seeded-{feeds}-{stored}.db"
    if cached.exists():
        return cached
    WORK.mkdir(exist_ok=True)
    # Let watcher create the schema and register the feeds, then fill it directly.
    subprocess.run(
        [sys.executable, "-m", "watcher", "feeds", "-q", "--config", str(config)],
        check=True, stdout=subprocess.DEVNULL,
    )  # fmt: skip
    started = time.perf_counter()
    now = datetime.now(UTC).replace(tzinfo=None)
    rng = random.Random(1)
    with sqlite3.connect(database) as conn:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=OFF")
        feed_ids = [row[0] for row in conn.execute("SELECT id FROM feeds ORDER BY id")]
        per_feed = stored // len(feed_ids)
        entry_id = 0
        for feed_id in feed_ids:
            entries, keys, stories, story_keys, story_bands = [], [], [], [], []
            for n in range(per_feed):
                entry_id += 1
                seen = now - timedelta(seconds=rng.uniform(0, 90 * 86400))
                topic = rng.choice(["trade", "chips", "talks", "markets"])
                title = f"Archive story {feed_id}-{n} about {topic}"
                link = f"https://archive{feed_id}.example/{n}"
                stories.append((entry_id, seen))
                entries.append(
                    (
                        entry_id,
                        feed_id,
                        f"guid:old-{feed_id}-{n}",
                        f"old-{feed_id}-{n}",
                        title,
                        link,
                        seen,
                        "",
                        "",
                        "",
                        "[]",
                        seen,
                        f"h{entry_id}",
                        entry_id,
                    )
                )
                keys.append((feed_id, f"guid:old-{feed_id}-{n}", entry_id))
                keys.append((feed_id, f"link:{link}", entry_id))
                story_keys.append((f"url:{link}", entry_id))
                if now - seen < timedelta(hours=48):
                    for band in bands(signature(shingles(title, ""))):
                        story_bands.append((band, entry_id, entry_id, seen))
            conn.executemany("INSERT INTO stories (id, created_at) VALUES (?, ?)", stories)
            conn.executemany(
                "INSERT INTO entries (id, feed_id, key, guid, title, link, published, summary,"
                " content, author, tags, first_seen_at, content_hash, story_id)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                entries,
            )
            conn.executemany(
                "INSERT INTO entry_keys (feed_id, key, entry_id) VALUES (?, ?, ?)", keys
            )
            conn.executemany("INSERT INTO story_keys (key, story_id) VALUES (?, ?)", story_keys)
            conn.executemany(
                "INSERT OR IGNORE INTO story_bands (band, story_id, entry_id, seen_at)"
                " VALUES (?, ?, ?, ?)",
                story_bands,
            )
        conn.execute("ANALYZE")
    print(f"seeded {entry_id:,} entries in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    shutil.move(database, cached)
    for suffix in ("-wal", "-shm"):
        Path(f"{database}{suffix}").unlink(missing_ok=True)
    return cached  # fmt: skip


def one_cycle(config: Path) -> tuple[float, float]:
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-m", "watcher", "run", "--once", "-q", "--config", str(config)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    _, status, usage = os.wait4(process.pid, 0)
    if os.waitstatus_to_exitcode(status) not in (0, 1):
        raise SystemExit("watcher failed")
    return time.perf_counter() - started, usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--feeds", type=int, default=1000)
    parser.add_argument("--stored", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    server = FeedServer()
    server.start()
    rng = random.Random(42)
    for n in range(args.feeds):
        server.serve(f"/{n}.xml", feed_document(rng, n, range(20)))
    results: dict[str, list[tuple[float, float]]] = {"empty": [], "full": []}
    try:
        with tempfile.TemporaryDirectory() as tmp:
            work = Path(tmp)
            seed_config = work / "seed.toml"
            write_config(seed_config, server, args.feeds, work / "seed.db")
            seeded = seeded_database(seed_config, work / "seed.db", args.feeds, args.stored)
            for _ in range(args.repeat):
                for kind in ("empty", "full"):
                    database = work / f"{kind}.db"
                    for suffix in ("", "-wal", "-shm"):
                        Path(f"{database}{suffix}").unlink(missing_ok=True)
                    if kind == "full":
                        shutil.copy(seeded, database)
                    config = work / f"{kind}.toml"
                    write_config(config, server, args.feeds, database)
                    results[kind].append(one_cycle(config))
    finally:
        server.stop()
    medians = {k: (statistics.median(w for w, _ in v), statistics.median(c for _, c in v))
               for k, v in results.items()}  # fmt: skip
    print(
        f"{args.feeds} feeds x 20 new items, one `watcher run --once`, medians of {args.repeat}:\n"
    )
    print("| database | wall (s) | CPU (s) |")
    print("|---|---|---|")
    print(f"| empty | {medians['empty'][0]:.2f} | {medians['empty'][1]:.2f} |")
    print(f"| {args.stored:,} entries | {medians['full'][0]:.2f} | {medians['full'][1]:.2f} |")
    print(
        f"\nratio (full / empty): wall {medians['full'][0] / medians['empty'][0]:.2f}, "
        f"CPU {medians['full'][1] / medians['empty'][1]:.2f}"
    )
    print(json.dumps({"raw": results}), file=sys.stderr)


if __name__ == "__main__":
    main()
