"""MinHash signatures: the SHAKE-128 signature in Python that the store used before migration
0013 (with its per-word cache, as it ran) against rensa's (``watcher.core.clustering``), over the
word sets of every entry of the benchmark farm.

    python benchmarks/minhash.py --feeds 1000 --rounds 7

Both run alternately, ``--rounds`` times each, in one process; each pass starts with an empty
word cache, as a new parser process does, and its CPU time (``time.process_time``) is reported
as median and minimum with the ratio of the medians.
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import statistics
import struct
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from benchmarks.farm import Farm
from watcher.core.clustering import HASHES, MIN_WORDS, shingles, signature
from watcher.parsing.document import parse_feed

Signature = Callable[[frozenset[str]], tuple[int, ...]]


def shake_signature() -> Signature:
    """The signature as computed before 0013, with a fresh 20,000-word cache."""

    @functools.lru_cache(maxsize=20_000)
    def word_hashes(word: str) -> tuple[int, ...]:
        return struct.unpack(f"<{HASHES}I", hashlib.shake_128(word.encode()).digest(HASHES * 4))

    def sign(words: frozenset[str]) -> tuple[int, ...]:
        return tuple(map(min, zip(*map(word_hashes, words), strict=True)))

    return sign


def word_sets(feeds: int) -> list[frozenset[str]]:
    with tempfile.TemporaryDirectory() as scratch:
        farm = Farm(Path(scratch), feeds)
        found = []
        for feed in range(feeds):
            body = (Path(scratch) / farm.path(feed)[1:]).read_bytes()
            for entry in parse_feed(f"http://farm.example{farm.path(feed)}", body).entries:
                words = shingles(entry.title, entry.summary)
                if len(words) >= MIN_WORDS:
                    found.append(words)
        return found


def cpu(sign: Signature, sets: list[frozenset[str]]) -> float:
    started = time.process_time()
    for words in sets:
        sign(words)
    return time.process_time() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--feeds", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    sets = word_sets(args.feeds)
    mean = statistics.mean(map(len, sets))
    print(f"{len(sets)} entries of {args.feeds} farm feeds, {mean:.1f} words each\n")
    timings: dict[str, list[float]] = {"SHAKE-128 in Python (before 0013)": [], "rensa": []}
    for _ in range(args.rounds):
        timings["SHAKE-128 in Python (before 0013)"].append(cpu(shake_signature(), sets))
        timings["rensa"].append(cpu(signature, sets))
    print("| signature | median CPU (s) | min CPU (s) | per entry (µs, median) |")
    print("|---|---|---|---|")
    for name, runs in timings.items():
        median = statistics.median(runs)
        print(f"| {name} | {median:.3f} | {min(runs):.3f} | {median / len(sets) * 1e6:.1f} |")
    old, new = (statistics.median(runs) for runs in timings.values())
    print(f"\nrensa takes {old / new:.1f}× less CPU (medians) over {args.rounds} rounds")


if __name__ == "__main__":
    main()
