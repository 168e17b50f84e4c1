"""Notifications through apprise: email to a real SMTP server, Slack intercepted at the HTTP
layer (requests, which apprise uses), retries that never drop a delivery, and secrets that
never reach logs or output."""

from __future__ import annotations

import asyncio
import itertools
import json
import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import responses
from aiosmtpd.controller import Controller
from click.testing import Result

from tests.conftest import SmtpSink, free_port, write_config
from tests.servers import FeedServer, rss
from watcher.app import open_app
from watcher.config.load import load_config
from watcher.core.errors import ConfigError
from watcher.core.model import Delivering, Entry, FetchResult, Hit, Match, NewItem
from watcher.core.redact import Redactor
from watcher.core.settings import Config, Templates
from watcher.daemon.loop import run_once
from watcher.parsing import parse_when_needed
from watcher.service.cycle import Service

SLACK_URL = "slack://T1JJ3T3L2/A1BRTD4JD/TIiajkdnlazkcOXrIdevi7"
SLACK_HOOK = "https://hooks.slack.com/services/T1JJ3T3L2/A1BRTD4JD/TIiajkdnlazkcOXrIdevi7"
SLACK_SECRETS = ("A1BRTD4JD", "TIiajkdnlazkcOXrIdevi7", "T1JJ3T3L2")
ITEM = ("g1", "TikTok &lt;b&gt;deal&lt;/b&gt; near", "ByteDance &amp; Oracle &lt;talk&gt;")
Cli = Callable[..., Result]


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2025, 9, 15, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


def test_slack_payload(tmp_path: Path, feed_server: FeedServer, run_cli: Cli) -> None:
    """The exact JSON apprise posts to Slack for one match: Slack markdown with the matched
    word in bold, feed markup reduced to text and what remains escaped for Slack; headline,
    link, source and rule are all there."""
    url = feed_server.serve("/f.xml", rss("Wire", [ITEM]))
    config = write_config(tmp_path / "w.toml", [url], {"tiktok": ["TikTok"]}, {"slack": SLACK_URL})
    with responses.RequestsMock() as mock:
        mock.add(responses.POST, SLACK_HOOK, body="ok")
        result = run_cli("run", "--once", "--config", str(config))
        assert result.exit_code == 0, result.output
        [call] = mock.calls
    payload = json.loads(call.request.body or b"")
    attachment = payload["attachments"][0]
    assert isinstance(attachment.pop("ts"), float)
    assert payload == {
        "mrkdwn": True,
        "attachments": [
            {
                "title": "[tiktok] TikTok deal near",
                "text": "*TikTok* deal near\nhttps://news.example/g1\n\nSource: Wire\n"
                "Published: 2025-09-15 10:00 UTC\nRule: tiktok (matched: TikTok)\n\n"
                "ByteDance &amp; Oracle",
                "color": "#3AA3E3",
                "footer_icon": payload["icon_url"],
                "footer": "Apprise",
            }
        ],
        "icon_url": payload["icon_url"],
    }


def test_failed_delivery_is_retried_and_arrives_once(
    tmp_path: Path, feed_server: FeedServer
) -> None:
    """With the SMTP server down, the delivery stays pending with the reason; once the server
    is up and the backoff has passed, it arrives exactly once."""
    port = free_port()
    sink = SmtpSink(port=port)
    url = feed_server.serve("/f.xml", rss("Wire", [ITEM]))
    config = load_config(
        write_config(tmp_path / "w.toml", [url], {"tiktok": ["TikTok"]}, {"desk": sink.url()}), {}
    )
    clock = Clock()
    app = open_app(config, Redactor(), clock=clock)
    report = asyncio.run(run_once(app))
    app.close()
    assert (report.delivered, report.delivery_failures) == (0, 1)
    [(status, attempts, error)] = deliveries(tmp_path / "w.db")
    assert (status, attempts) == ("pending", 1) and error

    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        assert deliver(config, clock) == 0  # the backoff has not passed yet
        clock.now += timedelta(minutes=1)
        assert deliver(config, clock) == 1
        assert deliver(config, clock) == 0
    finally:
        controller.stop()
    assert len(sink.messages) == 1
    assert deliveries(tmp_path / "w.db") == [("sent", 2, None)]


