"""What the tests of the daemon's listener share: a database of stored stories, its config
with the listener on, and a running daemon serving it."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from tests.stored import Digest, build_digest

TOKEN = "a-token-for-the-listener-tests-0123"


@pytest.fixture(scope="module")
def stored(tmp_path_factory: pytest.TempPathFactory) -> Digest:
    return build_digest(tmp_path_factory.mktemp("listener"))


def configured(stored: Digest, tmp_path: Path, address: str, token: bool = True) -> Path:
    """The stored digest's config with the listener at ``address`` (and its token from the
    environment)."""
    text = stored.config.read_text()
    extra = f'http = "{address}"\n' + ('http_token_env = "WATCHER_TOKEN"\n' if token else "")
    config = tmp_path / "listening.toml"
    config.write_text(text.replace("[watcher]\n", "[watcher]\n" + extra, 1))
    return config


@pytest.fixture
def serving(stored: Digest, tmp_path: Path) -> Iterator[Callable[..., str]]:
    """Start ``watcher run -vv`` on a config; returns its base URL once /healthz answers.
    Everything it logged is in tmp_path/daemon.log."""
    started: list[subprocess.Popen[bytes]] = []

    def start(address: str) -> str:
        config = configured(stored, tmp_path, address)
        environ = {**os.environ, "WATCHER_TOKEN": TOKEN, "PYTHONUNBUFFERED": "1"}
        environ.pop("WATCHER_CONFIG", None)
        with (tmp_path / "daemon.log").open("wb") as log:  # the daemon keeps its own copy
            started.append(
                subprocess.Popen(
                    [sys.executable, "-m", "watcher", "run", "-vv", "--config", str(config)],
                    stderr=log,
                    stdout=log,
                    env=environ,
                )
            )
        port = address.rsplit(":", 1)[1]
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(base + "/healthz").status_code in (200, 503):
                    return base
            except httpx.TransportError:
                time.sleep(0.1)
        raise AssertionError((tmp_path / "daemon.log").read_text())

    yield start
    for process in started:
        process.terminate()
        process.wait(15)
