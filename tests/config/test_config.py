"""The config file: validation names file, key and problem; defaults; secrets from the
environment; relative feed paths; the shipped configs load."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import Result

from watcher.config.load import load_config
from watcher.config.locations import default_database_url, find_config, shipped_config
from watcher.core.errors import ConfigError

Cli = Callable[..., Result]

ROOT = Path(__file__).parents[2]


def problems(tmp_path: Path, text: str, environ: dict[str, str] | None = None) -> list[str]:
    path = tmp_path / "watcher.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(path, environ or {})
    assert str(path) in str(caught.value)
    return caught.value.problems


def test_minimal_config_gets_defaults(tmp_path: Path) -> None:
    """A config with one feed and one rule gets the documented defaults."""
    path = tmp_path / "w.toml"
    path.write_text(
        '[[feeds]]\nurl = "https://a.example/rss"\n[[rules]]\nname = "x"\nkeywords = ["a"]\n'
    )
    config = load_config(path, {})
    assert config.interval == timedelta(minutes=15)
    assert config.timeout == timedelta(seconds=30)
    assert config.max_body == 10 * 1024 * 1024
    assert config.feeds[0].interval == timedelta(minutes=15)
    assert config.database is None
    assert config.targets == ()


def test_feed_interval_overrides_the_default(tmp_path: Path) -> None:
    """A feed's own interval wins; a feed without one gets ``[watcher] interval``."""
    path = tmp_path / "w.toml"
    path.write_text(
        '[watcher]\ninterval = "2h"\n'
        '[[feeds]]\nurl = "https://a.example/rss"\ninterval = "90s"\n'
        '[[feeds]]\nurl = "https://b.example/rss"\n'
    )
    config = load_config(path, {})
    assert [f.interval for f in config.feeds] == [timedelta(seconds=90), timedelta(hours=2)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            '[[rules]]\nname = "a"\nkeywords = ["x"]\n[[rules]]\nname = "b"\nkeywords = ["y"]\n'
            '[[rules]]\nname = "c"\nkeywords = []\n',
            "rules[2].keywords: must not be empty",
        ),
        ('[[rules]]\nname = "a"\n', "rules[0]: give exactly one of 'query' or 'keywords'"),
        (
            '[[rules]]\nname = "a"\nkeywords = ["x"]\nkeyword = "y"\n',
            "rules[0].keyword: unknown key",
        ),
        ('[watcher]\ninterval = "soon"\n', "watcher.interval: expected a duration like"),
        ('[[feeds]]\nurl = "ftp://a.example/rss"\n', "feeds[0].url: must be an http://"),
        ('[[rules]]\nname = "a"\nkeywords = ["--"]\n', "rules[0].keywords: keyword 0 ('--')"),
        (
            '[[feeds]]\nurl = "https://a.example/"\n[[feeds]]\nurl = "https://a.example/"\n',
            "feeds[1].url: 'https://a.example/' is listed twice",
        ),
        (
            '[[rules]]\nname = "a"\nkeywords = ["x"]\nnotify = ["desk"]\n',
            "rules[0].notify: unknown target 'desk'",
        ),
        (
            "[targets.desk]\n",
            "targets.desk: give exactly one of 'url', 'url_env' or 'url_credential'",
        ),
        ('[watcher]\nhttp = "9187"\n', "watcher.http: expected HOST:PORT like"),
        ('[watcher]\nhttp = "127.0.0.1:99999"\n', "watcher.http: expected HOST:PORT like"),
        ('[watcher]\nstop_timeout = "later"\n', "watcher.stop_timeout: expected a duration"),
        ("[watcher]\nconcurrency = 0\n", "watcher.concurrency: Input should be greater than"),
        (
            '[targets.d]\nurl = "json://h.example"\nmode = "digest"\nat = "25:00"\n',
            "targets.d.at: expected times like '08:00', got '25:00'",
        ),
        (
            '[targets.d]\nurl = "json://h.example"\ntimezone = "Mars/Olympus"\n',
            "targets.d.timezone: unknown time zone 'Mars/Olympus'",
        ),
        (
            '[targets.d]\nurl = "json://h.example"\nrate = "fast"\n',
            "targets.d.rate: expected a rate",
        ),
    ],
)
def test_errors_name_the_key(tmp_path: Path, text: str, expected: str) -> None:
    """Each invalid config is refused with the key and what is wrong."""
    found = problems(tmp_path, text)
    assert any(p.startswith(expected) or expected in p for p in found), found


