"""The CPU an unchanged round costs the running daemon (not a fresh process), beside the CPU
of the same conditional requests made by bare loops: over the daemon's own client stack (httpx
on aiohttp's transport), over httpx's default transport (httpcore), and over aiohttp alone, the
floor under both.

    python benchmarks/daemon_round.py CONFIG

Opens the app as ``watcher run`` does, runs one round over every feed to warm up (imports,
connections, caches), then measures a second one; then sends the same conditional GETs from
each bare loop at the same concurrency, a warm-up round and a measured one each. Prints CPU and
wall seconds: the daemon, httpx + aiohttp, httpx + httpcore, aiohttp. The feeds should already
have been read once, so that every one answers 304.
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Awaitable, Callable

import aiohttp
import httpx
from httpx_aiohttp import HttpxAiohttpClient

from watcher.app import load, open_app
from watcher.core.redact import Redactor

Get = Callable[[str, str], Awaitable[int]]


async def _measure(
    urls: list[str], tags: dict[str, str], limit: int, get: Get
) -> tuple[float, float]:
    """A warm-up round, then CPU and wall seconds of a second one."""
    slots = asyncio.Semaphore(limit)

    async def one(url: str) -> int:
        async with slots:
            return await get(url, tags.get(url, ""))

    await asyncio.gather(*(one(url) for url in urls))
    cpu, wall = time.process_time(), time.perf_counter()
    await asyncio.gather(*(one(url) for url in urls))
    return time.process_time() - cpu, time.perf_counter() - wall


async def _httpx(
    client: httpx.AsyncClient, urls: list[str], tags: dict[str, str], limit: int
) -> tuple[float, float]:
    async def get(url: str, tag: str) -> int:
        response = await client.get(url, headers={"If-None-Match": tag})
        return response.status_code

    async with client:
        return await _measure(urls, tags, limit, get)


async def _aiohttp(urls: list[str], tags: dict[str, str], limit: int) -> tuple[float, float]:
    connector = aiohttp.TCPConnector(limit=limit)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def get(url: str, tag: str) -> int:
            async with session.get(url, headers={"If-None-Match": tag}) as response:
                await response.read()
                return response.status

        return await _measure(urls, tags, limit, get)


async def rounds(config_path: str) -> list[float]:
    redactor = Redactor()
    app = open_app(load(config_path, redactor), redactor)
    async with app.fetcher() as fetcher:
        service = app.service(fetcher)
        await service.run_cycle(app.config.feeds)
        cpu, wall = time.process_time(), time.perf_counter()
        await service.run_cycle(app.config.feeds)
        ours = [time.process_time() - cpu, time.perf_counter() - wall]
    urls = [feed.url for feed in app.config.feeds]
    validators = app.store.feeds.validators(urls)
    tags = {url: v.etag or "" for url, v in validators.items()}
    limit = app.config.concurrency
    limits = httpx.Limits(max_connections=limit)
    over_aiohttp = await _httpx(HttpxAiohttpClient(limits=limits), urls, tags, limit)
    over_httpcore = await _httpx(httpx.AsyncClient(limits=limits), urls, tags, limit)
    bare = await _aiohttp(urls, tags, limit)
    return [*ours, *over_aiohttp, *over_httpcore, *bare]


if __name__ == "__main__":
    print(" ".join(f"{value:.4f}" for value in asyncio.run(rounds(sys.argv[1]))))
