"""The CPU an unchanged round costs the running daemon (not a fresh process).

    python benchmarks/daemon_round.py CONFIG

Opens the app as ``watcher run`` does, runs one round over every feed to warm up (imports,
connections, caches), then measures a second one. Prints CPU seconds and wall seconds. The
feeds should already have been read once, so that every one answers 304.
"""

from __future__ import annotations

import asyncio
import sys
import time

from watcher.app import load, open_app
from watcher.redact import Redactor


async def rounds(config_path: str) -> tuple[float, float]:
    redactor = Redactor()
    app = open_app(load(config_path, redactor), redactor)
    async with app.fetcher() as fetcher:
        service = app.service(fetcher)
        await service.run_cycle(app.config.feeds)
        cpu, wall = time.process_time(), time.perf_counter()
        await service.run_cycle(app.config.feeds)
        return time.process_time() - cpu, time.perf_counter() - wall


if __name__ == "__main__":
    cpu, wall = asyncio.run(rounds(sys.argv[1]))
    print(f"{cpu:.4f} {wall:.4f}")
