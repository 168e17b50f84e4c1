"""The configuration file: TOML in, validated immutable objects out.

Every problem is reported as ``FILE: KEY: PROBLEM`` (keys like ``rules[2].keywords``, counting
from 0) in one ``ConfigError``; nothing here touches the database or the network.
"""

from __future__ import annotations

import dataclasses
import os
import re
import tomllib
from collections.abc import Callable, Mapping, Sequence
from datetime import time as dt_time
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from watcher.durations import format_duration, parse_duration, parse_rate, parse_size
from watcher.errors import ConfigError
from watcher.identity import TRACKING_PARAMS
from watcher.matching.query import QueryError
from watcher.redact import mask_feed_url
from watcher.settings import (
    WEEKDAYS,
    Config,
    DigestSchedule,
    Feed,
    RetryPolicy,
    Rule,
    StoredRule,
    Target,
    default_gap,
    make_rule,
)
from watcher.templates import Templates
from watcher.templates import check as check_template

Duration = Annotated[timedelta, BeforeValidator(parse_duration)]
Size = Annotated[int, BeforeValidator(parse_size)]
Rate = Annotated[timedelta, BeforeValidator(parse_rate)]
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")  # of rules and targets
_SCHEMES = ("http://", "https://", "file://")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class WatcherSection(_Strict):
    database: str | None = None
    interval: Duration = timedelta(minutes=15)
    min_interval: Duration | None = None  # default: the feed's interval
    max_interval: Duration = timedelta(hours=1)
    timeout: Duration = timedelta(seconds=30)
    max_body: Size = 10 * 1024 * 1024
    concurrency: int = Field(default=10, ge=1, le=200)
    per_host: int = Field(default=2, ge=1, le=50)
    per_host_gap: Duration = timedelta(seconds=1)
    tracking_params: list[str] = []
    clustering: bool = True
    cluster_threshold: float = Field(default=0.8, gt=0, le=1)
    cluster_window: Duration = timedelta(hours=48)
    retention: Duration | None = timedelta(days=90)
    backlog: Duration = timedelta(hours=24)
    notify_backlog: bool = False
    max_backoff: Duration = timedelta(hours=24)
    stop_timeout: Duration = timedelta(seconds=10)
    lease: Duration = timedelta(seconds=60)  # several workers: how long a claim holds
    http: str | None = None  # "HOST:PORT" for /healthz and /metrics; off by default

    @field_validator("http")
    @classmethod
    def _address(cls, value: str | None) -> str | None:
        if value is not None:
            listen_address(value)  # its ValueError is reported with the key
        return value

    @field_validator("retention", mode="before")
    @classmethod
    def _forever(cls, value: Any) -> Any:
        return None if value in ("forever", "never", 0, "0") else value

    @field_validator("interval", "timeout", "min_interval", "max_interval", "lease")
    @classmethod
    def _positive(cls, value: timedelta | None) -> timedelta | None:
        if value is not None and value.total_seconds() < 1:
            raise ValueError("must be at least 1s")
        return value


