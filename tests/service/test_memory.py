"""A daemon that runs for months: what it keeps across cycles stays bounded, and parsing never
happens in its long-lived main process (whose native heap would keep what parsers allocate)."""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

import watcher.service.parsers
from tests.conftest import write_config
from tests.servers import FeedServer, rss
from watcher.adapters.memory import release_free_memory
from watcher.adapters.parsepool import PRELOAD
from watcher.app import open_app
from watcher.config.load import load_config
from watcher.core.redact import Redactor
from watcher.ports import ParsePool


def test_the_parser_processes_import_no_heavy_library() -> None:
    """What every parser process imports before its first document does not drag in
    pydantic, SQLAlchemy, httpx or apprise: 9 MB of pydantic alone, once per process."""
    probe = (
        f"import sys, {', '.join(PRELOAD)}; print(sorted({{m.split('.')[0] for m in sys.modules}}))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout
    for heavy in ("pydantic", "sqlalchemy", "httpx", "apprise", "rich", "click"):
        assert f"'{heavy}'" not in loaded, heavy


def test_free_memory_is_handed_back() -> None:
    """glibc's malloc_trim is found and called (this machine runs glibc)."""
    assert release_free_memory() is True


def test_the_email_generators_patterns_are_not_kept() -> None:
    """Every multipart email leaves a compiled pattern of its random boundary in re's cache;
    after a cycle the cache holds none of them."""
    from email.mime.multipart import MIMEMultipart
    from email.mime.text import MIMEText

    def boundary_patterns() -> int:
        cache = re._cache  # type: ignore[attr-defined]
        return sum(str(key[1]).startswith("^--" + "=" * 15) for key in cache)

    for _ in range(20):
        message = MIMEMultipart("alternative")
        message.attach(MIMEText("TikTok deadline", "plain"))
        message.as_string()
    assert boundary_patterns() >= 20
    release_free_memory()
    assert boundary_patterns() == 0


def test_a_daemon_keeps_one_parser_pool_and_recycles_it(
    tmp_path: Path, feed_server: FeedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The daemon's service parses even a one-feed cycle in its kept parser processes, keeps
    them (and its writer thread) from cycle to cycle, and replaces them between two cycles
    once they have parsed RECYCLE_AFTER documents."""
    monkeypatch.setattr(watcher.service.parsers, "RECYCLE_AFTER", 3)
    url = feed_server.serve("/f.xml", rss("Wire", [("g0", "TikTok talks", "x")]), etag=False)
    config = load_config(write_config(tmp_path / "w.toml", [url]), {})
    app = open_app(config, Redactor())

    async def cycles() -> list[tuple[ParsePool | None, int, ThreadPoolExecutor]]:
        seen = []
        async with app.fetcher() as fetcher:
            service = app.service(fetcher, keep_pool=True)
            try:
                for n in range(1, 5):  # a new body each time: every cycle parses one document
                    items = [(f"g{k}", f"TikTok talks {k}", "x") for k in range(n)]
                    feed_server.serve("/f.xml", rss("Wire", items), etag=False)
                    report = await service.run_cycle(app.feeds(), deliver=False)
                    assert report.new_entries == 1
                    seen.append((service.parsers._pool, service.parsers._parsed, service._writer))
            finally:
                service.close()
        return seen

    try:
        seen = asyncio.run(cycles())
    finally:
        app.close()
    pools = [pool for pool, _, _ in seen]
    assert pools[0] is not None and pools[0] is pools[1]  # kept across cycles
    assert pools[2] is None  # the third document reached RECYCLE_AFTER: closed after it
    assert pools[3] is not None and pools[3] is not pools[0]  # a new one for the next cycle
    assert [parsed for _, parsed, _ in seen] == [1, 2, 0, 1]
    assert len({id(writer) for _, _, writer in seen}) == 1  # one writer for the service's life