def test_refused_delivery_ends_failed_after_the_last_attempt(
    tmp_path: Path, feed_server: FeedServer, smtp_server: SmtpSink
) -> None:
    """A server that refuses every message: retried with backoff, then marked failed (kept,
    with the reason), never silently dropped."""
    smtp_server.code = "550 mailbox unavailable"
    url = feed_server.serve("/f.xml", rss("Wire", [ITEM]))
    config = load_config(
        write_config(
            tmp_path / "w.toml", [url], {"tiktok": ["TikTok"]}, {"desk": smtp_server.url()}
        ),
        {},
    )
    clock = Clock()
    app = open_app(config, Redactor(), clock=clock)
    asyncio.run(run_once(app))
    app.close()
    for _ in range(12):
        clock.now += timedelta(hours=2)
        deliver(config, clock)
    [(status, attempts, error)] = deliveries(tmp_path / "w.db")
    assert (status, attempts) == ("failed", 10)
    assert error


def test_secrets_never_reach_output(tmp_path: Path, feed_server: FeedServer, run_cli: Cli) -> None:
    """Failing Slack, email and JSON targets, with the most verbose logging: no password or
    token appears on stdout, stderr, in check-config, or in the stored errors."""
    url = feed_server.serve("/f.xml", rss("Wire", [ITEM]))
    config = write_config(
        tmp_path / "w.toml",
        [url],
        {"tiktok": ["TikTok"]},
        {
            "slack": SLACK_URL,
            "mail": "mailtos://user:s3cr3tpass@smtp.example.org?to=a@b.example",
            "hook": f"json://bot:hookpass99@127.0.0.1:{free_port()}/in?token=abcd1234efgh",
        },
    )
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.add(responses.POST, SLACK_HOOK, body=f"invalid_token {SLACK_HOOK}", status=403)
        result = run_cli("run", "--once", "-vvv", "--config", str(config))
    checked = run_cli("check-config", "--config", str(config))
    assert checked.exit_code == 0
    assert "slack://T***/A***/T***" in checked.stdout
    assert "mailtos://user:****@smtp.example.org?to=a@b.example" in checked.stdout
    assert "json://bot:****@127.0.0.1:" in checked.stdout and "token=****" in checked.stdout
    with sqlite3.connect(tmp_path / "w.db") as conn:
        stored = " ".join(str(row) for row in conn.execute("SELECT last_error FROM deliveries"))
    assert "failed" in result.stderr.lower()
    for secret in (*SLACK_SECRETS, "s3cr3tpass", "hookpass99", "abcd1234efgh"):
        for text in (result.stdout, result.stderr, checked.stdout, checked.stderr, stored):
            assert secret not in text


def test_notify_test_command(tmp_path: Path, smtp_server: SmtpSink, run_cli: Cli) -> None:
    """``watcher notify-test`` sends a test message; an unreachable target exits 1 with why."""
    config = write_config(
        tmp_path / "w.toml",
        [],
        targets={
            "desk": smtp_server.url(),
            "down": f"mailto://127.0.0.1:{free_port()}?from=w@example.org&to=x@example.org",
        },
    )
    ok = run_cli("notify-test", "desk", "--config", str(config))
    assert ok.exit_code == 0 and "desk: sent" in ok.stderr
    assert smtp_server.messages[0]["Subject"] == "feed-watcher test notification"
    both = run_cli("notify-test", "--config", str(config))
    assert both.exit_code == 1 and "down: FAILED" in both.stderr
    unknown = run_cli("notify-test", "nope", "--config", str(config))
    assert unknown.exit_code == 2 and "unknown target 'nope'" in unknown.stderr