class FeedConfig(_Strict):
    url: str | None = None
    # A URL that carries a credential (user:password@, ?token=) kept out of the file: read
    # from the environment or from a systemd credential, like a target's.
    url_env: str | None = None
    url_credential: str | None = None
    name: str | None = None
    interval: Duration | None = None
    min_interval: Duration | None = None
    max_interval: Duration | None = None

    @field_validator("url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        if value is not None:
            check_feed_url(value)
        return value

    @model_validator(mode="after")
    def _one_source(self) -> FeedConfig:
        if sum(v is not None for v in (self.url, self.url_env, self.url_credential)) != 1:
            raise ValueError("give exactly one of 'url', 'url_env' or 'url_credential'")
        return self

    @field_validator("interval", "min_interval", "max_interval")
    @classmethod
    def _positive(cls, value: timedelta | None) -> timedelta | None:
        if value is not None and value.total_seconds() < 1:
            raise ValueError("must be at least 1s")
        return value


def check_feed_url(value: str) -> None:
    """Raise ValueError unless ``value`` is a URL feed-watcher can fetch."""
    if not value.lower().startswith(_SCHEMES):
        raise ValueError("must be an http://, https:// or file:// URL, or a file path")


class RuleConfig(_Strict):
    name: str
    query: str | None = None
    keywords: list[str] | None = Field(default=None, min_length=1)
    exclude: str | None = None
    feeds: list[str] | None = Field(default=None, min_length=1)
    tags: list[str] | None = Field(default=None, min_length=1)
    plurals: bool = True
    notify: list[str] | None = None
    notify_on: list[Literal["new", "changed"]] = Field(default=["new"], min_length=1)

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not NAME.fullmatch(value):
            raise ValueError(
                "use letters, digits, '-', '_' or '.', starting with a letter or digit"
            )
        return value

    @field_validator("keywords")
    @classmethod
    def _keywords(cls, value: list[str] | None) -> list[str] | None:
        for index, keyword in enumerate(value or ()):
            if not re.search(r"\w", keyword):
                raise ValueError(f"keyword {index} ({keyword!r}) has no letters or digits")
        return value

    @model_validator(mode="after")
    def _query_or_keywords(self) -> RuleConfig:
        if (self.query is None) == (self.keywords is None):
            raise ValueError("give exactly one of 'query' or 'keywords'")
        return self


class TargetConfig(_Strict):
    url: str | None = None
    url_env: str | None = None
    url_credential: str | None = None  # a file in $CREDENTIALS_DIRECTORY (LoadCredential=)
    retry_attempts: int = Field(default=10, ge=1, le=1000)
    retry_backoff: Duration = timedelta(seconds=30)
    retry_max: Duration = timedelta(hours=1)
    rate: Rate | None = None  # default: 1/s for Slack and others, 30/m for email
    max_burst: int = Field(default=20, ge=1)
    mode: Literal["instant", "batch", "digest"] = "instant"
    every: Duration = timedelta(minutes=10)
    at: list[str] = Field(default=["08:00"], min_length=1)
    timezone: str = "UTC"
    days: list[Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]] = Field(
        default=["mon", "tue", "wed", "thu", "fri", "sat", "sun"], min_length=1
    )
    send_empty: bool = False
    title_template: str | None = None
    body_template: str | None = None
    rules: list[str] | None = Field(default=None, min_length=1)

    @field_validator("title_template", "body_template")
    @classmethod
    def _template(cls, value: str | None) -> str | None:
        if value is not None:
            check_template(value)  # its TemplateProblem is a ValueError: reported with the key
        return value

    @field_validator("at", mode="before")
    @classmethod
    def _times(cls, value: Any) -> Any:
        values = [value] if isinstance(value, str) else value
        for text in values if isinstance(values, list) else ():
            if not re.fullmatch(r"([01]?\d|2[0-3]):[0-5]\d", str(text)):
                raise ValueError(f"expected times like '08:00', got {text!r}")
        return values

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r} (e.g. 'Europe/Madrid')") from None
        return value

    @model_validator(mode="after")
    def _one_source(self) -> TargetConfig:
        if sum(v is not None for v in (self.url, self.url_env, self.url_credential)) != 1:
            raise ValueError("give exactly one of 'url', 'url_env' or 'url_credential'")
        return self


class ConfigModel(_Strict):
    watcher: WatcherSection = WatcherSection()
    feeds: list[FeedConfig] = []
    rules: list[RuleConfig] = []
    targets: dict[str, TargetConfig] = {}


def load_config(
    path: Path,
    environ: Mapping[str, str] | None = None,
    url_check: Callable[[str], bool] | None = None,
) -> Config:
    """Read, validate and resolve the config file at ``path`` (``url_check``: whether a
    target URL can be used, see ``config_from_dict``)."""
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
    return config_from_dict(raw, source, path.parent, environ, url_check)


def config_from_dict(
    raw: dict[str, Any],
    source: str,
    base_dir: Path,
    environ: Mapping[str, str],
    url_check: Callable[[str], bool] | None = None,
) -> Config:
    """Validate already-parsed TOML; relative feed paths are resolved against ``base_dir``;
    ``url_check`` says whether a target URL can be used (the notifier's own judgement).

    Every problem the file has is reported at once: the parts that are valid go on to the
    later checks (queries, names, environment, target URLs) while the invalid ones are
    reported, so a file with several kinds of mistakes needs one run to see them all.
    """
    raw = _resolve_feed_paths(raw, base_dir)
    model, problems, at = _validate(raw)
    feed_urls, feed_problems = _resolve_feeds(model, environ, at)
    problems += feed_problems
    problems += _cross_check(
        model, feed_urls, _declared(raw, "rules"), _declared(raw, "targets"), at
    )
    rules, rule_problems = _build_rules(model, at)
    targets, target_problems = _resolve_targets(model, environ, url_check)
    problems += rule_problems + target_problems
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
        feeds=tuple(_feed(f, url, section) for f, url in zip(model.feeds, feed_urls, strict=True)),
        rules=rules,
        targets=targets,
    )


Positions = dict[str, list[int]]  # "feeds", "rules": each kept item's index in the file


def _validate(raw: dict[str, Any]) -> tuple[ConfigModel, list[str], Positions]:
    """The model of ``raw``, its structural problems, and where each of its feeds and rules
    stands in the file. With problems, the model is built from what is left once the invalid
    feeds, rules, targets and keys are set aside."""
    try:
        model = ConfigModel.model_validate(raw)
        return model, [], _positions(raw, {})
    except ValidationError as exc:
        errors = exc.errors()
    problems = [_describe(error) for error in errors]
    kept, dropped = _set_aside(raw, errors)
    try:
        return ConfigModel.model_validate(kept), problems, _positions(raw, dropped)
    except ValidationError:
        return ConfigModel(), problems, {}


