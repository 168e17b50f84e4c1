"""HTML to plain text: the pure-Python reference (``watcher.core.text``, on ``html.parser``)
against lxml (``watcher.parsing.markup``), over every title, summary and content of a corpus.

    python benchmarks/text.py                       # tests/fixtures/corpus
    python benchmarks/text.py --corpus DIR --rounds 9

The two run alternately, ``--rounds`` times each, in one process; the CPU time of each pass
(``time.process_time``) is reported as median and minimum, with the ratio of the medians and of
the minima, and the number of fragments whose text differs (it must be 0).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.parsing.test_markup import CORPUS, fragments
from watcher.core import text as reference
from watcher.parsing import markup


def cpu(function: Callable[[str], str], values: list[str]) -> float:
    started = time.process_time()
    for value in values:
        function(value)
    return time.process_time() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    parser.add_argument("--rounds", type=int, default=9)
    args = parser.parse_args()
    values = fragments(args.corpus)
    differ = sum(markup.html_to_text(v) != reference.html_to_text(v) for v in values)
    print(
        f"{len(values)} fragments, {sum(map(len, values)) / 1e6:.1f} M characters, "
        f"from {args.corpus}; texts that differ: {differ}\n"
    )
    timings: dict[str, list[float]] = {"html.parser (reference)": [], "lxml": []}
    for _ in range(args.rounds):
        timings["html.parser (reference)"].append(cpu(reference.html_to_text, values))
        timings["lxml"].append(cpu(markup.html_to_text, values))
    print("| implementation | median CPU (s) | min CPU (s) |")
    print("|---|---|---|")
    for name, runs in timings.items():
        print(f"| {name} | {statistics.median(runs):.3f} | {min(runs):.3f} |")
    ref, ours = timings.values()
    print(
        f"\nlxml is {statistics.median(ref) / statistics.median(ours):.2f}× faster "
        f"(medians), {min(ref) / min(ours):.2f}× (minima), over {args.rounds} rounds"
    )


if __name__ == "__main__":
    main()
