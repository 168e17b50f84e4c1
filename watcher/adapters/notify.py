"""Sending alerts: through apprise (the only module that imports it), or to the console.

apprise is imported when a target is first built, not with this module: it costs a one-shot
``watcher run --once`` with no targets about 60 ms of its start-up.

One ``Apprise`` object per target, so each target's result is known on its own. apprise's
``notify()`` does not raise: it returns a result that is false on any failure, whose log lines
say why. It logs tokens at DEBUG and passwords at TRACE, so its logger is kept at INFO or above.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, TextIO

from watcher.core.errors import DeliveryError
from watcher.core.model import Alert
from watcher.core.redact import Redactor
from watcher.core.settings import Templates
from watcher.render.alerts import (
    Style,
    format_alert_line,
    format_digest_body,
    format_digest_title,
    format_summary_body,
    format_summary_title,
)
from watcher.render.templates import TemplateProblem, render

if TYPE_CHECKING:
    import apprise

CONSOLE = "console"  # the target name used when the config has no targets
_apprise_logger = logging.getLogger("apprise")
_apprise_logger.setLevel(max(logging.INFO, _apprise_logger.getEffectiveLevel()))


def url_is_valid(url: str) -> bool:
    """Whether apprise understands the URL (it returns False from ``add()`` when not)."""
    return bool(_apprise().add(url))


def _apprise() -> apprise.Apprise:
    import apprise

    # No disk cache: under systemd's ProtectHome and friends there is nowhere to write it.
    return apprise.Apprise(asset=apprise.AppriseAsset(storage_mode="memory"))


# How each kind of target is written to: email gets HTML (bold highlights), Slack gets
# Markdown (apprise turns **x** into Slack's *x*), everything else plain text.
_STYLES: dict[str, Style] = {"mailto": "html", "mailtos": "html", "slack": "slack"}
_FORMATS = {"html": "html", "slack": "markdown", "text": "text"}  # apprise's NotifyFormat


class AppriseNotifier:
    """Delivers to one apprise URL; failures become DeliveryError with a secret-free reason."""

    def __init__(
        self, name: str, url: str, redactor: Redactor, templates: Templates | None = None
    ) -> None:
        self.name = name
        self.templates = templates or Templates()
        self._redact = redactor
        self._apprise = _apprise()
        self.style: Style = _STYLES.get(url.split(":", 1)[0].lower(), "text")
        if not self._apprise.add(url):
            raise DeliveryError(name, "apprise does not understand this URL")
        for service in self._apprise:
            # apprise sleeps 5.5 s between two messages to one service; the target's own rate
            # (see watcher.service) paces deliveries instead.
            service.request_rate_per_sec = 0

    def render(self, alert: Alert) -> tuple[str, str]:
        try:
            return render(self.templates, alert, self.style)
        except TemplateProblem as exc:
            raise DeliveryError(self.name, f"template: {exc}") from None

    def send(self, alert: Alert) -> None:
        self._notify(*self.render(alert), _FORMATS[self.style])

    def send_summary(self, alerts: Sequence[Alert]) -> None:
        self._notify(
            format_summary_title(alerts),
            format_summary_body(alerts, self.style),
            _FORMATS[self.style],
        )

    def send_digest(self, alerts: Sequence[Alert]) -> None:
        self._notify(
            format_digest_title(alerts),
            format_digest_body(alerts, self.style),
            _FORMATS[self.style],
        )

    def send_message(self, title: str, body: str) -> None:
        self._notify(title, body, "text")

    def _notify(self, title: str, body: str, body_format: str) -> None:
        try:
            result = self._apprise.notify(title=title, body=body, body_format=body_format)
        except Exception as exc:  # apprise should not raise; if a plugin does, we retry later
            raise DeliveryError(self.name, self._redact(f"{type(exc).__name__}: {exc}")) from None
        if not result:
            raise DeliveryError(self.name, self._redact(_reason(result)))


def _reason(result: object) -> str:
    """The warning and error lines apprise captured, or a generic reason."""
    logs = getattr(result, "logs", None)
    lines: list[str] = []
    if callable(logs):
        lines = [
            entry.message
            for entry in logs()
            if getattr(entry, "level", "") in ("WARNING", "ERROR", "CRITICAL")
        ]
    return "; ".join(dict.fromkeys(lines)) or "the target did not accept the message"


class ConsoleNotifier:
    """Prints one line per alert: what a config without targets gets."""

    name = CONSOLE

    def __init__(self, stream: TextIO | None = None) -> None:
        self._stream = stream

    def render(self, alert: Alert) -> tuple[str, str]:
        return format_alert_line(alert), ""

    def send(self, alert: Alert) -> None:
        self.send_message(*self.render(alert))

    def send_summary(self, alerts: Sequence[Alert]) -> None:
        self.send_message(format_summary_title(alerts), format_summary_body(alerts))

    def send_digest(self, alerts: Sequence[Alert]) -> None:
        self.send_message(format_digest_title(alerts), format_digest_body(alerts))

    def send_message(self, title: str, body: str) -> None:
        stream = self._stream or sys.stdout
        print(title, file=stream)
        if body:
            print(body, file=stream)
        stream.flush()
