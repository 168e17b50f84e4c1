"""The configuration file: TOML in, validated immutable objects out.

Every problem is reported as ``FILE: KEY: PROBLEM`` (keys like ``rules[2].keywords``, counting
from 0) in one ``ConfigError``; nothing here touches the database or the network.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
from collections.abc import Callable, Mapping, Sequence
from datetime import time as dt_time
from pathlib import Path
from typing import Any

from watcher.config.access import feed_access
from watcher.config.problems import Positions, validate
from watcher.config.schema import (
    NAME,
    ConfigModel,
    FeedConfig,
    TargetConfig,
    WatcherSection,
    check_feed_url,
    is_loopback,
    listen_address,
)
from watcher.config.secrets import secret_url, secret_value
from watcher.core.durations import format_duration
from watcher.core.errors import ConfigError
from watcher.core.identity import TRACKING_PARAMS
from watcher.core.matching.tree import QueryError
from watcher.core.redact import mask_feed_url
from watcher.core.settings import (
    WEEKDAYS,
    Access,
    Config,
    DigestSchedule,
    Feed,
    RetryPolicy,
    Rule,
    StoredRule,
    Target,
    Templates,
    default_gap,
    make_rule,
)

MIN_TOKEN = 16  # characters of the listener's token: guessing it must not be practical


def load_config(
    path: Path,
    environ: Mapping[str, str] | None = None,
    url_check: Callable[[str], bool] | None = None,
    template_check: Callable[[str], None] | None = None,
) -> Config:
    """Read, validate and resolve the config file at ``path`` (``url_check`` and
    ``template_check``: see ``config_from_dict``)."""
    source = str(path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(source, ["file not found"]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(source, [f"cannot read: {exc}"]) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(source, [f"not valid TOML: {exc}"]) from None
    environ = os.environ if environ is None else environ
    return config_from_dict(raw, source, path.parent, environ, url_check, template_check)


def config_from_dict(
    raw: dict[str, Any],
    source: str,
    base_dir: Path,
    environ: Mapping[str, str],
    url_check: Callable[[str], bool] | None = None,
    template_check: Callable[[str], None] | None = None,
) -> Config:
    """Validate already-parsed TOML; relative feed paths are resolved against ``base_dir``;
    ``url_check`` says whether a target URL can be used (the notifier's own judgement),
    ``template_check`` raises ValueError for a template the renderer cannot use.

    Every problem the file has is reported at once: the parts that are valid go on to the
    later checks (queries, names, environment, target URLs) while the invalid ones are
    reported, so a file with several kinds of mistakes needs one run to see them all.
    """
    raw = _resolve_feed_paths(raw, base_dir)
    model, problems, at = validate(raw, template_check)
    feed_urls, accesses, feed_problems = _resolve_feeds(model, environ, at)
    problems += feed_problems
    problems += _cross_check(
        model, feed_urls, _declared(raw, "rules"), _declared(raw, "targets"), at
    )
    rules, rule_problems = _build_rules(model, at)
    targets, target_problems = _resolve_targets(model, environ, url_check)
    http_token, token_problems = _http_token(model.watcher, environ)
    problems += rule_problems + target_problems + token_problems
    if problems:
        raise ConfigError(source, problems)
    section = model.watcher
    return Config(
        source=source,
        database=section.database,
        interval=section.interval,
        timeout=section.timeout,
        max_body=section.max_body,
        concurrency=section.concurrency,
        per_host=section.per_host,
        per_host_gap=section.per_host_gap,
        tracking_params=TRACKING_PARAMS + tuple(section.tracking_params),
        clustering=section.clustering,
        cluster_threshold=section.cluster_threshold,
        cluster_window=section.cluster_window,
        retention=section.retention,
        backlog=section.backlog,
        notify_backlog=section.notify_backlog,
        max_backoff=section.max_backoff,
        min_interval=section.min_interval,
        max_interval=section.max_interval,
        stop_timeout=section.stop_timeout,
        lease=section.lease,
        http=listen_address(section.http) if section.http else None,
        feeds=tuple(
            _feed(feed, url, access, section)
            for feed, url, access in zip(model.feeds, feed_urls, accesses, strict=True)
        ),
        rules=rules,
        targets=targets,
        proxy=section.proxy,
        no_proxy=tuple(host.strip().lower() for host in section.no_proxy if host.strip()),
        http_token=http_token,
    )


def _declared(raw: dict[str, Any], section: str) -> set[str]:
    """The names of the rules or targets the file declares, valid or not: a reference to an
    invalid one is not reported again as unknown."""
    value = raw.get(section)
    if isinstance(value, dict):
        return set(value)
    if isinstance(value, list):
        return {str(item["name"]) for item in value if isinstance(item, dict) and "name" in item}
    return set()


def _resolve_feeds(
    model: ConfigModel, environ: Mapping[str, str], at: Positions
) -> tuple[list[str | None], list[Access], list[str]]:
    """Each feed's URL, from the file, the environment or a credential (None: not found),
    and what its requests carry."""
    urls: list[str | None] = []
    accesses: list[Access] = []
    problems = []
    for index, feed in zip(at.get("feeds", ()), model.feeds, strict=True):
        key = f"feeds[{index}]"
        access, access_problems = feed_access(key, feed, environ)
        accesses.append(access)
        problems += access_problems
        url, problem = secret_url(key, feed.url, feed.url_env, feed.url_credential, environ)
        if url is not None and problem is None:
            try:
                check_feed_url(url)
            except ValueError as exc:
                # Never the URL itself: it is kept out of the file because it is a secret.
                problem = f"{key}.{_url_key(feed)}: the URL it holds {exc}"
        if problem is not None:
            problems.append(problem)
            url = None
        urls.append(url)
    return urls, accesses, problems


def _url_key(part: FeedConfig | TargetConfig) -> str:
    """Which key gave a feed's or target's URL."""
    return "url_env" if part.url_env else "url_credential" if part.url_credential else "url"


def _feed(feed: FeedConfig, url: str | None, access: Access, section: WatcherSection) -> Feed:
    assert url is not None  # a feed without a URL is a problem reported before this
    return Feed(
        url,
        feed.name,
        feed.interval or section.interval,
        feed.min_interval or section.min_interval,
        feed.max_interval or section.max_interval,
        access,
        feed.category,
    )


def with_added_rules(config: Config, stored: Sequence[StoredRule]) -> tuple[Config, list[str]]:
    """The config with the rules added from the command line. A stored rule that no longer
    fits (its name is now in the file, a target it names is gone) is left out, with why."""
    declared = {rule.name for rule in config.rules}
    targets = {target.name for target in config.targets}
    rules, problems = [], []
    for name, query, notify in stored:
        unknown = sorted(set(notify or ()) - targets)
        if name in declared:
            problems.append(f"rule {name!r} added from the command line: the config file's is used")
        elif unknown:
            problems.append(
                f"rule {name!r} added from the command line: unknown target {unknown[0]!r}"
            )
        else:
            try:
                rules.append(make_rule(name, query, notify=notify))
            except QueryError as exc:
                problems.append(f"rule {name!r} added from the command line: {exc.message}")
    return dataclasses.replace(config, rules=(*config.rules, *rules)), problems


def _build_rules(model: ConfigModel, at: Positions) -> tuple[tuple[Rule, ...], list[str]]:
    rules, problems = [], []
    for index, raw in zip(at.get("rules", ()), model.rules, strict=True):
        try:
            rules.append(
                make_rule(
                    raw.name,
                    raw.query,
                    raw.keywords,
                    raw.exclude,
                    notify=tuple(raw.notify) if raw.notify is not None else None,
                    plurals=raw.plurals,
                    feeds=tuple(raw.feeds or ()),
                    tags=tuple(raw.tags or ()),
                    categories=tuple(raw.categories or ()),
                    notify_on=frozenset(raw.notify_on),
                )
            )
        except QueryError as exc:
            if raw.exclude is not None and exc.query == raw.exclude:
                key = "exclude"
            else:
                key = "query" if raw.query is not None else "keywords"
            problems.append(_query_problem(f"rules[{index}].{key}", raw.name, exc))
    return tuple(rules), problems


def _query_problem(key: str, rule: str, error: QueryError) -> str:
    lead = f"    rule {rule!r}: "
    return f"{key}: {error.message}\n{lead}{error.shown}\n{' ' * (len(lead) + error.column)}^"


def _resolve_feed_paths(raw: dict[str, Any], base_dir: Path) -> dict[str, Any]:
    feeds = raw.get("feeds")
    if not isinstance(feeds, list):
        return raw
    resolved = []
    for feed in feeds:
        url = feed.get("url") if isinstance(feed, dict) else None
        if isinstance(url, str) and url.strip() and "://" not in url:
            feed = {**feed, "url": (base_dir / Path(url).expanduser()).resolve().as_uri()}
        resolved.append(feed)
    return {**raw, "feeds": resolved}


def _cross_check(
    model: ConfigModel,
    feed_urls: Sequence[str | None],
    declared_rules: set[str],
    declared_targets: set[str],
    at: Positions,
) -> list[str]:
    problems = []
    seen_urls: set[str] = set()
    for index, feed, url in zip(at.get("feeds", ()), model.feeds, feed_urls, strict=True):
        if url is not None and url in seen_urls:
            problems.append(f"feeds[{index}].url: {mask_feed_url(url)!r} is listed twice")
        seen_urls.add(url or "")
        lowest = feed.min_interval or model.watcher.min_interval
        highest = feed.max_interval or model.watcher.max_interval
        if lowest is not None and lowest > highest:
            problems.append(
                f"feeds[{index}].min_interval: {format_duration(lowest)} is longer than "
                f"max_interval ({format_duration(highest)})"
            )
    seen_rules: set[str] = set()
    for index, rule in zip(at.get("rules", ()), model.rules, strict=True):
        if rule.name in seen_rules:
            problems.append(f"rules[{index}].name: another rule is already named {rule.name!r}")
        seen_rules.add(rule.name)
        for name in rule.notify or ():
            if name not in declared_targets:
                known = ", ".join(sorted(declared_targets)) or "none are configured"
                problems.append(
                    f"rules[{index}].notify: unknown target {name!r} (targets: {known})"
                )
    for name, target in model.targets.items():
        if not NAME.fullmatch(name):
            problems.append(f"targets.{name}: target names use letters, digits, '-', '_' or '.'")
        for wanted in target.rules or ():
            if wanted not in declared_rules:
                problems.append(f"targets.{name}.rules: unknown rule {wanted!r}")
    return problems


def _http_token(
    section: WatcherSection, environ: Mapping[str, str]
) -> tuple[str | None, list[str]]:
    """The listener's access token, if one is given; a listener bound beyond loopback must
    have one, or the matches would be open to anyone who can reach the port."""
    env, credential = section.http_token_env, section.http_token_credential
    if env is not None and credential is not None:
        return None, ["watcher.http_token_env: give http_token_env or http_token_credential, "
                      "not both"]  # fmt: skip
    token = None
    if env is not None or credential is not None:
        token, problem = secret_value("watcher.http_token_", env, credential, environ)
        if problem is not None:
            return None, [problem]
        if len(token or "") < MIN_TOKEN:
            key = "http_token_env" if env is not None else "http_token_credential"
            return None, [
                f"watcher.{key}: the token has {len(token or '')} characters, fewer than "
                f"{MIN_TOKEN} (make one with: python3 -c 'import secrets; "
                "print(secrets.token_urlsafe())')"
            ]
    if section.http and token is None and not is_loopback(listen_address(section.http)[0]):
        return None, [
            f"watcher.http: {section.http} is reachable beyond this machine: set "
            "http_token_env or http_token_credential, or bind to 127.0.0.1"
        ]
    return token, []


def _resolve_targets(
    model: ConfigModel,
    environ: Mapping[str, str],
    url_check: Callable[[str], bool] | None = None,
) -> tuple[tuple[Target, ...], list[str]]:
    targets, problems = [], []
    for name, target in model.targets.items():
        key = f"targets.{name}"
        url, problem = secret_url(key, target.url, target.url_env, target.url_credential, environ)
        if problem is not None:
            problems.append(problem)
            continue
        if not url:
            problems.append(f"{key}.url: must not be empty")
            continue
        if url_check is not None and not url_check(url):
            source = (
                "url_env"
                if target.url_env
                else "url_credential"
                if target.url_credential
                else "url"
            )
            problems.append(f"{key}.{source}: apprise does not understand this URL")
            continue
        retry = RetryPolicy(target.retry_attempts, target.retry_backoff, target.retry_max)
        gap = target.rate if target.rate is not None else default_gap(url)
        digest = DigestSchedule(
            tuple(dt_time.fromisoformat(f"{t:0>5}") for t in target.at),
            target.timezone,
            frozenset(WEEKDAYS.index(day) for day in target.days),
        )
        targets.append(
            Target(
                name, url, retry, gap, target.max_burst, target.mode, target.every,
                digest if target.mode == "digest" else None, target.send_empty,
                Templates(target.title_template, target.body_template),
                tuple(target.rules or ()),
            )
        )  # fmt: skip
    return tuple(targets), problems