def test_unusable_apprise_url_is_a_config_error(tmp_path: Path, run_cli: Cli) -> None:
    """A target URL apprise cannot parse is refused before anything is written."""
    config = write_config(tmp_path / "w.toml", [], targets={"desk": "nosuchscheme://x"})
    result = run_cli("run", "--once", "--config", str(config))
    assert result.exit_code == 2
    assert "targets.desk.url: apprise does not understand this URL" in result.stderr
    assert not (tmp_path / "w.db").exists()


def deliver(config: Config, clock: Clock) -> int:
    """One delivery pass at ``clock``'s time, by a fresh app, like successive ``run --once``
    from a timer: apprise's own throttle (5.5 s between messages to one target object) is then
    not in play."""
    app = open_app(config, Redactor(), clock=clock)

    async def go() -> int:
        async with app.fetcher() as fetcher:
            return app.service(fetcher).deliver().sent

    try:
        return asyncio.run(go())
    finally:
        app.close()


def deliveries(db: Path) -> list[tuple[str, int, str | None]]:
    with sqlite3.connect(db) as conn:
        return list(conn.execute("SELECT status, attempts, last_error FROM deliveries"))


def test_failed_deliveries_are_listed_and_requeued(
    tmp_path: Path, feed_server: FeedServer, smtp_server: SmtpSink, run_cli: Cli
) -> None:
    """A target's own retry settings: after its attempts the delivery is failed and listed
    with the reason; ``watcher deliveries retry`` re-queues it and it arrives once."""
    smtp_server.code = "550 mailbox unavailable"
    url = feed_server.serve("/f.xml", rss("Wire", [ITEM]))
    desk = {"url": smtp_server.url(), "retry_attempts": 2, "retry_backoff": "0s"}
    path = write_config(tmp_path / "w.toml", [url], {"tiktok": ["TikTok"]}, {"desk": desk})
    assert run_cli("run", "--once", "--config", str(path)).exit_code == 1
    pending = json.loads(run_cli("deliveries", "--format", "json", "--config", str(path)).stdout)
    assert [(d["status"], d["attempts"]) for d in pending] == [("pending", 1)]
    run_cli("run", "--once", "--config", str(path))
    failed = run_cli("deliveries", "--failed", "--format", "json", "--config", str(path))
    [item] = json.loads(failed.stdout)
    assert (item["status"], item["attempts"], item["target"]) == ("failed", 2, "desk")
    assert item["last_error"] == 'Sending email to "desk@example.org" failed.'
    assert "failed" in run_cli("deliveries", "--failed", "--config", str(path)).stdout

    smtp_server.code = "250 OK"
    requeued = run_cli("deliveries", "retry", "--all-failed", "--config", str(path))
    assert (requeued.exit_code, requeued.stdout) == (0, "re-queued 1 delivery\n")
    assert run_cli("run", "--once", "--config", str(path)).exit_code == 0
    assert len(smtp_server.messages) == 1
    assert json.loads(run_cli("deliveries", "--format", "json", "--config", str(path)).stdout) == []
    nothing = run_cli("deliveries", "retry", "--all-failed", "--config", str(path))
    assert nothing.exit_code == 1


def test_deliveries_to_a_removed_target_are_orphaned_once_and_can_come_back(
    tmp_path: Path, feed_server: FeedServer, smtp_server: SmtpSink, run_cli: Cli
) -> None:
    """A target taken out of the config while a delivery to it waits: on load its delivery is
    marked orphaned with the reason (once, not retried to exhaustion), listed with the failed
    ones, and re-queued by ``deliveries retry`` once the target is back."""
    smtp_server.code = "550 mailbox unavailable"
    url = feed_server.serve("/f.xml", rss("Wire", [ITEM]))
    path = write_config(
        tmp_path / "w.toml", [url], {"tiktok": ["TikTok"]}, {"desk": smtp_server.url()}
    )
    with_desk = path.read_text()
    assert run_cli("run", "--once", "--config", str(path)).exit_code == 1
    write_config(path, [url], {"tiktok": ["TikTok"]})
    first = run_cli("run", "--once", "--config", str(path))
    assert first.exit_code == 0, first.output
    assert "1 pending delivery to 'desk', which is no longer in the config" in first.stderr
    again = run_cli("run", "--once", "--config", str(path))
    assert "no longer in the config" not in again.stderr  # said once
    [item] = json.loads(
        run_cli("deliveries", "--failed", "--format", "json", "--config", str(path)).stdout
    )
    assert (item["status"], item["attempts"], item["target"]) == ("orphaned", 1, "desk")
    assert item["last_error"] == "target 'desk' is no longer in the config"
    status = run_cli("status", "--config", str(path)).stdout
    assert "desk: 0 pending, 0 failed, 1 orphaned (not in the config)" in status
    not_yet = run_cli("deliveries", "retry", "--all-failed", "--config", str(path))
    assert not_yet.exit_code == 1  # its target is still missing: it stays orphaned

    path.write_text(with_desk)
    smtp_server.code = "250 OK"
    requeued = run_cli("deliveries", "retry", "--all-failed", "--config", str(path))
    assert (requeued.exit_code, requeued.stdout) == (0, "re-queued 1 delivery\n")
    assert run_cli("run", "--once", "--config", str(path)).exit_code == 0
    assert len(smtp_server.messages) == 1


