"""The daemon's listener as a feed reader and a browser meet it: a rule's feed followed over
real HTTP by feedparser (the ETag it keeps brings a 304), the access token asked for and never
logged, HEAD and other methods, the URLs ``watcher status`` gives, and a listener bound beyond
loopback refused without a token."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

import feedparser
import httpx
from click.testing import Result

from tests.conftest import free_port
from tests.processes.conftest import TOKEN, configured
from tests.stored import Digest


def test_a_reader_follows_a_rule_and_gets_304_while_nothing_changes(
    serving: Callable[..., str], tmp_path: Path
) -> None:
    """feedparser fetches /feeds/rules/tiktok.atom?token=… from the running daemon, reads the
    rule's stories, and asking again with the ETag it kept gets 304; without the token, 401.
    HEAD gives the headers alone; POST is refused. The token never reaches the log."""
    base = serving(f"127.0.0.1:{free_port()}")
    url = f"{base}/feeds/rules/tiktok.atom?token={TOKEN}"
    first = feedparser.parse(url)
    assert first.status == 200 and not first.bozo
    assert {t.term for e in first.entries for t in e.tags} == {"tiktok"} and first.entries
    again = feedparser.parse(url, etag=first.etag, modified=first.modified)
    assert again.status == 304 and not again.entries
    assert httpx.get(f"{base}/feeds/rules/tiktok.atom").status_code == 401
    bearer = {"Authorization": f"Bearer {TOKEN}"}
    page = httpx.get(f"{base}/?since=30d", headers=bearer)
    assert page.status_code == 200 and "tiktok" in page.text
    head = httpx.head(f"{base}/feeds/matches.json", headers=bearer)
    got = httpx.get(f"{base}/feeds/matches.json", headers=bearer)
    assert head.status_code == 200 and head.content == b""
    assert head.headers["content-length"] == str(len(got.content))
    assert head.headers["etag"] == got.headers["etag"]
    assert httpx.post(f"{base}/feeds/matches.json", headers=bearer).status_code == 405
    assert httpx.get(f"{base}/metrics").status_code == 200  # unchanged: no token
    time.sleep(0.5)  # the request log is written as the answer goes out
    log = (tmp_path / "daemon.log").read_text()
    assert "GET /feeds/rules/tiktok.atom 200" in log and "304" in log
    assert TOKEN not in log


def test_status_shows_the_urls_to_subscribe_to(
    stored: Digest, tmp_path: Path, run_cli: Callable[..., Result]
) -> None:
    """watcher status names the page, the feed of every match and each rule's feed, says a
    token is needed, and shows no token."""
    config = configured(stored, tmp_path, "127.0.0.1:9187")
    result = run_cli("status", "--config", str(config), env={"WATCHER_TOKEN": TOKEN})
    assert result.exit_code == 0, result.output
    assert "Listener: http://127.0.0.1:9187/ (the digest page)" in result.output
    assert "every match: http://127.0.0.1:9187/feeds/matches.atom" in result.output
    assert "tiktok: http://127.0.0.1:9187/feeds/rules/tiktok.atom" in result.output
    assert "access token" in result.output and TOKEN not in result.output
    as_json = run_cli("status", "--json", "--config", str(config), env={"WATCHER_TOKEN": TOKEN})
    served = json.loads(as_json.output)["listener"]
    assert served["rules"]["madrid"]["json"] == "http://127.0.0.1:9187/feeds/rules/madrid.json"
    assert served["token_required"] is True


def test_a_listener_beyond_loopback_needs_a_token(
    stored: Digest, tmp_path: Path, run_cli: Callable[..., Result], serving: Callable[..., str]
) -> None:
    """Bound to every address without a token, the config is refused at the key that says
    where; with a token the listener starts there and asks for it."""
    port = free_port()
    open_config = configured(stored, tmp_path, f"0.0.0.0:{port}", token=False)
    checked = run_cli("check-config", "--config", str(open_config))
    assert checked.exit_code != 0
    assert f"watcher.http: 0.0.0.0:{port} is reachable beyond this machine" in checked.output
    short = run_cli("check-config", "--config", str(configured(stored, tmp_path, "0.0.0.0:1")),
                    env={"WATCHER_TOKEN": "short"})  # fmt: skip
    assert "watcher.http_token_env: the token has 5 characters" in short.output
    base = serving(f"0.0.0.0:{port}")
    assert httpx.get(f"{base}/feeds/matches.atom").status_code == 401
    assert httpx.get(f"{base}/feeds/matches.atom?token={TOKEN}").status_code == 200
