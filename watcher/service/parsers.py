"""The parser processes a cycle hands documents to: made for a large enough one-shot cycle, or
kept across a daemon's cycles and replaced between two of them after RECYCLE_AFTER documents
or a crash, so that whatever long-lived parsers (libxml2, feedparser) keep is handed back."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from watcher.core.analysis import Parser, ReadFeed, ReadRequest, read_in_worker
from watcher.core.errors import ParseError, ParserGone
from watcher.core.matching.matcher import Matcher
from watcher.ports import ParsePool

POOL_FROM = 8  # feeds in a cycle from which a one-shot run parses in worker processes
# A daemon's parser processes live across cycles and are replaced, between two cycles, after
# this many documents: whatever a long-lived parser (libxml2, feedparser) keeps is handed back.
RECYCLE_AFTER = 2_000
PARSE_TIMEOUT = 60.0  # seconds one document may take in a worker process


class Parsers:
    """``make`` builds worker processes, each given the matcher when it starts (None: parse
    in this process). ``keep`` (the daemon): one pool for every cycle, every document parsed
    there, never in this long-lived process, whose native heap would keep what the parsers
    allocated."""

    def __init__(
        self,
        make: Callable[[Matcher], ParsePool] | None,
        matcher: Matcher,
        parser: Parser,
        keep: bool,
    ) -> None:
        self.make = make
        self.matcher = matcher
        self.parser = parser
        self.keep = keep
        self._pool: ParsePool | None = None
        self._parsed = 0  # documents sent to the kept pool since it was made
        self._broken = False  # a parser process died: the kept pool is replaced after the cycle

    def for_cycle(self, feeds: int) -> ParsePool | None:
        """The parser processes for a cycle of ``feeds`` feeds (None: parse here)."""
        if self.make is None:
            return None
        if self.keep:
            if self._pool is None:
                self._pool = self.make(self.matcher)
            # The daemon's processes live on: they start while the first feeds are fetched.
            # A one-shot run starts them for its first document, if any (a round of 304s
            # needs none: 26 MB of PSS and 0.4 s of CPU saved).
            self._pool.warm()
            return self._pool
        return self.make(self.matcher) if feeds >= POOL_FROM else None

    def cycle_over(self, pool: ParsePool | None) -> None:
        if pool is None:
            return
        if not self.keep:
            pool.close()
        elif self._broken or self._parsed >= RECYCLE_AFTER:
            # Between cycles nothing is in flight: the processes end and the next cycle
            # starts new ones.
            self.close()

    def close(self) -> None:
        if self._pool is not None:
            self._pool.close()
            self._pool, self._parsed, self._broken = None, 0, False

    async def read(self, pool: ParsePool, request: ReadRequest) -> ReadFeed | ParseError:
        """Parse (and analyse) one document in a worker process; what went wrong, as the
        feed's ParseError."""
        self._parsed += 1
        try:
            async with asyncio.timeout(PARSE_TIMEOUT):  # no task of its own, unlike wait_for
                return await pool.run(read_in_worker, self.parser, request)
        except ParseError as exc:
            return exc
        except TimeoutError:
            return ParseError(request.url, f"took more than {PARSE_TIMEOUT:g}s to parse")
        except (ParserGone, MemoryError):
            self._broken = True
            return ParseError(request.url, "the parser ran out of memory or crashed on it")
