"""What every command shares: the secret redactor, logging, ``--config``/``-v``/``-q``, the
console, and reading times from the command line."""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import sys
import tempfile
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

import watcher.app as app
from watcher.app import HeldLock, OpenStore, open_store
from watcher.core.durations import parse_moment
from watcher.core.errors import ConfigError, DatabaseBusy, StoreError
from watcher.core.redact import RedactingFilter, Redactor
from watcher.core.settings import Config

REDACTOR = Redactor()  # every secret the command learns about is scrubbed from its output
_QUIET = False  # -q: nothing but warnings and errors, so no progress bars either
_PRIORITIES = {"CRITICAL": 2, "ERROR": 3, "WARNING": 4, "INFO": 6, "DEBUG": 7}  # syslog's


class JournalFormatter(logging.Formatter):
    """For journald reading stderr: each event on one line, led by its syslog priority
    (``<3>`` is an error), with no timestamp: the journal adds its own."""

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record).replace("\r\n", "\n").replace("\n", " ⏎ ")
        return f"<{_PRIORITIES.get(record.levelname, 6)}>{text}"


def to_journal(environ: Mapping[str, str], stream: TextIO) -> bool:
    """Whether ``stream`` is the journal, as sd_journal_stream_fd(3) tells a service: systemd
    sets ``$JOURNAL_STREAM`` to the stream's device and inode."""
    expected = environ.get("JOURNAL_STREAM", "")
    if not expected:
        return False
    try:
        info = os.fstat(stream.fileno())
    except (OSError, ValueError):
        return False
    return expected == f"{info.st_dev}:{info.st_ino}"


def setup_logging(verbose: int, quiet: bool) -> None:
    global _QUIET
    _QUIET = quiet
    level = logging.WARNING if quiet else logging.DEBUG if verbose else logging.INFO
    handler = logging.StreamHandler(sys.stderr)
    if to_journal(os.environ, sys.stderr):
        handler.setFormatter(JournalFormatter("%(name)s: %(message)s"))
    else:
        handler.setFormatter(
            logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s", "%H:%M:%S")
        )
    handler.addFilter(RedactingFilter(REDACTOR))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # Third-party chatter stays at WARNING; apprise never below INFO (it logs secrets lower).
    for noisy in ("httpx", "httpcore", "alembic", "apprise"):
        logging.getLogger(noisy).setLevel(logging.INFO if verbose > 1 else logging.WARNING)


def format_option(*choices: str) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """``--format`` with these choices, the first being the default."""
    return click.option(
        "--format",
        "fmt",
        type=click.Choice(list(choices)),
        default=choices[0],
        show_default=True,
        help="Output format.",
    )


def json_flag(command: Callable[..., None]) -> Callable[..., None]:
    """``--json``: the same as ``--format json``, for scripts."""

    @click.option("--json", "as_json", is_flag=True, help="Output JSON (as --format json).")
    @functools.wraps(command)
    def wrapper(*args: Any, as_json: bool, **kwargs: Any) -> None:
        if as_json:
            kwargs["fmt"] = "json"
        return command(*args, **kwargs)

    return wrapper


def common_options(command: Callable[..., None]) -> Callable[..., None]:
    """``--config``, ``-v`` and ``-q`` on every command, after its own name."""

    @click.option(
        "--config",
        "config_path",
        metavar="PATH",
        envvar="WATCHER_CONFIG",
        help="Config file (default: $WATCHER_CONFIG, ~/.config/feed-watcher/watcher.toml, "
        "/etc/feed-watcher/watcher.toml, then the shipped config).",
    )
    @click.option(
        "-v", "--verbose", count=True, help="Debug logging; -vv adds the libraries' own logs."
    )
    @click.option("-q", "--quiet", is_flag=True, help="Only warnings and errors on stderr.")
    @functools.wraps(command)
    def wrapper(*args: Any, verbose: int, quiet: bool, **kwargs: Any) -> None:
        setup_logging(verbose, quiet)
        try:
            return command(*args, **kwargs)
        except ConfigError as exc:
            click.echo(REDACTOR(str(exc)), err=True)
            sys.exit(2)
        except StoreError as exc:
            click.echo(f"database error: {REDACTOR(str(exc)).strip()}", err=True)
            sys.exit(1)

    return wrapper


def parse_since(value: str) -> datetime:
    """``24h``/``7d`` back from now, or a date or ISO timestamp (UTC unless it says)."""
    try:
        return parse_moment(value, datetime.now(UTC))
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


def hold_database(config: Config) -> HeldLock | None:
    """The lock that keeps a second process off the config's SQLite database (None for
    other databases); exit 1, saying who holds it, when another process does."""
    try:
        return app.hold_database(config)
    except DatabaseBusy as exc:
        click.echo(str(exc), err=True)
        sys.exit(1)


def write_atomically(path: Path, text: str) -> None:
    """Replace ``path`` with ``text`` in one step: a reader sees the old file or the new one,
    never half of it, and a failure leaves the old one."""
    path = path.expanduser()
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    temporary = Path(name)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        temporary.chmod(0o644)
        temporary.replace(path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


@contextlib.contextmanager
def progress(label: str, total: int | None) -> Iterator[Callable[[int], None]]:
    """A progress bar with counts on stderr for a long operation; yields ``advance(n)``.
    Nothing is drawn when stderr is not a terminal or with --quiet."""
    err = Console(stderr=True)
    if not err.is_terminal or _QUIET:
        yield lambda count: None
        return
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=err, transient=True) as bar:
        task = bar.add_task(label, total=total)
        yield lambda count: bar.advance(task, count)


@contextlib.contextmanager
def opened_store(config: Config) -> Iterator[OpenStore]:
    """The config's database, migrated and with its feeds registered, for one command."""
    store = open_store(config, REDACTOR)
    try:
        yield store
    finally:
        store.engine.dispose()


def console() -> Console:
    """A terminal console; piped output gets a wide page instead of 80 folded columns."""
    console = Console()
    if not console.is_terminal:
        console = Console(width=160)
    return console
