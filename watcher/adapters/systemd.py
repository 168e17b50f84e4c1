"""What systemd expects back from a service: the sd_notify datagrams (READY, STATUS, WATCHDOG,
RELOADING, STOPPING), within the watchdog period it sets.

The notify protocol is one datagram per message on the AF_UNIX socket named by
``$NOTIFY_SOCKET`` (a leading ``@`` names the abstract namespace), so libsystemd is not needed.
Without ``$NOTIFY_SOCKET`` (a terminal, a test, a plain ``Type=exec`` unit) every call is a
no-op.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from collections.abc import Mapping

log = logging.getLogger(__name__)


class SystemdNotifier:
    """Sends sd_notify messages; silent when the service was not started by systemd."""

    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        env = os.environ if environ is None else environ
        address = env.get("NOTIFY_SOCKET", "")
        self._address = "\0" + address[1:] if address.startswith("@") else address
        self._socket: socket.socket | None = None
        if self._address:
            self._socket = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
        self.watchdog = watchdog_period(env)

    @property
    def enabled(self) -> bool:
        return self._socket is not None

    def notify(self, *fields: str) -> None:
        """Send ``fields`` (``"READY=1"``, ``"STATUS=…"``) as one message. A failure is
        logged, never raised: systemd going away must not take the daemon down with it."""
        if self._socket is None:
            return
        message = "\n".join(field.replace("\n", " ") for field in fields).encode()
        try:
            self._socket.sendto(message, self._address)
        except OSError as exc:
            log.warning("cannot notify systemd at %s: %s", self._address.lstrip("\0"), exc)

    def ready(self, status: str | None = None) -> None:
        self.notify("READY=1", *([f"STATUS={status}"] if status else []))

    def status(self, text: str) -> None:
        self.notify(f"STATUS={text}")

    def reloading(self) -> None:
        # systemd ≥ 253 (Type=notify-reload) wants the monotonic time to match the reload.
        usec = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
        self.notify("RELOADING=1", f"MONOTONIC_USEC={usec}")

    def stopping(self) -> None:
        self.notify("STOPPING=1")

    def heartbeat(self) -> None:
        self.notify("WATCHDOG=1")

    def close(self) -> None:
        if self._socket is not None:
            self._socket.close()
            self._socket = None


def watchdog_period(environ: Mapping[str, str]) -> float | None:
    """Seconds within which systemd expects ``WATCHDOG=1`` (None: no watchdog). As in
    sd_watchdog_enabled(3), ``$WATCHDOG_PID``, when set, must be this process."""
    usec = environ.get("WATCHDOG_USEC", "")
    pid = environ.get("WATCHDOG_PID", "")
    if not usec.isdigit() or int(usec) == 0:
        return None
    if pid and pid != str(os.getpid()):
        return None
    return int(usec) / 1_000_000
