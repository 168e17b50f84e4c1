"""The composition root: config + adapters → a ready service. The only importer of adapters:
the CLI and the daemon reach the database, the listener and systemd through what it hands out."""

from __future__ import annotations

import dataclasses
import functools
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO, TypeAlias

from watcher.adapters.http import HttpFetcher
from watcher.adapters.memory import release_free_memory
from watcher.adapters.notify import CONSOLE, AppriseNotifier, ConsoleNotifier, url_is_valid
from watcher.adapters.parsepool import parse_pool
from watcher.adapters.sql.database import (
    connect,
    database_exists,
    database_password,
    masked_database_url,
)
from watcher.adapters.sql.lockfile import DatabaseLock, lock_database
from watcher.adapters.sql.schema import copy_database, migrate, migrate_apart
from watcher.adapters.sql.store import SqlStore
from watcher.adapters.systemd import SystemdNotifier
from watcher.config.load import load_config, with_added_rules
from watcher.config.locations import default_database_url, find_config
from watcher.core.errors import ConfigError, StoreError
from watcher.core.health import Health
from watcher.core.model import Alert
from watcher.core.redact import Redactor, secret_values
from watcher.core.settings import Config, Feed, StoredRule
from watcher.parsing import parse_when_needed
from watcher.ports import Clock, Listening, MetricsSink, Notifier, Supervisor
from watcher.render.templates import check as check_template
from watcher.service.cycle import Service

log = logging.getLogger(__name__)

# What a command holds while it works: the store, and the lock on an SQLite database.
OpenStore: TypeAlias = SqlStore
HeldLock: TypeAlias = DatabaseLock


@dataclass(frozen=True)
class FaultHooks:
    """Faults a test injects into a real ``watcher`` process: a seam the tests own, set only
    by their own entry point (``tests/faulty.py``) before the command runs; never by
    configuration or environment, so production code never looks for them."""

    # Between a message being sent and being recorded as sent (a test kills the process there).
    after_send: Callable[[Alert], None] | None = None
    # The scheduler loop hangs after this many passes, as a deadlock would (0: never).
    stall_after_passes: int = 0


HOOKS = FaultHooks()  # what every App is built with


def _kept_workers() -> int:
    """Parser processes a daemon keeps: a core is left to the main process, which fetches and
    writes. (A one-shot run's pool takes every core: it is gone when the run ends.) Each kept
    process is some 13 MB that a service polling for months would otherwise hold twice."""
    return max(1, (os.cpu_count() or 2) - 1)


def utcnow() -> datetime:
    return datetime.now(UTC)


def load(explicit: str | None, redactor: Redactor) -> Config:
    """Find and validate the config; its secrets are registered with ``redactor`` at once."""
    path = find_config(explicit)
    config = load_config(Path(path), url_check=url_is_valid, template_check=check_template)
    _register_secrets(config, redactor)
    return config


def _register_secrets(config: Config, redactor: Redactor) -> None:
    redactor.add(target.url for target in config.targets)
    redactor.add_feeds(feed.url for feed in config.feeds)
    # A proxy's address is public, its login is not: the rules of a feed's URL.
    proxies = (config.proxy, *(feed.access.proxy for feed in config.feeds))
    redactor.add_feeds(proxy for proxy in proxies if proxy)
    for feed in config.feeds:
        for value in secret_values(feed.access):
            redactor.add_secret(value)
    redactor.add_secret(config.http_token)


def check_targets(config: Config) -> None:
    """Raise ConfigError for a target URL apprise cannot use (before anything is written)."""
    problems = [
        f"targets.{target.name}.url: apprise does not understand this URL"
        for target in config.targets
        if not url_is_valid(target.url)
    ]
    if problems:
        raise ConfigError(config.source, problems)


def database_url(config: Config) -> str:
    return config.database or default_database_url()


def target_names(config: Config) -> list[str]:
    """The names deliveries are addressed to: the targets, or the console when none."""
    return [target.name for target in config.targets] or [CONSOLE]


