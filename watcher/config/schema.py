"""The config file's schema: pydantic models of each section, strict (an unknown key is a
problem), with the durations, sizes and rates written as people write them."""

from __future__ import annotations

import ipaddress
import re
from datetime import timedelta
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from watcher.core.durations import parse_duration, parse_rate, parse_size

Duration = Annotated[timedelta, BeforeValidator(parse_duration)]
Size = Annotated[int, BeforeValidator(parse_size)]
Rate = Annotated[timedelta, BeforeValidator(parse_rate)]
ProxyUrl = Annotated[str, AfterValidator(lambda value: check_proxy_url(value))]  # (defined below)
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
    http: str | None = None  # "HOST:PORT" for the listener; off by default
    # The token the listener's pages and feeds ask for (required when not bound to loopback).
    http_token_env: str | None = None
    http_token_credential: str | None = None
    proxy: ProxyUrl | None = None  # every feed's (default: the environment's HTTP(S)_PROXY)
    no_proxy: list[str] = []  # hosts reached directly

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


class SecretValue(_Strict):
    """A value kept out of the file: from the environment, or from a systemd credential."""

    env: str | None = None
    credential: str | None = None

    @model_validator(mode="after")
    def _one_source(self) -> SecretValue:
        if (self.env is None) == (self.credential is None):
            raise ValueError("give exactly one of 'env' or 'credential'")
        return self


_HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")  # an HTTP token (RFC 9110)
_OWN_HEADERS = {"host", "content-length", "transfer-encoding", "connection", "accept-encoding"}


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
    category: str | None = Field(default=None, min_length=1)
    # A feed behind a login: HTTP basic (a username and a password) or a bearer token, the
    # secret from the environment or a credential, never from the file.
    auth: Literal["basic", "bearer"] | None = None
    username: str | None = None
    password_env: str | None = None
    password_credential: str | None = None
    token_env: str | None = None
    token_credential: str | None = None
    headers: dict[str, str | SecretValue] = {}
    proxy: ProxyUrl | None = None

    @field_validator("headers")
    @classmethod
    def _headers(cls, value: dict[str, str | SecretValue]) -> dict[str, str | SecretValue]:
        for name, given in value.items():
            if not _HEADER_NAME.fullmatch(name):
                raise ValueError(f"{name!r} is not a header name")
            if name.lower() in _OWN_HEADERS:
                raise ValueError(f"{name!r} is set by feed-watcher itself")
            if isinstance(given, str) and ("\n" in given or "\r" in given):
                raise ValueError(f"the value of {name!r} holds a line break")
        return value

    @model_validator(mode="after")
    def _login(self) -> FeedConfig:
        password = (self.password_env, self.password_credential)
        token = (self.token_env, self.token_credential)
        given = sum(v is not None for v in password), sum(v is not None for v in token)
        if self.auth == "basic" and (self.username is None or given != (1, 0)):
            raise ValueError(
                "auth = 'basic' needs 'username' and one of 'password_env' or 'password_credential'"
            )
        if self.auth == "bearer" and (self.username is not None or given != (0, 1)):
            raise ValueError("auth = 'bearer' needs one of 'token_env' or 'token_credential'")
        if self.auth is None and (self.username is not None or any(given)):
            raise ValueError("a username, password or token needs 'auth' ('basic' or 'bearer')")
        return self

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


def check_proxy_url(value: str) -> str:
    """``value``; ValueError unless it is a proxy URL the fetcher can use."""
    if not value.lower().startswith(("http://", "https://")) or value[-3:] == "://":
        raise ValueError("must be an http:// or https:// URL (a proxy's)")
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
    categories: list[str] | None = Field(default=None, min_length=1)
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
    def _template(cls, value: str | None, info: ValidationInfo) -> str | None:
        # The check is the renderer's (Jinja2 lives there), handed in by whoever loads the
        # config; its ValueError is reported with the key.
        check = (info.context or {}).get("template_check")
        if value is not None and check is not None:
            check(value)
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


def is_loopback(host: str) -> bool:
    """Whether a listener bound to ``host`` is reachable from this machine only."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:  # a host name: it may resolve to anything
        return False


def listen_address(value: str) -> tuple[str, int]:
    """``HOST:PORT`` (``[::1]:PORT`` for IPv6) as a (host, port) pair."""
    host, sep, port = value.rpartition(":")
    host = host.removeprefix("[").removesuffix("]")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"expected HOST:PORT like '127.0.0.1:9187', got {value!r}")
    return host, int(port)
