"""Keeping secrets out of logs, errors and CLI output.

apprise URLs carry passwords and tokens in many places: the password (``mailtos://u:PASS@h``),
the "host" of token-style services (``slack://TOKEN_A/TOKEN_B/TOKEN_C``), path segments and
query values. ``mask_url`` shows a URL with each of those reduced to a hint;
``secret_parts`` lists them so a ``Redactor`` can scrub them from any text.
"""

from __future__ import annotations

import base64
import contextlib
import logging
import re
import string
from collections.abc import Iterable
from urllib.parse import parse_qsl, quote, unquote, urlsplit

from watcher.core.settings import Access

MASK = "****"
# Query keys whose values are not secret and help a person recognise the target.
_PUBLIC_QUERY_KEYS = frozenset(
    {"to", "from", "cc", "bcc", "name", "format", "overflow", "mode", "smtp", "port", "user"}
)
_MIN_SECRET = 4  # shorter fragments ("a", "ok") would scrub innocent text


def _is_hostname(host: str) -> bool:
    return host == "localhost" or "." in host or ":" in host


def _raw_host(netloc: str) -> str:
    """The host as written: urlsplit lowercases it, but tokens are case-sensitive."""
    host = netloc.rsplit("@", 1)[-1]
    if host.startswith("["):
        return host.split("]", 1)[0] + "]"
    return host.split(":", 1)[0]


def _hint(value: str) -> str:
    return value[:1] + "***" if value else value


def mask_url(url: str) -> str:
    """A recognisable, secret-free spelling of an apprise (or database) URL."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return url.split(":", 1)[0] + "://" + MASK
    if not parts.scheme or not parts.netloc:
        return MASK
    host = _raw_host(parts.netloc)
    shown_host = host if _is_hostname(host) else _hint(host)
    user = f"{unquote(parts.username or '')}:{MASK}@" if parts.password else ""
    if parts.username is not None and not parts.password:
        user = f"{_hint(unquote(parts.username))}@"
    netloc = f"{user}{shown_host}" + (f":{port}" if port else "")
    segments = [_hint(unquote(s)) for s in parts.path.split("/") if s]
    path = "/" + "/".join(segments) if segments else ""
    query = "&".join(
        f"{key}={value if key.lower() in _PUBLIC_QUERY_KEYS else MASK}"
        for key, value in parse_qsl(parts.query, keep_blank_values=True)
    )
    return f"{parts.scheme}://{netloc}{path}" + (f"?{query}" if query else "")


def secret_parts(url: str) -> set[str]:
    """The fragments of ``url`` that must never be shown (each also in its quoted form)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return {url}
    found: set[str] = {url}
    if parts.password:
        found.add(parts.password)
    if parts.username and not parts.password:
        found.add(parts.username)
    host = _raw_host(parts.netloc)
    if host and not _is_hostname(host):
        found.add(host)
    host_and_port = parts.netloc.rsplit("@", 1)[-1]
    if not host_and_port.startswith("[") and ":" in host_and_port:
        port = host_and_port.split(":", 1)[1]
        if not port.isdigit():  # a token where a port would be: tgram://BOT_ID:TOKEN/
            found.add(port)
    found.update(s for s in parts.path.split("/") if s)
    found.update(
        value
        for key, value in parse_qsl(parts.query, keep_blank_values=True)
        if key.lower() not in _PUBLIC_QUERY_KEYS
    )
    found |= {unquote(value) for value in found}
    return {value for value in found if len(value) >= _MIN_SECRET}


# Query keys of a feed URL that carry a credential (Google Alerts' token, signed URLs, API keys);
# the other parameters of a feed URL are public and left as they are.
_SECRET_QUERY_KEYS = frozenset(
    {
        "token", "key", "apikey", "api_key", "api-key", "access_token", "auth", "auth_token",
        "sig", "signature", "secret", "password", "passwd", "pass", "pw", "session", "sid",
        "x-amz-signature", "x-amz-credential", "x-amz-security-token",
    }
)  # fmt: skip
# Where a URL in a text goes on from its "://" (its scheme is found from there, backwards:
# searched for from every letter of a long word, it made masking a long error quadratic).
_AFTER_SCHEME = re.compile(r"://[^\s<>\"']+")
_SCHEME_CHARS = frozenset(string.ascii_letters + string.digits + "+.-")


def _secret_query_key(key: str) -> bool:
    return key.lower() in _SECRET_QUERY_KEYS