def build_notifiers(
    config: Config, redactor: Redactor, console: TextIO | None = None
) -> dict[str, Notifier]:
    """One notifier per target; the console when the config has none."""
    if not config.targets:
        return {CONSOLE: ConsoleNotifier(console)}
    return {t.name: AppriseNotifier(t.name, t.url, redactor, t.templates) for t in config.targets}


@dataclass
class App:
    config: Config
    store: SqlStore
    notifiers: dict[str, Notifier]
    clock: Clock
    redactor: Redactor
    added_rules: tuple[StoredRule, ...] = ()  # from `watcher rules add`, included in config
    hooks: FaultHooks = dataclasses.field(default_factory=lambda: HOOKS)

    def service(self, fetcher: HttpFetcher, keep_pool: bool = False) -> Service:
        """The service over ``fetcher``; ``keep_pool`` (the daemon): its parser processes
        live across cycles and parse every document. Close it when done."""
        return Service(
            self.config,
            self.store,
            fetcher,
            self.notifiers,
            self.clock,
            parse_when_needed,
            after_send=self.hooks.after_send,
            parse_pool=functools.partial(parse_pool, workers=_kept_workers())
            if keep_pool
            else parse_pool,
            keep_pool=keep_pool,
        )

    def fetcher(self) -> HttpFetcher:
        return HttpFetcher(
            deadline=self.config.timeout.total_seconds(),
            max_body=self.config.max_body,
            max_connections=self.config.concurrency,
            per_host=self.config.per_host,
            per_host_gap=self.config.per_host_gap.total_seconds(),
            proxy=self.config.proxy,
            no_proxy=self.config.no_proxy,
        )

    def feeds(self) -> tuple[Feed, ...]:
        """The feeds to poll: the config file's, then those added from the command line."""
        return (*self.config.feeds, *added_feeds(self.config, self.store))

    def reloaded(self) -> App:
        """This app with its config file read again: new and removed feeds, rules and targets
        take effect; the database stays (changing it needs a restart). Raises ConfigError,
        naming the problem, when the file is no longer valid."""
        config = load_config(
            Path(self.config.source), url_check=url_is_valid, template_check=check_template
        )
        _register_secrets(config, self.redactor)
        if config.database != self.config.database:
            log.warning("the database setting changed: it takes effect at the next restart")
            config = dataclasses.replace(config, database=self.config.database)
        self.store.feeds.sync_feeds(config.feeds, self.clock())
        return _assemble(config, self.store, self.clock, self.redactor)

    def release_free_memory(self) -> None:
        """Hand the allocator's free pages back to the system (after a daemon's cycle)."""
        release_free_memory()

    def close(self) -> None:
        self.store.engine.dispose()


def open_app(
    config: Config,
    redactor: Redactor,
    *,
    clock: Callable[[], datetime] = utcnow,
    console: TextIO | None = None,
    long_lived: bool = False,
) -> App:
    """Validate targets, open and migrate the database, and register the configured feeds.
    ``long_lived``: for the daemon (see ``open_store``)."""
    check_targets(config)
    store = open_store(config, redactor, clock(), long_lived)
    return _assemble(config, store, clock, redactor, console)


def _assemble(
    config: Config,
    store: SqlStore,
    clock: Clock,
    redactor: Redactor,
    console: TextIO | None = None,
) -> App:
    """The app for a config and its open store, with the rules added from the CLI."""
    config, stored = with_stored_rules(config, store)
    notifiers = build_notifiers(config, redactor, console)
    for target, count in store.outbox.orphan_deliveries(target_names(config)).items():
        log.warning(
            "%d pending %s to %r, which is no longer in the config, marked orphaned "
            "(`watcher deliveries retry` re-queues them once it is back)",
            count,
            "delivery" if count == 1 else "deliveries",
            target,
        )
    return App(config, store, notifiers, clock, redactor, stored)


