"""Credentials in a feed URL (``user:password@``, ``?token=``) reach the server and nowhere
else: every command's output, the log, the exports and the digest show them masked."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler
from pathlib import Path

from click.testing import Result

from tests.conftest import write_config
from tests.servers import FeedServer, demanding, rss
from watcher.core.redact import feed_secrets, mask_feed_url, mask_feed_urls

Cli = Callable[..., Result]
PASSWORD, TOKEN, ENV_PASSWORD, ENV_TOKEN = "s3cr3t-pw", "tok-XYZ123", "envpass-77", "qq-SECRET-9"
SECRETS = (PASSWORD, TOKEN, ENV_PASSWORD, ENV_TOKEN)


def test_mask_feed_url() -> None:
    """Passwords, bare user parts and credential query values are masked; public query
    parameters and names are left as they are."""
    assert mask_feed_url("http://user:pw12@host/f.xml") == "http://user:****@host/f.xml"
    assert mask_feed_url("https://tok1234@host/f") == "https://****@host/f"
    assert (
        mask_feed_url("https://h/alerts/feeds/1?token=abc123&hl=en&Signature=xyz")
        == "https://h/alerts/feeds/1?token=****&hl=en&Signature=****"
    )
    assert mask_feed_url("https://h/feed?id=7") == "https://h/feed?id=7"  # public: kept
    assert mask_feed_url("Reuters World") == "Reuters World"  # a name, not a URL
    assert (
        mask_feed_urls("cannot read http://u:pw12@h/x: 401") == "cannot read http://u:****@h/x: 401"
    )
    assert feed_secrets("http://u:p%40ss12@h/x?key=k1234") >= {"p@ss12", "p%40ss12", "k1234"}


def _basic_auth(user: str, password: str, body: str) -> Callable[[BaseHTTPRequestHandler], None]:
    return demanding(
        "Authorization", "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode(), body
    )


def test_feed_credentials_never_reach_output(
    tmp_path: Path, feed_server: FeedServer, run_cli: Cli
) -> None:
    """A feed with a password and a token in its URL, and one whose URL (with its own) comes
    from the environment and fails: the first is read with basic auth; no secret appears in
    any command's output, in its log at the most verbose level, in exports or digests."""
    items = [("g1", "TikTok deal near", "ByteDance talks")]
    feed_server.serve(
        f"/private.xml?token={TOKEN}", "", handler=_basic_auth("desk", PASSWORD, rss("Wire", items))
    )
    private = feed_server.url(f"/private.xml?token={TOKEN}").replace(
        "http://", f"http://desk:{PASSWORD}@"
    )
    missing = feed_server.url(f"/gone.xml?token={ENV_TOKEN}").replace(
        "http://", f"http://alerts:{ENV_PASSWORD}@"
    )
    path = write_config(tmp_path / "w.toml", [private])
    with path.open("a") as file:
        file.write('[[feeds]]\nurl_env = "ALERTS_FEED"\n')
    env = {"ALERTS_FEED": missing}

    outputs: list[tuple[str, Result]] = []

    def run(*args: str) -> Result:
        result = run_cli(*args, "--config", str(path), env=env)
        outputs.append((" ".join(args), result))
        return result

    first = run("run", "--once", "-vv")
    assert first.exit_code == 1  # the second feed failed
    assert "[tiktok] TikTok deal near" in first.stdout
    assert f"FAILED  http://alerts:****@127.0.0.1:{feed_server.port}/gone.xml?token=****" in (
        first.stderr
    )
    [auth] = [s.headers["authorization"] for s in feed_server.requests if "private" in s.path]
    assert auth.startswith("Basic ")  # the credentials did reach the server
    checked = run("check-config")
    assert f"desk:****@127.0.0.1:{feed_server.port}/private.xml?token=****" in checked.stdout
    for command in (
        ["feeds"], ["feeds", "--format", "json"], ["feeds", "export"], ["status"],
        ["status", "--json"], ["digest"], ["digest", "--format", "markdown"],
        ["digest", "--format", "json"], ["digest", "--format", "csv"],
        ["digest", "--format", "html"], ["digest", "--format", "atom"], ["show", "1"],
        ["show", "1", "--format", "json"], ["rules", "test", "--rule", "tiktok", "--stored",
        "--json"], ["deliveries", "--failed"], ["run", "--once", "-vv"],
    ):  # fmt: skip
        assert run(*command).exit_code in (0, 1), command
    exported = next(r for c, r in outputs if c == "feeds export").stdout
    assert f"http://desk:****@127.0.0.1:{feed_server.port}/private.xml?token=****" in exported
    digest = json.loads(next(r for c, r in outputs if c == "digest --format json").stdout)
    assert digest["stories"][0]["feed_url"].startswith("http://desk:****@")
    for said, result in outputs:
        for secret in SECRETS:
            assert secret not in result.stdout, (said, secret)
            assert secret not in result.stderr, (said, secret)