def _positions(raw: dict[str, Any], dropped: dict[str, set[Any]]) -> Positions:
    found: Positions = {}
    for section in ("feeds", "rules"):
        items = raw.get(section)
        count = len(items) if isinstance(items, list) else 0
        found[section] = [i for i in range(count) if i not in dropped.get(section, set())]
    return found


def _set_aside(
    raw: dict[str, Any], errors: Sequence[Any]
) -> tuple[dict[str, Any], dict[str, set[Any]]]:
    """``raw`` without the parts the ``errors`` are about: the whole feed, rule or target,
    or the one key of [watcher] (whose default then stands in); and what was set aside."""
    dropped: dict[str, set[Any]] = {}
    top: set[str] = set()
    for error in errors:
        loc = error["loc"]
        if len(loc) >= 2 and loc[0] in ("feeds", "rules", "targets", "watcher"):
            dropped.setdefault(str(loc[0]), set()).add(loc[1])
        elif loc:
            top.add(str(loc[0]))
    kept: dict[str, Any] = {}
    for key, value in raw.items():
        gone = dropped.get(key, set())
        if key in top:
            continue
        if isinstance(value, list):
            kept[key] = [item for index, item in enumerate(value) if index not in gone]
        elif isinstance(value, dict):
            kept[key] = {name: item for name, item in value.items() if name not in gone}
        else:
            kept[key] = value
    return kept, dropped


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
) -> tuple[list[str | None], list[str]]:
    """Each feed's URL, from the file, the environment or a credential (None: not found)."""
    urls: list[str | None] = []
    problems = []
    for index, feed in zip(at.get("feeds", ()), model.feeds, strict=True):
        key = f"feeds[{index}]"
        url, problem = _secret_url(key, feed.url, feed.url_env, feed.url_credential, environ)
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
    return urls, problems


def _secret_url(
    key: str,
    url: str | None,
    env: str | None,
    credential: str | None,
    environ: Mapping[str, str],
) -> tuple[str | None, str | None]:
    """A URL given in the file (``url``), by an environment variable or by a credential; or
    the problem, located at ``key``."""
    if env is not None:
        value = environ.get(env, "").strip()
        if not value:
            return None, f"{key}.url_env: environment variable {env} is not set"
        return value, None
    if credential is not None:
        try:
            return read_credential(credential, environ), None
        except ValueError as exc:
            return None, f"{key}.url_credential: {exc}"
    return url, None


def _url_key(part: FeedConfig | TargetConfig) -> str:
    """Which key gave a feed's or target's URL."""
    return "url_env" if part.url_env else "url_credential" if part.url_credential else "url"


def _feed(feed: FeedConfig, url: str | None, section: WatcherSection) -> Feed:
    assert url is not None  # a feed without a URL is a problem reported before this
    return Feed(
        url,
        feed.name,
        feed.interval or section.interval,
        feed.min_interval or section.min_interval,
        feed.max_interval or section.max_interval,
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


def _resolve_targets(
    model: ConfigModel,
    environ: Mapping[str, str],
    url_check: Callable[[str], bool] | None = None,
) -> tuple[tuple[Target, ...], list[str]]:
    targets, problems = [], []
    for name, target in model.targets.items():
        key = f"targets.{name}"
        url, problem = _secret_url(key, target.url, target.url_env, target.url_credential, environ)
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


def read_credential(name: str, environ: Mapping[str, str]) -> str:
    """The secret systemd's ``LoadCredential=`` put in ``$CREDENTIALS_DIRECTORY/name``.
    Raises ValueError with a reason a config error can show."""
    directory = environ.get("CREDENTIALS_DIRECTORY", "")
    if not directory:
        raise ValueError(
            f"credential {name!r} needs $CREDENTIALS_DIRECTORY, which is not set "
            "(systemd sets it for a unit with LoadCredential=)"
        )
    if "/" in name or name in ("", ".", ".."):
        raise ValueError(f"{name!r} is not a credential name")
    try:
        value = (Path(directory) / name).read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        raise ValueError(f"credential {name!r} not found in {directory}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"cannot read credential {name!r}: {exc}") from None
    if not value:
        raise ValueError(f"credential {name!r} is empty")
    return value


def listen_address(value: str) -> tuple[str, int]:
    """``HOST:PORT`` (``[::1]:PORT`` for IPv6) as a (host, port) pair."""
    host, sep, port = value.rpartition(":")
    host = host.removeprefix("[").removesuffix("]")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"expected HOST:PORT like '127.0.0.1:9187', got {value!r}")
    return host, int(port)


def _describe(error: Any) -> str:
    key = _format_loc(error["loc"])
    kind = error["type"]
    if kind == "extra_forbidden":
        problem = "unknown key"
    elif kind == "missing":
        problem = "is required"
    elif kind == "too_short":
        problem = "must not be empty"
    else:
        problem = str(error["msg"]).removeprefix("Value error, ")
    return f"{key}: {problem}" if key else problem


def _format_loc(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif str(part).startswith("function-"):
            continue
        else:
            out += f".{part}" if out else str(part)
    return out
