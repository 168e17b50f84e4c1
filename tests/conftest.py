"""Shared fixtures: real servers on loopback, config files, the CLI, PostgreSQL."""

from __future__ import annotations

import json
import os
import socket
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.parser import BytesParser
from email.policy import default as default_policy
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller
from click.testing import CliRunner, Result

from tests.servers import FeedServer
from watcher.cli import cli

POSTGRES_ADMIN_URL = os.environ.get(
    "WATCHER_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


@pytest.fixture
def feed_server() -> Iterator[FeedServer]:
    server = FeedServer()
    server.start()
    yield server
    server.stop()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class SmtpSink:
    """What the aiosmtpd server received."""

    port: int
    messages: list[EmailMessage] = field(default_factory=list)
    code: str = "250 OK"  # the answer to DATA; "550 ..." to refuse every message

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.code.startswith("250"):
            self.messages.append(
                BytesParser(EmailMessage, policy=default_policy).parsebytes(envelope.content)
            )
        return self.code

    def url(self, to: str = "desk@example.org") -> str:
        return f"mailto://127.0.0.1:{self.port}?from=watcher@example.org&to={to}"


@pytest.fixture
def smtp_server() -> Iterator[SmtpSink]:
    sink = SmtpSink(port=free_port())
    controller = Controller(sink, hostname="127.0.0.1", port=sink.port)
    controller.start()
    yield sink
    controller.stop()


def write_config(
    path: Path,
    feeds: list[str],
    rules: dict[str, list[str]] | None = None,
    targets: dict[str, str | dict[str, Any]] | None = None,
    database: str | None = None,
    extra: str = "",
    notify_backlog: bool = True,
) -> Path:
    """A config file with these feed URLs, keyword rules and targets (a URL, or a table of
    options with its "url"). Most tests look at
    what a first fetch notifies, so the backlog notifies unless they say otherwise."""
    rules = rules if rules is not None else {"tiktok": ["TikTok", "ByteDance"]}
    lines = ["[watcher]", f'database = "{database or "sqlite:///" + str(path.parent / "w.db")}"']
    lines.append('per_host_gap = "0s"')  # every test feed is on one host, 127.0.0.1
    if notify_backlog:
        lines.append("notify_backlog = true")
    lines.append(extra)
    for url in feeds:
        lines += ["[[feeds]]", f'url = "{url}"']
    for name, keywords in rules.items():
        quoted = ", ".join(f'"{k}"' for k in keywords)
        lines += ["[[rules]]", f'name = "{name}"', f"keywords = [{quoted}]"]
    for name, target in (targets or {}).items():
        options = {"url": target} if isinstance(target, str) else target
        lines.append(f"[targets.{name}]")
        lines += [f"{key} = {json.dumps(value)}" for key, value in options.items()]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def run_cli(monkeypatch: pytest.MonkeyPatch) -> Callable[..., Result]:
    """Invoke the real ``watcher`` command in-process; returns click's Result."""
    monkeypatch.delenv("WATCHER_CONFIG", raising=False)

    def invoke(*args: str, env: dict[str, str] | None = None) -> Result:
        return CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)

    return invoke


@pytest.fixture(scope="session")
def postgres_admin() -> Iterator[sa.Engine]:
    engine = sa.create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect():
            pass
    except Exception as exc:  # any failure to reach the server
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL is required in CI but unreachable: {exc}")
        pytest.skip(f"PostgreSQL not reachable at {POSTGRES_ADMIN_URL} (set CI=true to require it)")
    yield engine
    engine.dispose()


def empty_postgres(admin: sa.Engine) -> Iterator[str]:
    """A new PostgreSQL database, dropped afterwards."""
    name = f"watcher_test_{uuid.uuid4().hex[:12]}"
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    yield admin.url.set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE "{name}" WITH (FORCE)'))


@pytest.fixture
def postgres_url(postgres_admin: sa.Engine) -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test."""
    yield from empty_postgres(postgres_admin)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Each store test runs on a real SQLite file and on the real PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.db'}"
    return str(request.getfixturevalue("postgres_url"))


@pytest.fixture
def other_database_url(
    database_url: str, tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[str]:
    """A second empty database of the same kind as ``database_url``."""
    if database_url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path / 'other.db'}"
        return
    yield from empty_postgres(request.getfixturevalue("postgres_admin"))
