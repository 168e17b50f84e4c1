"""Feeds behind a login, with headers of their own, and through proxies, over real HTTP on
127.0.0.1: the secrets reach the feed's own host and nothing else — not another host after a
redirect, not a command's output, not the log."""

from __future__ import annotations

import base64
import http.server
import json
import threading
import urllib.request
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest
from click.testing import Result

from tests.conftest import write_config
from tests.servers import FeedServer, demanding, rss

Cli = Callable[..., Result]
PASSWORD, TOKEN, API_KEY, PROXY_PASSWORD = "pw-Secret-41", "tok-Bearer-93", "key-Api-57", "px-77q"
SECRETS = (
    PASSWORD,
    TOKEN,
    API_KEY,
    PROXY_PASSWORD,
    base64.b64encode(f"desk:{PASSWORD}".encode()).decode(),
)
ITEMS = [("g1", "TikTok deal near", "ByteDance talks")]


def redirect_to(location: str) -> Callable[[BaseHTTPRequestHandler], None]:
    def handle(request: BaseHTTPRequestHandler) -> None:
        request.send_response(302)
        request.send_header("Location", location)
        request.send_header("Content-Length", "0")
        request.end_headers()

    return handle


def access_config(tmp_path: Path, feeds: list[str], extra: str = "") -> Path:
    path = write_config(tmp_path / "w.toml", [], extra=extra)
    with path.open("a") as file:
        file.write("\n".join(feeds) + "\n")
    return path


def test_basic_bearer_and_header_secrets_reach_the_server_and_nowhere_else(
    tmp_path: Path, feed_server: FeedServer, run_cli: Cli
) -> None:
    """A feed behind basic auth (password from the environment), one behind a bearer token
    (from a systemd credential), one that needs an API key header (from the environment) and a
    browser's User-Agent: all three are read. A wrong password fails its feed with
    "authentication refused". No secret appears in any command's output or the log."""
    login = "Basic " + base64.b64encode(f"desk:{PASSWORD}".encode()).decode()
    basic = feed_server.serve(
        "/basic.xml", "", handler=demanding("Authorization", login, rss("Basic Wire", ITEMS))
    )
    bearer = feed_server.serve(
        "/bearer.xml",
        "",
        handler=demanding("Authorization", f"Bearer {TOKEN}", rss("Bearer Wire", ITEMS)),
    )
    keyed = feed_server.serve(
        "/keyed.xml", "", handler=demanding("X-Api-Key", API_KEY, rss("Keyed Wire", ITEMS))
    )
    credentials = tmp_path / "credentials"
    credentials.mkdir()
    (credentials / "bearer-token").write_text(TOKEN + "\n")
    path = access_config(tmp_path, [
        f'[[feeds]]\nurl = "{basic}"\nauth = "basic"\nusername = "desk"\npassword_env = "DESK_PW"',
        f'[[feeds]]\nurl = "{bearer}"\nauth = "bearer"\ntoken_credential = "bearer-token"',
        f'[[feeds]]\nurl = "{keyed}"\ncategory = "China"\n'
        f'headers = {{ "X-Api-Key" = {{ env = "API_KEY" }}, "User-Agent" = "Mozilla/5.0 (desk)" }}',
    ])  # fmt: skip
    env = {"DESK_PW": PASSWORD, "API_KEY": API_KEY, "CREDENTIALS_DIRECTORY": str(credentials)}
    outputs: list[tuple[str, Result]] = []

    def run(*args: str, environment: dict[str, str] = env) -> Result:
        result = run_cli(*args, "--config", str(path), env=environment)
        outputs.append((" ".join(args), result))
        return result

    first = run("run", "--once", "-vv")
    assert first.exit_code == 0, first.output
    assert first.stdout.count("[tiktok] TikTok deal near") == 1  # three copies: one story
    seen = {s.path: s.headers for s in feed_server.requests}
    assert seen["/keyed.xml"]["user-agent"] == "Mozilla/5.0 (desk)"
    checked = run("check-config")
    assert checked.exit_code == 0, checked.output
    assert f"{keyed} (every 15m; category China; headers X-Api-Key (secret), User-Agent)" in (
        checked.stdout
    )
    assert f"{basic} (every 15m; headers Authorization (secret))" in checked.stdout

    wrong = run("run", "--once", "-vv", environment={**env, "DESK_PW": "not-it"})
    assert wrong.exit_code == 1
    assert f"({basic}): authentication refused (HTTP 401)" in wrong.stderr
    states = {f["url"]: f for f in json.loads(run("feeds", "--json").stdout)}
    assert states[basic]["failures"] == 1 and states[basic]["next_fetch"] is not None  # backs off
    assert states[basic]["last_error"] == "authentication refused (HTTP 401)"
    for command in (
        ["feeds"], ["feeds", "--json"], ["feeds", "export"], ["status"], ["status", "--json"],
        ["digest", "--format", "json"], ["show", "1"],
    ):  # fmt: skip
        assert run(*command).exit_code in (0, 1), command
    for said, result in outputs:
        for secret in SECRETS:
            assert secret not in result.stdout, (said, secret)
            assert secret not in result.stderr, (said, secret)


