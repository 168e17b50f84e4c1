"""The CPU an unchanged round costs the running daemon (not a fresh process), beside the CPU
of the same conditional requests made by a bare httpx loop: the floor any httpx client pays.

    python benchmarks/daemon_round.py CONFIG

Opens the app as ``watcher run`` does, runs one round over every feed to warm up (imports,
connections, caches), then measures a second one; then sends the same conditional GETs with a
plain ``httpx.AsyncClient`` at the same concurrency. Prints CPU and wall seconds of both. The
feeds should already have been read once, so that every one answers 304.
"""

from __future__ import annotations

import asyncio
import sys
import time

import httpx

from watcher.app import load, open_app
from watcher.core.redact import Redactor


async def rounds(config_path: str) -> tuple[float, float, float, float]:
    redactor = Redactor()
    app = open_app(load(config_path, redactor), redactor)
    async with app.fetcher() as fetcher:
        service = app.service(fetcher)
        await service.run_cycle(app.config.feeds)
        cpu, wall = time.process_time(), time.perf_counter()
        await service.run_cycle(app.config.feeds)
        ours = time.process_time() - cpu, time.perf_counter() - wall
    validators = app.store.feeds.validators([feed.url for feed in app.config.feeds])
    limit = asyncio.Semaphore(app.config.concurrency)
    limits = httpx.Limits(max_connections=app.config.concurrency)
    async with httpx.AsyncClient(limits=limits) as client:

        async def get(url: str) -> int:
            tag = validators[url].etag if url in validators else None
            async with limit:
                response = await client.get(url, headers={"If-None-Match": tag or ""})
                return response.status_code

        await asyncio.gather(*(get(feed.url) for feed in app.config.feeds))
        cpu, wall = time.process_time(), time.perf_counter()
        await asyncio.gather(*(get(feed.url) for feed in app.config.feeds))
        bare = time.process_time() - cpu, time.perf_counter() - wall
    return (*ours, *bare)


if __name__ == "__main__":
    print(" ".join(f"{value:.4f}" for value in asyncio.run(rounds(sys.argv[1]))))
