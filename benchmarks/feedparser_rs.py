"""feedparser-rs (a parser in Rust with feedparser's API) beside feedparser itself and the
watcher's parsing: how fast, and whether it gives feedparser's entries — the fast path's own
bar (``tests/parsing/test_fastparse.py``) for anything that would replace it.

    python benchmarks/feedparser_rs.py --feeds 1000

It installs feedparser-rs and the watcher's feedparser into a venv of their own under
``benchmarks/.work/venvs`` (feedparser-rs is not a dependency), then over the farm
(``benchmarks/farm.py``) and over ``tests/fixtures/corpus`` reports each parser's CPU an
entry, and how many documents feedparser-rs reads field by field as feedparser does (title,
link, id, published, updated, summary, content, author, tags), with an example of each kind of
difference. The watcher's figure is ``parse_feed`` whole: the lxml fast path and the
normalisation (HTML to text, links, dates) that a raw parser would still need after it.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from benchmarks.farm import Farm
from benchmarks.peers import CORPUS, FEED_SUFFIXES, venv
from watcher.parsing.document import parse_feed

PINNED = ["feedparser-rs==0.7.1", "feedparser==6.0.14"]

# Run in the venv that holds feedparser-rs: reads document paths, prints JSON.
_COMPARE = r"""
import json, sys, time
import feedparser, feedparser_rs
FIELDS = ("title", "link", "id", "published", "updated", "summary", "author")
def fields(entry):
    found = {name: entry.get(name) or None for name in FIELDS}
    found["content"] = [c.get("value") for c in entry.get("content", [])]
    found["tags"] = [t.get("term") for t in entry.get("tags", [])]
    return found
report = {"rs_cpu": 0.0, "fp_cpu": 0.0, "entries": 0, "same": 0, "differ": {}}
def note(kind, *example):
    report["differ"].setdefault(kind, [0, *example])[0] += 1
for path in sys.stdin.read().split("\n"):
    body = open(path, "rb").read()
    started = time.process_time()
    ours = feedparser_rs.parse(body)
    report["rs_cpu"] += time.process_time() - started
    started = time.process_time()
    theirs = feedparser.parse(body)
    report["fp_cpu"] += time.process_time() - started
    report["entries"] += len(theirs.entries)
    name = path.rsplit("/", 1)[-1]
    if len(ours.entries) != len(theirs.entries):
        note("entry count", name, len(ours.entries), len(theirs.entries))
        continue
    same = True
    for mine, other in zip(ours.entries, theirs.entries):
        a, b = fields(mine), fields(other)
        for key in a:
            if a[key] != b[key]:
                same = False
                note(key, name, repr(a[key])[:80], repr(b[key])[:80])
    report["same"] += same
print(json.dumps(report))
"""


def _compare(paths: list[Path]) -> dict[str, Any]:
    """feedparser-rs against feedparser over ``paths``, in their venv (``_COMPARE``'s report)."""
    python = str(venv("feedparser-rs", PINNED) / "bin" / "python")
    listed = "\n".join(str(path) for path in paths)
    done = subprocess.run(
        [python, "-c", _COMPARE], input=listed, capture_output=True, text=True, check=True
    )
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def _watcher_cpu(paths: list[Path]) -> float:
    bodies = [path.read_bytes() for path in paths]
    started = time.process_time()
    for body in bodies:
        parse_feed("https://news.example/feed.xml", body, "application/xml")
    return time.process_time() - started


def _report(what: str, paths: list[Path]) -> None:
    found = _compare(paths)
    entries = found["entries"]
    per_entry = 1e6 / max(entries, 1)
    rs, fp = found["rs_cpu"], found["fp_cpu"]
    ours = _watcher_cpu(paths)
    print(f"\n{what}: {len(paths)} documents, {entries} entries (as feedparser reads them)\n")
    print("| parser | CPU (s) | µs an entry |\n|---|---|---|")
    print(f"| feedparser-rs 0.7.1 | {rs:.2f} | {rs * per_entry:.0f} |")
    print(f"| feedparser 6.0.14 | {fp:.2f} | {fp * per_entry:.0f} |")
    print(f"| the watcher's parse_feed (fast path + normalisation) | {ours:.2f} | "
          f"{ours * per_entry:.0f} |")  # fmt: skip
    print(
        f"\nfeedparser-rs gives feedparser's entries, every field, for {found['same']} of "
        f"{len(paths)} documents. Entries that differ, by field (count, then an example: "
        "document, feedparser-rs, feedparser):\n"
    )
    differ = found["differ"]
    if not differ:
        print("- none")
    for field, (count, *example) in sorted(differ.items(), key=lambda kv: -kv[1][0]):
        print(f"- {field}: {count}; e.g. {' | '.join(map(str, example))}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--feeds", type=int, default=1000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        farm = Farm(Path(scratch), args.feeds)
        _report(f"the farm ({farm.count} feeds)", sorted(Path(scratch).glob("*.xml")))
    corpus = sorted(path for path in CORPUS.iterdir() if path.suffix in FEED_SUFFIXES)
    _report("tests/fixtures/corpus", corpus)


if __name__ == "__main__":
    main()