FEED = '[[feeds]]\nurl = "https://a.example/rss"\n'


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (FEED + 'auth = "basic"\npassword_env = "PW"\n', "feeds[0]: auth = 'basic' needs"),
        (FEED + 'auth = "bearer"\n', "feeds[0]: auth = 'bearer' needs one of 'token_env'"),
        (FEED + 'token_env = "T"\n', "feeds[0]: a username, password or token needs 'auth'"),
        (FEED + 'auth = "digest"\n', "feeds[0].auth: Input should be 'basic' or 'bearer'"),
        (FEED + 'auth = "basic"\nusername = "u"\npassword_env = "UNSET_PW"\n',
         "feeds[0].password_env: environment variable UNSET_PW is not set"),
        (FEED + 'auth = "bearer"\ntoken_credential = "tok"\n',
         "feeds[0].token_credential: credential 'tok' needs $CREDENTIALS_DIRECTORY"),
        (FEED + 'headers = { "X-Key" = { env = "UNSET_KEY" } }\n',
         'feeds[0].headers."X-Key".env: environment variable UNSET_KEY is not set'),
        (FEED + 'headers = { "X-Key" = { env = "A", credential = "b" } }\n',
         "feeds[0].headers.X-Key: give exactly one of 'env' or 'credential'"),
        (FEED + 'headers = { "Bad Name" = "x" }\n', "feeds[0].headers: 'Bad Name' is not a header"),
        (FEED + 'headers = { "Host" = "x" }\n', "feeds[0].headers: 'Host' is set by feed-watcher"),
        (FEED + 'proxy = "socks5://p.example:1080"\n', "feeds[0].proxy: must be an http:// or"),
        ('[watcher]\nproxy = "p.example:3128"\n', "watcher.proxy: must be an http:// or https://"),
        (FEED + 'category = ""\n', "feeds[0].category: String should have at least 1"),
    ],
    ids=["basic-no-user", "bearer-no-token", "token-no-auth", "auth-kind", "password-unset",
         "token-credential", "header-unset", "header-both", "header-name", "header-own",
         "feed-proxy", "proxy", "category"],
)  # fmt: skip
def test_login_header_and_proxy_errors_name_the_key(
    tmp_path: Path, text: str, expected: str
) -> None:
    """Each mistake in a feed's login, headers, proxy or category is refused at its key."""
    found = problems(tmp_path, text)
    assert any(expected in p for p in found), found


def test_invalid_toml_reports_the_line(tmp_path: Path) -> None:
    """TOML that does not parse is reported with the line of the mistake."""
    [problem] = problems(tmp_path, '[watcher\ninterval = "1m"\n')
    assert problem.startswith("not valid TOML") and "line 1" in problem


def test_missing_file(tmp_path: Path) -> None:
    """A config file that does not exist is a ConfigError saying so."""
    with pytest.raises(ConfigError, match="file not found"):
        load_config(tmp_path / "nope.toml", {})


def test_target_url_from_environment(tmp_path: Path) -> None:
    """``url_env`` reads the URL from the environment, so the secret stays out of the file."""
    path = tmp_path / "w.toml"
    path.write_text('[targets.desk]\nurl_env = "DESK_URL"\n')
    config = load_config(path, {"DESK_URL": "mailto://u:pw@127.0.0.1"})
    assert config.targets[0].url == "mailto://u:pw@127.0.0.1"


def test_target_url_from_a_systemd_credential(tmp_path: Path) -> None:
    """``url_credential`` reads $CREDENTIALS_DIRECTORY/NAME, as LoadCredential= provides it."""
    credentials = tmp_path / "credentials"
    credentials.mkdir()
    (credentials / "slack").write_text("slack://T1/B2/C3\n", encoding="utf-8")
    path = tmp_path / "w.toml"
    path.write_text('[targets.desk]\nurl_credential = "slack"\n')
    config = load_config(path, {"CREDENTIALS_DIRECTORY": str(credentials)})
    assert config.targets[0].url == "slack://T1/B2/C3"


@pytest.mark.parametrize(
    ("name", "make", "expected"),
    [
        ("slack", False, "needs $CREDENTIALS_DIRECTORY, which is not set"),
        ("slack", True, "credential 'slack' not found in"),
        ("../etc/passwd", True, "'../etc/passwd' is not a credential name"),
    ],
)
def test_credential_problems_name_the_key(
    tmp_path: Path, name: str, make: bool, expected: str
) -> None:
    """Each way a systemd credential can be missing or unusable is reported at its key."""
    environ = {}
    if make:
        (tmp_path / "credentials").mkdir()
        environ["CREDENTIALS_DIRECTORY"] = str(tmp_path / "credentials")
    [problem] = problems(tmp_path, f'[targets.desk]\nurl_credential = "{name}"\n', environ)
    assert problem.startswith("targets.desk.url_credential: ") and expected in problem


