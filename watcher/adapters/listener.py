"""The optional HTTP listener (``[watcher] http``): ``/healthz`` for load balancers and
uptime checks, ``/metrics`` for Prometheus, and everything else handed to the site (the
matches' feeds and the digest page, ``watcher.service.site``).

It runs in its own threads, so it answers even while the event loop is busy or stuck; that
is the point of a health check. Requests are logged without their query (it may hold the
access token).
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Iterable
from http import HTTPStatus
from socketserver import ThreadingMixIn
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from watcher.core.health import Health
from watcher.ports import Site, WebRequest

if TYPE_CHECKING:
    from wsgiref.types import StartResponse, WSGIApplication, WSGIEnvironment

log = logging.getLogger(__name__)
_IDLE = 30  # seconds a connection may stay silent before it is closed (slow clients)


class _Server(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    timeout = _IDLE

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        method, _, rest = self.requestline.partition(" ")
        path = rest.split(" ", 1)[0].split("?", 1)[0]
        log.debug("http %s %s %s from %s", method, path, code, self.client_address[0])

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("http: %s", format % args)


class Listener:
    """Serves ``/healthz``, ``/metrics`` and the site on ``address`` until closed."""

    def __init__(
        self,
        address: tuple[str, int],
        health: Health,
        metrics: WSGIApplication,
        site: Site,
    ) -> None:
        self._health, self._metrics, self._site = health, metrics, site
        host, port = address
        self._server = make_server(
            host, port, self._app, server_class=_Server, handler_class=_QuietHandler
        )
        self.port = self._server.server_port
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="http-listener", daemon=True
        )
        self._thread.start()
        log.info(
            "serving the matches' feeds, /healthz and /metrics on http://%s:%d", host, self.port
        )

    def _app(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path == "/metrics":
            metrics: Iterable[bytes] = self._metrics(environ, start_response)
            return metrics
        if path == "/healthz":
            healthy, body = self._health.check(time.monotonic())
            status = "200 OK" if healthy else "503 Service Unavailable"
            payload = json.dumps(body).encode()
            start_response(status, [("Content-Type", "application/json")])
            return [payload]
        response = self._site(_request(environ))
        code = HTTPStatus(response.status)
        headers = [*response.headers]
        if response.status != 304:
            headers.append(("Content-Length", str(len(response.body))))
        start_response(f"{code.value} {code.phrase}", headers)
        return [] if environ["REQUEST_METHOD"] == "HEAD" else [response.body]

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


def _request(environ: WSGIEnvironment) -> WebRequest:
    # WSGI hands the path over as the bytes received, each read as one latin-1 character.
    raw = environ.get("PATH_INFO", "").encode("latin-1")
    query = parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True)
    return WebRequest(
        method=environ["REQUEST_METHOD"],
        path=raw.decode("utf-8", errors="replace"),
        query={name: values[0] for name, values in query.items()},
        headers={
            key[5:].replace("_", "-").lower(): value
            for key, value in environ.items()
            if key.startswith("HTTP_") and isinstance(value, str)
        },
        client=environ.get("REMOTE_ADDR", ""),
    )