def test_a_failing_target_does_not_hold_back_another(
    tmp_path: Path, feed_server: FeedServer, smtp_server: SmtpSink, run_cli: Cli
) -> None:
    """Two targets, one down: the other receives its alerts in the same run; the down one's
    deliveries wait for their retry. (Two alerts: apprise waits 5.5 s between two messages to
    one target.)"""
    items = [(f"g{n}", f"TikTok update {n}", "text") for n in range(2)]
    url = feed_server.serve("/f.xml", rss("Wire", items))
    down = f"mailto://127.0.0.1:{free_port()}?from=w@example.org&to=x@example.org"
    path = write_config(
        tmp_path / "w.toml",
        [url],
        {"tiktok": ["TikTok"]},
        {"desk": smtp_server.url(), "down": down},
    )
    result = run_cli("run", "--once", "--config", str(path))
    assert "2 notifications sent, 1 failed" in result.stderr
    # Every feed was read, but a delivery failed: a timer must show the run as failed.
    assert result.exit_code == 1
    assert len(smtp_server.messages) == 2
    waiting = json.loads(run_cli("deliveries", "--format", "json", "--config", str(path)).stdout)
    assert {(d["target"], d["status"]) for d in waiting} == {("down", "pending")}
    assert [d["attempts"] for d in waiting] == [1, 0]


class VirtualTime:
    """A clock and a sleep that only move the clock: rate limits without real waiting."""

    def __init__(self) -> None:
        self.now = datetime(2025, 9, 15, 12, 0, tzinfo=UTC)
        self.slept: list[float] = []

    def clock(self) -> datetime:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += timedelta(seconds=seconds)


def slack_service(tmp_path: Path, extra: str, alerts: int, time: VirtualTime) -> Service:
    """A service whose store holds ``alerts`` pending Slack deliveries."""
    path = write_config(
        tmp_path / "w.toml", ["https://wire.example/rss"], {"tiktok": ["TikTok"], "tariffs": ["x"]}
    )
    with path.open("a") as config_file:
        config_file.write(f'[targets.slack]\nurl = "{SLACK_URL}"\n{extra}\n')
    config = load_config(path, {})
    app = open_app(config, Redactor(), clock=time.clock)
    no_fetcher: Any = None  # these tests deliver only
    service = Service(
        config,
        app.store,
        no_fetcher,
        app.notifiers,
        time.clock,
        parse_when_needed,
        sleep=time.sleep,
    )
    add_alerts(service, time, range(alerts))
    return service


def add_alerts(service: Service, time: VirtualTime, numbers: range, rule: str = "tiktok") -> None:
    """New matching entries, stored as a fetch would store them, each queued for Slack."""
    items = [
        NewItem(
            Entry(key=f"{rule}{n}", title=f"TikTok story {n}", link=f"https://wire.example/{n}"),
            (Match(rule, (Hit("TikTok", "title", 0, 6),)),),
        )
        for n in numbers
    ]
    service.store.entries.save_success(
        "https://wire.example/rss",
        FetchResult("https://wire.example/rss", 200, b""),
        "Wire",
        None,
        items,
        [],
        Delivering({rule: ["slack"]}),
        None,
        time.now,
    )


