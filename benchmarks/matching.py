"""How fast the rule matcher is, and how its cost grows with the number of rules.

100,000 synthetic news entries (a 12-word title and a 40-word summary drawn from a Zipf-like
vocabulary of 5,000 words, each entry naming one or two of 3,000 people, companies and
places) are matched on one core against 10, 100 and 1,000 rules written the way analysts
write them: an entity with topic words, phrases, NEAR, prefixes and exclusions.

    python benchmarks/matching.py [--entries 100000] [--repeat 3]

Prints entries per second for each rule count (median of the repeats) and the ratio of the
cost of 1,000 rules to 10.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from watcher.core.matching.matcher import Matcher
from watcher.core.model import Entry
from watcher.core.settings import Rule, make_rule

SYLLABLES = "ba be bi bo ka ke ki ko la le li lo ma me mi mo na ne ni no ra re ri ro ta te ti to"


def pseudo_words(rng: random.Random, count: int, syllables: tuple[int, int]) -> list[str]:
    parts = SYLLABLES.split()
    words: set[str] = set()
    while len(words) < count:
        words.add("".join(rng.choice(parts) for _ in range(rng.randint(*syllables))))
    return sorted(words)


def make_entries(rng: random.Random, count: int) -> tuple[list[Entry], list[str], list[str]]:
    vocabulary = pseudo_words(rng, 5000, (1, 4))
    entities = [w.capitalize() for w in pseudo_words(rng, 3000, (3, 5))]
    weights = [1 / (rank + 1) for rank in range(len(vocabulary))]  # Zipf-like

    def sentence(n: int) -> list[str]:
        return rng.choices(vocabulary, weights, k=n)

    entries = []
    for n in range(count):
        title = sentence(12)
        title[rng.randrange(12)] = rng.choice(entities)
        summary = sentence(40)
        summary[rng.randrange(40)] = rng.choice(entities)
        entries.append(
            Entry(
                key=str(n),
                title=" ".join(title).capitalize(),
                link=None,
                summary=" ".join(summary) + ".",
            )
        )
    return entries, vocabulary, entities


def make_rules(
    rng: random.Random, count: int, vocabulary: list[str], entities: list[str]
) -> list[Rule]:
    topic = vocabulary[200:2000]  # topic words: neither the commonest nor the rarest
    shapes = [
        lambda: f"{rng.choice(entities)} AND ({' OR '.join(rng.sample(topic, 3))})",
        lambda: f'"{rng.choice(entities)} {rng.choice(topic)}" OR {rng.choice(entities)}',
        lambda: f"{rng.choice(entities)} NEAR/5 {rng.choice(topic)}",
        lambda: f"{rng.choice(entities)[:5]}* AND {rng.choice(topic)} -{rng.choice(topic)}",
        lambda: (
            f"title:{rng.choice(entities)} OR summary:({rng.choice(entities)} {rng.choice(topic)})"
        ),
    ]
    return [make_rule(f"r{n}", shapes[n % len(shapes)]()) for n in range(count)]


def rate(matcher: Matcher, entries: list[Entry]) -> tuple[float, int]:
    started = time.process_time()
    matched = sum(len(matcher.match(entry)) for entry in entries)
    return len(entries) / (time.process_time() - started), matched


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    rng = random.Random(7)
    entries, vocabulary, entities = make_entries(rng, args.entries)
    print(f"{args.entries} entries, medians of {args.repeat} runs, CPU time of one process:\n")
    print("| rules | entries/s | matches found | cost per entry (µs) |")
    print("|---|---|---|---|")
    costs = {}
    for count in (10, 100, 1000):
        matcher = Matcher(make_rules(random.Random(count), count, vocabulary, entities))
        runs = [rate(matcher, entries) for _ in range(args.repeat)]
        per_second = statistics.median(r for r, _ in runs)
        costs[count] = 1 / per_second
        print(f"| {count} | {per_second:,.0f} | {runs[0][1]:,} | {1e6 / per_second:.1f} |")
    print(f"\n1,000 rules cost {costs[1000] / costs[10]:.2f}× what 10 rules cost.")


if __name__ == "__main__":
    main()