def mask_feed_url(url: str) -> str:
    """A feed URL as it may be shown or exported: a password in it (``user:****@``), a bare
    user part (often a token: ``****@``) and the values of query keys that carry credentials
    (``token=****``) masked; the rest, which is public and tells feeds apart, kept as written.
    Anything that is not such a URL (a feed's name) comes back unchanged, so it serves for a
    name that falls back to the URL."""
    if "://" not in url:
        return url
    try:
        parts = urlsplit(url)
    except ValueError:
        return url.split(":", 1)[0] + "://" + MASK
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, host = netloc.rsplit("@", 1)
        user, has_password, _ = userinfo.partition(":")
        netloc = f"{user}:{MASK}@{host}" if has_password else f"{MASK}@{host}"
    query = "&".join(
        f"{piece.split('=', 1)[0]}={MASK}"
        if _secret_query_key(unquote(piece.split("=", 1)[0]))
        else piece
        for piece in parts.query.split("&")
    )
    masked = f"{parts.scheme}://{netloc}{parts.path}" + (f"?{query}" if query else "")
    return masked + (f"#{parts.fragment}" if parts.fragment else "")


def mask_feed_urls(text: str) -> str:
    """``text`` with every feed URL in it masked (an error message that quotes one): each
    ``scheme://rest``, its scheme starting at the first ASCII letter of the run of scheme
    characters before ``://``."""
    pieces: list[str] = []
    done = 0
    start = text.find("://")
    while start >= 0:
        begin = start
        while begin > done and text[begin - 1] in _SCHEME_CHARS:
            begin -= 1
        while begin < start and text[begin] not in string.ascii_letters:
            begin += 1
        rest = _AFTER_SCHEME.match(text, start) if begin < start else None
        if rest is not None:
            pieces += (text[done:begin], mask_feed_url(text[begin : rest.end()]))
            done = rest.end()
        start = text.find("://", max(start + 1, done))
    return "".join(pieces) + text[done:]


def feed_secrets(url: str) -> set[str]:
    """The credentials a feed URL carries (its password, a bare user part, secret query
    values), for a Redactor to scrub from logs."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return {url}
    found: set[str] = set()
    if parts.password:
        found.add(parts.password)
    elif parts.username:
        found.add(parts.username)
    found.update(
        value
        for key, value in parse_qsl(parts.query, keep_blank_values=True)
        if _secret_query_key(key)
    )
    found |= {unquote(value) for value in found} | {quote(value) for value in found}
    return {value for value in found if len(value) >= _MIN_SECRET}


class Redactor:
    """Replaces every known secret fragment in a text with ``****``."""

    def __init__(self, urls: Iterable[str] = ()) -> None:
        self._secrets: set[str] = set()
        self._pattern: re.Pattern[str] | None = None
        self.add(urls)

    def add(self, urls: Iterable[str]) -> None:
        for url in urls:
            self._secrets |= secret_parts(url)
        if self._secrets:
            # Longest first, so a whole URL is replaced before its pieces.
            ordered = sorted(self._secrets, key=len, reverse=True)
            self._pattern = re.compile("|".join(re.escape(s) for s in ordered), re.IGNORECASE)

    def add_feeds(self, urls: Iterable[str]) -> None:
        """Register the credentials some feed URLs carry (the rest of a feed URL is public)."""
        for url in urls:
            for secret in feed_secrets(url):
                self._secrets.add(secret)
        self.add(())

    def add_secret(self, value: str | None) -> None:
        """Register a raw secret (a database password, say)."""
        if value and len(value) >= _MIN_SECRET:
            self._secrets.add(value)
            self.add(())

    def __call__(self, text: str) -> str:
        if self._pattern is None:
            return text
        return self._pattern.sub(MASK, text)


class RedactingFilter(logging.Filter):
    """A logging filter that scrubs secrets from every record's final message."""

    def __init__(self, redactor: Redactor) -> None:
        super().__init__()
        self.redactor = redactor

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = self.redactor(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = self.redactor(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        return True


def secret_values(access: Access) -> list[str]:
    """Every secret a feed's requests carry: each secret header's value, and of an
    Authorization header also its credentials alone (the token; the login decoded, and its
    password)."""
    found = []
    for name, value in access.headers:
        if name.lower() not in access.secret:
            continue
        found.append(value)
        scheme, _, credentials = value.partition(" ")
        if name.lower() == "authorization" and credentials:
            found.append(credentials)
            if scheme.lower() == "basic":
                with contextlib.suppress(ValueError):
                    login = base64.b64decode(credentials, validate=True).decode()
                    found += [login, login.partition(":")[2]]
    return [value for value in found if value]