def test_rate_limit_spaces_messages(tmp_path: Path) -> None:
    """Slack's default rate, 1/s: three alerts leave one second apart (virtual clock)."""
    time = VirtualTime()
    service = slack_service(tmp_path, "", 3, time)
    seen: list[datetime] = []

    def record(request: Any) -> tuple[int, dict[str, str], str]:
        seen.append(time.now)
        return 200, {}, "ok"

    with responses.RequestsMock() as mock:
        mock.add_callback(responses.POST, SLACK_HOOK, callback=record)
        assert service.deliver().sent == 3
    assert [(b - a).total_seconds() for a, b in itertools.pairwise(seen)] == [1.0, 1.0]
    assert time.slept == [1.0, 1.0]


def test_burst_becomes_one_summary(tmp_path: Path) -> None:
    """More alerts due at once than max_burst: one summary message lists them all."""
    time = VirtualTime()
    service = slack_service(tmp_path, "max_burst = 3", 5, time)
    with responses.RequestsMock() as mock:
        mock.add(responses.POST, SLACK_HOOK, body="ok")
        report = service.deliver()
        [call] = mock.calls
    assert (report.sent, report.failed) == (5, 0)
    payload = json.loads(call.request.body or b"")
    assert payload["attachments"][0]["title"] == "[feed-watcher] 5 new matches (tiktok)"
    text = payload["attachments"][0]["text"]
    assert all(f"TikTok story {n}" in text for n in range(5))
    assert service.deliver().sent == 0


def test_render_shows_what_would_be_sent(tmp_path: Path, run_cli: Cli) -> None:
    """``notify-test TARGET --render`` prints a sample alert in the target's format and sends
    nothing (the SMTP port here is closed: sending would fail)."""
    down = f"mailto://127.0.0.1:{free_port()}?from=w@example.org&to=x@example.org"
    path = write_config(tmp_path / "w.toml", [], targets={"desk": down, "slack": SLACK_URL})
    result = run_cli("notify-test", "desk", "--render", "--config", str(path))
    assert result.exit_code == 0
    assert result.stdout.startswith("--- desk ---\n[tiktok] TikTok gets 90 more days")
    assert "<b>TikTok</b> gets 90 more days: <b>deadline</b> moves" in result.stdout
    slack = run_cli("notify-test", "slack", "--render", "--config", str(path)).stdout
    assert "**TikTok** gets 90 more days: **deadline** moves" in slack


def slack_texts(mock: responses.RequestsMock) -> list[str]:
    return [
        json.loads(call.request.body or b"")["attachments"][0]["title"]
        + "\n"
        + json.loads(call.request.body or b"")["attachments"][0]["text"]
        for call in mock.calls
    ]


def test_batch_mode_sends_at_most_once_per_period(tmp_path: Path) -> None:
    """mode = "batch", every = "10m": what is due goes out as one message, then nothing until
    the period has passed (virtual clock)."""
    time = VirtualTime()
    service = slack_service(tmp_path, 'mode = "batch"\nevery = "10m"', 3, time)
    with responses.RequestsMock() as mock:
        mock.add(responses.POST, SLACK_HOOK, body="ok")
        assert service.deliver().sent == 3
        time.now += timedelta(minutes=1)
        add_alerts(service, time, range(3, 5))
        assert service.deliver().sent == 0
        time.now += timedelta(minutes=9)
        assert service.deliver().sent == 2
        texts = slack_texts(mock)
    assert [text.split("\n")[0] for text in texts] == [
        "[feed-watcher] 3 new matches (tiktok)",
        "[feed-watcher] 2 new matches (tiktok)",
    ]
    assert "TikTok story 3" in texts[1] and "TikTok story 0" not in texts[1]


