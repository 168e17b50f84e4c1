"""A feed's login, headers and proxy, as the config gives them, made into what its requests
carry (``watcher.core.settings.Access``); the secrets read from the environment or from
systemd credentials, each problem located at its key."""

from __future__ import annotations

import base64
from collections.abc import Mapping

from watcher.config.schema import FeedConfig, SecretValue
from watcher.config.secrets import secret_value
from watcher.core.settings import Access


def feed_access(key: str, feed: FeedConfig, environ: Mapping[str, str]) -> tuple[Access, list[str]]:
    """What the feed at ``key`` (``feeds[3]``) sends, and the problems found on the way."""
    headers: list[tuple[str, str]] = []
    secret: set[str] = set()
    problems: list[str] = []

    def read(at: str, env: str | None, credential: str | None) -> str | None:
        value, problem = _secret(key + at, env, credential, environ)
        if problem:
            problems.append(problem)
        return value

    if feed.auth == "basic":
        password = read(".password_", feed.password_env, feed.password_credential)
        if password is not None and feed.username is not None:
            login = base64.b64encode(f"{feed.username}:{password}".encode()).decode("ascii")
            headers.append(("Authorization", f"Basic {login}"))
    elif feed.auth == "bearer":
        token = read(".token_", feed.token_env, feed.token_credential)
        if token is not None:
            headers.append(("Authorization", f"Bearer {token}"))
    if feed.auth is not None:
        secret.add("authorization")
    for name, given in feed.headers.items():
        if isinstance(given, SecretValue):
            value = read(f'.headers."{name}".', given.env, given.credential)
            secret.add(name.lower())
        else:
            value = given
        if value is not None:
            headers.append((name, value))
    return Access(tuple(headers), frozenset(secret), feed.proxy), problems


def _secret(
    at: str, env: str | None, credential: str | None, environ: Mapping[str, str]
) -> tuple[str | None, str | None]:
    """``secret_value``, refusing a line break: it would end the header it goes into."""
    value, problem = secret_value(at, env, credential, environ)
    if value is not None and ("\n" in value or "\r" in value):
        source = f"env: environment variable {env}" if env else f"credential: {credential!r}"
        return None, f"{at}{source} holds a line break"
    return value, problem