def test_listener_address(tmp_path: Path) -> None:
    """``http`` takes HOST:PORT (IPv6 in brackets); without it nothing listens."""
    path = tmp_path / "w.toml"
    path.write_text('[watcher]\nhttp = "[::1]:9187"\nstop_timeout = "5s"\n')
    config = load_config(path, {})
    assert config.http == ("::1", 9187)
    assert config.stop_timeout == timedelta(seconds=5)
    path.write_text("")
    assert load_config(path, {}).http is None


TOKEN = "0123456789abcdef-token"


@pytest.mark.parametrize("host", ["127.0.0.1", "127.8.0.1", "[::1]", "localhost"])
def test_a_loopback_listener_needs_no_token(tmp_path: Path, host: str) -> None:
    """On a loopback address the listener starts without a token (and asks for one when it is
    given)."""
    path = tmp_path / "w.toml"
    path.write_text(f'[watcher]\nhttp = "{host}:9187"\n')
    assert load_config(path, {}).http_token is None
    path.write_text(f'[watcher]\nhttp = "{host}:9187"\nhttp_token_env = "T"\n')
    assert load_config(path, {"T": TOKEN}).http_token == TOKEN


def test_a_token_from_a_systemd_credential(tmp_path: Path) -> None:
    """``http_token_credential`` reads the token from $CREDENTIALS_DIRECTORY/NAME."""
    (tmp_path / "credentials").mkdir()
    (tmp_path / "credentials" / "listener").write_text(TOKEN + "\n")
    path = tmp_path / "w.toml"
    path.write_text('[watcher]\nhttp = "0.0.0.0:9187"\nhttp_token_credential = "listener"\n')
    config = load_config(path, {"CREDENTIALS_DIRECTORY": str(tmp_path / "credentials")})
    assert config.http_token == TOKEN and config.http == ("0.0.0.0", 9187)


@pytest.mark.parametrize(
    ("text", "environ", "expected"),
    [
        (
            'http = "0.0.0.0:9187"',
            {},
            "watcher.http: 0.0.0.0:9187 is reachable beyond this machine",
        ),
        ('http = "[::]:9187"', {}, "watcher.http: [::]:9187 is reachable beyond"),
        ('http = "192.168.1.5:9187"', {}, "watcher.http: 192.168.1.5:9187 is reachable beyond"),
        ('http = "news-box:9187"', {}, "watcher.http: news-box:9187 is reachable beyond"),
        ('http_token_env = "T"', {}, "watcher.http_token_env: environment variable T is not set"),
        ('http_token_env = "T"', {"T": "short"}, "watcher.http_token_env: the token has 5 ch"),
        (
            'http_token_env = "T"\nhttp_token_credential = "c"',
            {"T": TOKEN},
            "watcher.http_token_env: give http_token_env or http_token_credential, not both",
        ),
        ('http_token_credential = "c"', {}, "watcher.http_token_credential: credential 'c' needs"),
    ],
)
def test_listener_token_problems_name_the_key(
    tmp_path: Path, text: str, environ: dict[str, str], expected: str
) -> None:
    """A listener bound beyond loopback without a token, and each way a token can be unusable,
    is refused at its key."""
    [problem] = problems(tmp_path, f"[watcher]\n{text}\n", environ)
    assert problem.startswith(expected), problem


def test_unset_environment_variable_is_an_error(tmp_path: Path) -> None:
    """``url_env`` naming a variable that is not set is an error at that key."""
    found = problems(tmp_path, '[targets.desk]\nurl_env = "DESK_URL"\n')
    assert found == ["targets.desk.url_env: environment variable DESK_URL is not set"]


def test_relative_feed_paths_resolve_against_the_config(tmp_path: Path) -> None:
    """A feed given as a relative path is read from beside the config file."""
    (tmp_path / "sub").mkdir()
    path = tmp_path / "sub" / "w.toml"
    path.write_text('[[feeds]]\nurl = "feeds/a.xml"\n')
    config = load_config(path, {})
    assert config.feeds[0].url == (tmp_path / "sub" / "feeds" / "a.xml").as_uri()


def test_rule_without_notify_goes_to_every_target(tmp_path: Path) -> None:
    """A rule without ``notify`` notifies every target; with it, only those named."""
    path = tmp_path / "w.toml"
    path.write_text(
        '[[rules]]\nname = "a"\nkeywords = ["x"]\n'
        '[[rules]]\nname = "b"\nkeywords = ["y"]\nnotify = ["slack"]\n'
        '[targets.desk]\nurl = "mailto://127.0.0.1"\n[targets.slack]\nurl = "slack://A/B/C"\n'
    )
    config = load_config(path, {})
    assert config.targets_for(config.rules[0]) == ("desk", "slack")
    assert config.targets_for(config.rules[1]) == ("slack",)