def test_digest_mode_on_its_schedule(tmp_path: Path) -> None:
    """mode = "digest" at 08:00 Madrid time: one message with every match since the last
    digest, grouped by rule with counts; an empty digest is not sent (virtual clock)."""
    time = VirtualTime()
    time.now = datetime(2025, 9, 15, 5, 0, tzinfo=UTC)  # 07:00 in Madrid (CEST)
    extra = 'mode = "digest"\nat = "08:00"\ntimezone = "Europe/Madrid"'
    service = slack_service(tmp_path, extra, 0, time)
    with responses.RequestsMock() as mock:
        mock.add(responses.POST, SLACK_HOOK, body="ok")
        assert service.deliver().sent == 0  # the first pass only starts the clock
        add_alerts(service, time, range(2))
        add_alerts(service, time, range(2, 3), rule="tariffs")
        time.now = datetime(2025, 9, 15, 5, 59, tzinfo=UTC)
        assert service.deliver().sent == 0
        time.now = datetime(2025, 9, 15, 6, 1, tzinfo=UTC)  # 08:01 in Madrid
        assert service.deliver().sent == 3
        time.now = datetime(2025, 9, 16, 6, 1, tzinfo=UTC)  # next day: nothing new
        assert service.deliver().sent == 0
        [text] = slack_texts(mock)
    assert text.splitlines()[0] == "[feed-watcher] digest: 3 stories"
    assert "tiktok (2)" in text and "tariffs (1)" in text
    assert text.index("tiktok (2)") < text.index("TikTok story 0") < text.index("tariffs (1)")


def test_next_digest_time() -> None:
    """The next digest falls at the next listed local time on a listed weekday, across time
    zones."""
    from datetime import time as dt_time

    from watcher.core.schedule import next_digest
    from watcher.core.settings import DigestSchedule

    madrid = DigestSchedule((dt_time(8), dt_time(18)), "Europe/Madrid", frozenset({0}))  # Mondays
    monday_7 = datetime(2025, 9, 15, 5, 0, tzinfo=UTC)
    assert next_digest(monday_7, madrid) == datetime(2025, 9, 15, 6, 0, tzinfo=UTC)
    assert next_digest(datetime(2025, 9, 15, 6, 0, tzinfo=UTC), madrid) == datetime(
        2025, 9, 15, 16, 0, tzinfo=UTC
    )
    assert next_digest(datetime(2025, 9, 15, 16, 0, tzinfo=UTC), madrid) == datetime(
        2025, 9, 22, 6, 0, tzinfo=UTC
    )


def test_target_templates(
    tmp_path: Path, feed_server: FeedServer, smtp_server: SmtpSink, run_cli: Cli
) -> None:
    """A target's own Jinja2 templates get values already escaped for the target's format."""
    url = feed_server.serve("/f.xml", rss("Wire &amp; Co", [ITEM]))
    desk = {
        "url": smtp_server.url(),
        "title_template": "{{ rule|upper }}: {{ title }}",
        "body_template": "<p>{{ headline }} ({{ source }})</p><p>{{ terms|join(', ') }}</p>",
    }
    path = write_config(tmp_path / "w.toml", [url], {"tiktok": ["TikTok"]}, {"desk": desk})
    assert run_cli("run", "--once", "--config", str(path)).exit_code == 0
    [message] = smtp_server.messages
    assert message["Subject"] == "TIKTOK: TikTok deal near"
    html = message.get_body(("html",))
    assert html is not None
    assert "<p><b>TikTok</b> deal near (Wire &amp; Co)</p><p>TikTok</p>" in html.get_content()


def test_templates_are_checked_and_sandboxed(tmp_path: Path, run_cli: Cli) -> None:
    """A template that does not compile is a config error naming the key; one that reaches for
    Python internals fails to render (the delivery fails with the reason, nothing runs)."""
    path = write_config(tmp_path / "w.toml", [], targets={"d": "json://127.0.0.1:9/x"})
    with path.open("a") as file:
        file.write('body_template = "{{ headline "\n')
    result = run_cli("check-config", "--config", str(path))
    assert result.exit_code == 2 and "targets.d.body_template:" in result.stderr

    from watcher.core.settings import Templates
    from watcher.render.templates import SAMPLE, TemplateProblem, render

    evil = Templates(body="{{ rule.__class__.__mro__[1].__subclasses__() }}")
    with pytest.raises(TemplateProblem):
        render(evil, SAMPLE, "text")


