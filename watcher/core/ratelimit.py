"""A request-rate limit per client: a token bucket each, in a table of bounded size."""

from __future__ import annotations

import threading
from collections import OrderedDict


class RateLimit:
    """``rate`` requests a second per client, in bursts of up to ``burst``. At most
    ``clients`` buckets are kept (the least recently seen go first), so a flood from many
    addresses costs bounded memory; a forgotten client starts again with a full bucket."""

    def __init__(self, rate: float, burst: int, clients: int = 4096) -> None:
        self.rate, self.burst, self.clients = rate, burst, clients
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()  # tokens, at
        self._lock = threading.Lock()  # the listener answers each request in its own thread

    def allow(self, client: str, now: float) -> float:
        """0 if ``client`` may make a request at ``now`` (seconds, monotonic), which is then
        counted; else how many seconds until it may."""
        with self._lock:
            tokens, at = self._buckets.pop(client, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + (now - at) * self.rate)
            wait = 0.0 if tokens >= 1 else (1 - tokens) / self.rate
            self._buckets[client] = (tokens - 1 if not wait else tokens, now)
            while len(self._buckets) > self.clients:
                self._buckets.popitem(last=False)
            return wait
