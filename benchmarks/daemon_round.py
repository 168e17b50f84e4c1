"""The CPU an unchanged round costs the running daemon (not a fresh process), beside the CPU
of the same conditional requests made by bare loops: over the daemon's own client stack (httpx
on aiohttp's transport), over httpx's default transport (httpcore), and over aiohttp alone, the
floor under both.

    python benchmarks/daemon_round.py CONFIG

Opens the app as ``watcher run`` does and reads every feed once (so that each answers 304
after), then runs a round of each — the daemon's cycle, and the same conditional GETs from each
bare loop at the same concurrency — to warm up (imports, connections, caches), then five
measured rounds of each, the four in turn. Prints the medians of CPU and wall seconds: the
daemon, httpx + aiohttp, httpx + httpcore, aiohttp.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import time
from collections.abc import Awaitable, Callable

import aiohttp
import httpx
from httpx_aiohttp import HttpxAiohttpClient

from watcher.app import load, open_app
from watcher.core.redact import Redactor

Get = Callable[[str, str], Awaitable[int]]


Round = Callable[[], Awaitable[object]]
ROUNDS = 5  # measured rounds of each, in turn: one round alone swung by half on a shared machine


def _loop(urls: list[str], tags: dict[str, str], limit: int, get: Get) -> Round:
    """One round of the bare loop ``get``: every URL, ``limit`` at a time."""
    slots = asyncio.Semaphore(limit)

    async def one(url: str) -> int:
        async with slots:
            return await get(url, tags.get(url, ""))

    async def round_() -> object:
        return await asyncio.gather(*(one(url) for url in urls))

    return round_


def _over_httpx(client: httpx.AsyncClient) -> Get:
    async def get(url: str, tag: str) -> int:
        response = await client.get(url, headers={"If-None-Match": tag})
        return response.status_code

    return get


def _over_aiohttp(session: aiohttp.ClientSession) -> Get:
    async def get(url: str, tag: str) -> int:
        async with session.get(url, headers={"If-None-Match": tag}) as response:
            await response.read()
            return response.status

    return get


async def _timed(round_: Round) -> tuple[float, float]:
    cpu, wall = time.process_time(), time.perf_counter()
    await round_()
    return time.process_time() - cpu, time.perf_counter() - wall


async def rounds(config_path: str, count: int = ROUNDS) -> list[float]:
    """Medians of ``count`` rounds of each (after one to warm up), the four in turn: CPU and
    wall seconds of the daemon, httpx + aiohttp, httpx + httpcore and aiohttp."""
    redactor = Redactor()
    app = open_app(load(config_path, redactor), redactor)
    urls = [feed.url for feed in app.config.feeds]
    limit = app.config.concurrency
    limits = httpx.Limits(max_connections=limit)
    async with (
        app.fetcher() as fetcher,
        HttpxAiohttpClient(limits=limits) as over_aiohttp,
        httpx.AsyncClient(limits=limits) as over_httpcore,
        aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=limit)) as session,
    ):
        service = app.service(fetcher)
        await service.run_cycle(app.config.feeds)  # every feed read once: each answers 304
        validators = app.store.feeds.validators(urls)
        tags = {url: v.etag or "" for url, v in validators.items()}
        contenders: list[Round] = [
            lambda: service.run_cycle(app.config.feeds),
            _loop(urls, tags, limit, _over_httpx(over_aiohttp)),
            _loop(urls, tags, limit, _over_httpx(over_httpcore)),
            _loop(urls, tags, limit, _over_aiohttp(session)),
        ]
        for round_ in contenders:  # warm-up: imports, connections, caches
            await round_()
        measured: list[list[tuple[float, float]]] = [[] for _ in contenders]
        for _ in range(count):
            for figures, round_ in zip(measured, contenders, strict=True):
                figures.append(await _timed(round_))
    app.close()
    return [
        statistics.median(figure[i] for figure in figures) for figures in measured for i in (0, 1)
    ]


if __name__ == "__main__":
    print(" ".join(f"{value:.4f}" for value in asyncio.run(rounds(sys.argv[1]))))
