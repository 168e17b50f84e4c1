"""The least a one-shot round can cost on the design's fixed dependencies: a process that
imports httpx and SQLAlchemy and sends the same requests as ``watcher run --once`` (conditional
when it holds validators) over the same client stack (httpx on aiohttp's transport, as issue 18
decided), keeping the validators in a JSON file and parsing nothing.

    python benchmarks/httpx_floor.py STATE.json URLS.txt

``benchmarks/peers.py`` runs it beside the tools, as a floor rather than a peer.
"""

from __future__ import annotations

import gc

# What feed-watcher's entry point does too: the collector off while importing, then what the
# imports made frozen out of it (without it, the floor cost more than the watcher's round).
gc.disable()

import asyncio  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

import httpx  # noqa: E402
import sqlalchemy  # noqa: E402, F401  (importing it is part of every round of a tool built on it)
from httpx_aiohttp import HttpxAiohttpClient  # noqa: E402

gc.freeze()
gc.enable()

CONCURRENCY = 4  # as feed-watcher's benchmark config


class _Cookies(httpx.Cookies):
    def extract_cookies(self, response: httpx.Response) -> None:
        if "set-cookie" in response.headers or "set-cookie2" in response.headers:
            super().extract_cookies(response)


async def main(state_path: Path, urls: list[str]) -> None:
    state = json.loads(state_path.read_text()) if state_path.exists() else {}
    limit = asyncio.Semaphore(CONCURRENCY)
    limits = httpx.Limits(max_connections=CONCURRENCY)
    async with HttpxAiohttpClient(limits=limits) as client:
        # As the watcher's client: the jar reads only responses that set a cookie.
        client._cookies = _Cookies()

        async def get(url: str) -> None:
            etag, modified = state.get(url, (None, None))
            headers = {"If-None-Match": etag} if etag else {}
            if modified:
                headers["If-Modified-Since"] = modified
            async with limit:
                response = await client.get(url, headers=headers)
            if response.status_code == 200:
                state[url] = (response.headers.get("etag"), response.headers.get("last-modified"))

        await asyncio.gather(*(get(url) for url in urls))
    state_path.write_text(json.dumps(state))


if __name__ == "__main__":
    asyncio.run(main(Path(sys.argv[1]), Path(sys.argv[2]).read_text().split()))