def test_credentials_are_not_sent_to_another_host_after_a_redirect(
    tmp_path: Path, feed_server: FeedServer, run_cli: Cli
) -> None:
    """A feed redirected from its host to another one: the second request carries neither
    the Authorization header nor the secret custom header; the public header stays. A
    redirect on the same host keeps them."""
    elsewhere = feed_server.url("/moved.xml").replace("127.0.0.1", "localhost")
    feed_server.serve("/moved.xml", rss("Moved Wire", ITEMS))
    feed_server.serve("/same-host.xml", rss("Same Wire", ITEMS))
    start = feed_server.serve("/start.xml", "", handler=redirect_to(elsewhere))
    near = feed_server.serve("/near.xml", "", handler=redirect_to("/same-host.xml"))
    headers = 'headers = { "X-Api-Key" = { env = "API_KEY" }, "X-Desk" = "public" }'
    login = 'auth = "bearer"\ntoken_env = "TOKEN"'
    path = access_config(tmp_path, [
        f'[[feeds]]\nurl = "{start}"\n{login}\n{headers}',
        f'[[feeds]]\nurl = "{near}"\n{login}\n{headers}',
    ])  # fmt: skip
    env = {"API_KEY": API_KEY, "TOKEN": TOKEN}
    result = run_cli("run", "--once", "--config", str(path), env=env)
    assert result.exit_code == 0, result.output
    seen = {s.path: s.headers for s in feed_server.requests}
    assert seen["/start.xml"]["authorization"] == f"Bearer {TOKEN}"
    assert seen["/start.xml"]["x-api-key"] == API_KEY
    assert "authorization" not in seen["/moved.xml"]
    assert "x-api-key" not in seen["/moved.xml"]
    assert seen["/moved.xml"]["x-desk"] == "public"
    assert seen["/same-host.xml"]["authorization"] == f"Bearer {TOKEN}"
    assert seen["/same-host.xml"]["x-api-key"] == API_KEY


class Proxy:
    """A forward HTTP proxy on 127.0.0.1: it records each request (absolute URL, and its
    Proxy-Authorization) and fetches it."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, str | None]] = []
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                proxy.seen.append((self.path, self.headers.get("Proxy-Authorization")))
                with urllib.request.urlopen(self.path, timeout=10) as upstream:  # noqa: S310
                    body = upstream.read()
                    kind = upstream.headers.get("Content-Type", "application/xml")
                self.send_response(200)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def proxies() -> Iterator[tuple[Proxy, Proxy]]:
    made = (Proxy(), Proxy())
    yield made
    for proxy in made:
        proxy.server.shutdown()
        proxy.server.server_close()


def test_feeds_go_through_the_configured_proxy_but_the_no_proxy_hosts(
    tmp_path: Path, feed_server: FeedServer, run_cli: Cli, proxies: tuple[Proxy, Proxy]
) -> None:
    """[watcher] proxy (with a login, masked in check-config) carries the feeds; a feed with a
    proxy of its own uses that one; a host in no_proxy is reached directly."""
    shared, own = proxies
    via_shared = feed_server.serve("/shared.xml", rss("Shared", ITEMS))
    via_own = feed_server.serve("/own.xml", rss("Own", ITEMS))
    direct = feed_server.serve("/direct.xml", rss("Direct", ITEMS)).replace(
        "127.0.0.1", "localhost"
    )
    extra = (
        f'proxy = "http://desk:{PROXY_PASSWORD}@127.0.0.1:{shared.port}"\nno_proxy = ["localhost"]'
    )
    path = access_config(tmp_path, [
        f'[[feeds]]\nurl = "{via_shared}"',
        f'[[feeds]]\nurl = "{via_own}"\nproxy = "http://127.0.0.1:{own.port}"',
        f'[[feeds]]\nurl = "{direct}"',
    ], extra=extra)  # fmt: skip
    result = run_cli("run", "--once", "--config", str(path))
    assert result.exit_code == 0, result.output
    login = "Basic " + base64.b64encode(f"desk:{PROXY_PASSWORD}".encode()).decode()
    assert shared.seen == [(via_shared, login)]
    assert own.seen == [(via_own, None)]
    assert [s.path for s in feed_server.requests].count("/direct.xml") == 1
    checked = run_cli("check-config", "--config", str(path))
    assert f"proxy:       http://desk:****@127.0.0.1:{shared.port} (not for localhost)" in (
        checked.stdout
    )
    assert PROXY_PASSWORD not in checked.stdout + result.stdout + result.stderr


def test_check_config_shows_the_environments_proxy_masked(tmp_path: Path, run_cli: Cli) -> None:
    """With no proxy in the config, the environment's (which httpx honours) is shown, its
    password masked, with the hosts it skips."""
    path = access_config(tmp_path, [])
    env = {"HTTPS_PROXY": f"http://desk:{PROXY_PASSWORD}@proxy.example:3128", "NO_PROXY": "intra"}
    shown = run_cli("check-config", "--config", str(path), env=env).stdout
    assert (
        "proxy:       from the environment (https: http://desk:****@proxy.example:3128, "
        "not for intra)"
    ) in shown
    assert PROXY_PASSWORD not in shown