def added_feeds(config: Config, store: SqlStore) -> list[Feed]:
    """The feeds added from the command line, with the config's defaults, less any the
    config file itself declares."""
    declared = {feed.url for feed in config.feeds}
    return [config.added_feed(feed) for feed in store.feeds.cli_feeds() if feed.url not in declared]


def with_stored_rules(config: Config, store: SqlStore) -> tuple[Config, tuple[StoredRule, ...]]:
    """``config`` with the rules added from the command line (those that no longer fit are
    logged and left out), and those rules as stored."""
    stored = tuple(store.rules.cli_rules())
    config, problems = with_added_rules(config, stored)
    for problem in problems:
        log.warning("%s", problem)
    return config, stored


def stored_additions(config: Config) -> tuple[list[Feed], list[StoredRule]] | None:
    """The feeds and rules added from the command line, read without creating or migrating
    anything (None when the database does not exist yet or cannot be read as it is)."""
    url = database_url(config)
    if not database_exists(url):
        return None
    store = SqlStore(connect(url))
    try:
        return added_feeds(config, store), store.rules.cli_rules()
    except StoreError:
        return None
    finally:
        store.engine.dispose()


def open_store(
    config: Config, redactor: Redactor, now: datetime | None = None, long_lived: bool = False
) -> SqlStore:
    """The database, migrated (``long_lived``, the daemon: by a child process, so that the
    migration tool never stays in memory), with the configured feeds registered."""
    url = database_url(config)
    redactor.add_secret(database_password(url))
    store = SqlStore(connect(url), lease=config.lease)
    (migrate_apart if long_lived else migrate)(store.engine)
    store.feeds.sync_feeds(config.feeds, now or utcnow())
    # Feeds added from the command line, or once in the file, may carry credentials too.
    redactor.add_feeds(store.feeds.feed_urls())
    return store


def shown_database_url(url: str) -> str:
    """The database URL as it may be shown: without its password."""
    return masked_database_url(url)


def hold_database(config: Config) -> HeldLock | None:
    """The lock that keeps a second process off the config's SQLite database (None for other
    databases); raises DatabaseBusy, saying who holds it, when another process does."""
    return lock_database(database_url(config))


def copy_database_to(
    source_url: str, target_url: str, redactor: Redactor, progress: Callable[[int], None]
) -> dict[str, int]:
    """Copy every row of the database at ``source_url`` into the empty one at ``target_url``
    (migrated first); rows per table. Raises ValueError when the target holds feeds."""
    redactor.add_secret(database_password(target_url))
    source, target = connect(source_url), connect(target_url)
    try:
        return copy_database(source, target, lambda table, rows: progress(rows))
    finally:
        source.dispose()
        target.dispose()


def supervisor() -> Supervisor:
    """systemd's notification socket, when the daemon runs under systemd."""
    return SystemdNotifier()


def listen(
    app: App, health: Health, metrics: MetricsSink | None = None
) -> tuple[MetricsSink, Listening]:
    """Serve the matches' feeds, the digest page, ``/healthz`` and ``/metrics`` on the
    config's address (raises OSError when it is taken); the metrics are made once and kept
    across reloads."""
    from watcher.adapters.listener import Listener
    from watcher.adapters.metrics import Metrics
    from watcher.service.site import Site

    assert app.config.http is not None

    def workers() -> list[tuple[str, str, int]]:
        now, lease = app.clock(), app.config.lease
        rows = app.store.coordination.workers(now)
        return [(w.worker_id, w.state(now, lease), w.feeds_held) for w in rows]

    if isinstance(metrics, Metrics):
        kept = metrics
    else:
        kept = Metrics(app.store.outbox.delivery_backlog, workers)
    rules = [rule.name for rule in app.config.rules]
    site = Site(app.store.reports, rules, app.config.http_token, app.clock)
    return kept, Listener(app.config.http, health, kept.wsgi_app(), site)