@pytest.mark.parametrize("name", ["watcher.toml", "offline.toml"])
def test_shipped_configs_load(name: str) -> None:
    """The configs in config/ are valid; the main one covers the four stories."""
    config = load_config(ROOT / "config" / name, {})
    assert {r.name for r in config.rules} == {"tiktok", "madrid-talks", "analog-chips", "tariffs"}
    assert config.feeds


def test_shipped_config_is_found_last(tmp_path: Path) -> None:
    """With no --config, no $WATCHER_CONFIG and no user or system file, the shipped one is used."""
    env = {"XDG_CONFIG_HOME": str(tmp_path)}
    found = find_config(None, env)
    assert found == shipped_config() or found == Path("/etc/feed-watcher/watcher.toml")
    assert shipped_config().is_file()


def test_config_search_order(tmp_path: Path) -> None:
    """--config first, then $WATCHER_CONFIG, then the user's config directory."""
    user = tmp_path / "feed-watcher" / "watcher.toml"
    user.parent.mkdir()
    user.write_text("")
    env = {"XDG_CONFIG_HOME": str(tmp_path)}
    assert find_config(None, env) == user
    assert find_config(None, {**env, "WATCHER_CONFIG": "/x.toml"}) == Path("/x.toml")
    assert find_config("/y.toml", {**env, "WATCHER_CONFIG": "/x.toml"}) == Path("/y.toml")


def test_default_database_location(tmp_path: Path) -> None:
    """systemd's $STATE_DIRECTORY wins; else $XDG_STATE_HOME/feed-watcher."""
    assert default_database_url({"STATE_DIRECTORY": str(tmp_path / "s")}) == (
        f"sqlite:///{tmp_path / 's' / 'watcher.db'}"
    )
    assert default_database_url({"XDG_STATE_HOME": str(tmp_path / "x")}) == (
        f"sqlite:///{tmp_path / 'x' / 'feed-watcher' / 'watcher.db'}"
    )
    assert (tmp_path / "x" / "feed-watcher").is_dir()


def test_targets_can_subscribe_to_some_rules(tmp_path: Path) -> None:
    """A target's ``rules`` limits what it hears; an unknown rule there is an error."""
    path = tmp_path / "w.toml"
    path.write_text(
        '[[rules]]\nname = "a"\nkeywords = ["x"]\n'
        '[[rules]]\nname = "b"\nkeywords = ["y"]\n'
        '[targets.desk]\nurl = "mailto://127.0.0.1"\n'
        '[targets.slack]\nurl = "slack://A/B/C"\nrules = ["b"]\n'
    )
    config = load_config(path, {})
    assert config.targets_for(config.rules[0]) == ("desk",)
    assert config.targets_for(config.rules[1]) == ("desk", "slack")
    found = problems(tmp_path, path.read_text().replace('rules = ["b"]', 'rules = ["c"]'))
    assert found == ["targets.slack.rules: unknown rule 'c'"]


def test_every_problem_is_reported_in_one_run(tmp_path: Path, run_cli: Cli) -> None:
    """Mistakes of every kind (structure, a query, a rule naming an unknown target, an unset
    variable, an apprise URL nobody understands) are all listed by one check-config, each
    located by file and key; the parts that were valid were still checked."""
    path = tmp_path / "w.toml"
    path.write_text(
        '[watcher]\ninterval = "soon"\ncolour = "blue"\n'
        '[[feeds]]\nurl = "ftp://example.org/feed"\n'
        '[[feeds]]\nurl_env = "NO_SUCH_FEED_VARIABLE"\n'
        '[[rules]]\nname = "broken"\nquery = "TikTok AND ("\n'
        '[[rules]]\nname = "lost"\nquery = "tariffs"\nnotify = ["nobody"]\n'
        '[[rules]]\nname = "fine"\nquery = "chips"\nnotify = ["bad-mode"]\n'
        '[targets.nonsense]\nurl = "notaservice://x"\n'
        '[targets.bad-mode]\nurl = "json://127.0.0.1:9/x"\nmode = "sometimes"\n'
    )
    result = run_cli("check-config", "--config", str(path))
    assert result.exit_code == 2
    problems = [line for line in result.stderr.splitlines() if line.startswith(f"{path}: ")]
    keys = [line.removeprefix(f"{path}: ").split(":")[0] for line in problems]
    assert keys == [
        "watcher.interval",
        "watcher.colour",
        "feeds[0].url",
        "targets.bad-mode.mode",
        "feeds[1].url_env",
        "rules[1].notify",
        "rules[0].query",
        "targets.nonsense.url",
    ]
    # A rule that names a target which is declared but invalid is not told it is unknown.
    assert "rules[2]" not in result.stderr