@pytest.mark.parametrize(
    ("template", "problem"),
    [
        ("{{ rule.__class__.__mro__ }}", "access to attribute '__class__'"),
        ("{% if updated %}{{ changes.__class__.__mro__ }}{% endif %}", "is unsafe"),
        ("{{ link.upper() if link else undefined_name() }}", "'undefined_name' is undefined"),
    ],
)
def test_a_template_the_sandbox_refuses_is_refused_with_the_config(
    tmp_path: Path, run_cli: Cli, template: str, problem: str
) -> None:
    """Templates are rendered against sample alerts (new, updated, bare) in every style when
    the config is read: check-config, run and a reload refuse the file, naming the target and
    the template, instead of the first delivery failing."""
    path = write_config(tmp_path / "w.toml", [], targets={"d": "json://127.0.0.1:9/x"})
    with path.open("a") as file:
        file.write(f"body_template = {json.dumps(template)}\n")
    for command in (["check-config"], ["run", "--once"], ["notify-test", "--render"]):
        result = run_cli(*command, "--config", str(path))
        assert result.exit_code == 2, (command, result.output)
        assert f"{path}: targets.d.body_template: " in result.stderr
        assert problem in result.stderr
    assert not (tmp_path / "w.db").exists()  # refused before anything was written

    good = write_config(tmp_path / "good.toml", [], targets={"d": "json://127.0.0.1:9/x"})
    app = open_app(load_config(good, {}), Redactor())
    try:
        good.write_text(path.read_text())
        with pytest.raises(ConfigError, match=r"targets\.d\.body_template"):
            app.reloaded()
    finally:
        app.close()


def test_notify_test_render_reports_a_failing_template_and_goes_on(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A target whose template fails at render time (it passed the check at load but data
    made it fail) is that target's error; the other targets are still rendered."""
    from watcher.adapters.notify import AppriseNotifier
    from watcher.cli.notify_test import render_samples

    evil = Templates(body="{{ rule.__class__.__mro__ }}")
    notifiers = {
        "bad": AppriseNotifier("bad", "json://127.0.0.1:9/x", Redactor(), evil),
        "good": AppriseNotifier("good", "json://127.0.0.1:9/y", Redactor()),
    }
    assert render_samples(notifiers, None) == 1
    out, err = capsys.readouterr()
    assert "bad: FAILED: template: access to attribute '__class__'" in err
    assert "--- good ---\n[tiktok] TikTok gets 90 more days" in out


def test_three_hundred_old_matches_make_at_most_one_summary(
    tmp_path: Path, feed_server: FeedServer, run_cli: Cli
) -> None:
    """A new feed list with 300 matching entries: nothing as backlog; told about the backlog
    anyway (notify_backlog), the target gets one summary, not 300 messages."""
    items = [(f"g{n}", f"TikTok item {n}", "x") for n in range(300)]
    url = feed_server.serve("/f.xml", rss("Wire", items))
    for backlog, expected in ((False, 0), (True, 1)):
        work = tmp_path / str(backlog)
        work.mkdir()
        path = write_config(
            work / "w.toml", [url], {"tiktok": ["TikTok"]}, {"slack": SLACK_URL},
            notify_backlog=backlog,
        )  # fmt: skip
        with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
            mock.add(responses.POST, SLACK_HOOK, body="ok")
            assert run_cli("run", "--once", "--config", str(path)).exit_code == 0
            assert len(mock.calls) == expected
            if expected:
                title = json.loads(mock.calls[0].request.body or b"")["attachments"][0]["title"]
                assert title == "[feed-watcher] 300 new matches (tiktok)"
        digest = json.loads(run_cli("digest", "--format", "json", "--config", str(path)).stdout)
        assert len(digest["stories"]) == 300
