"""One cycle: fetch the due feeds → parse → identify → match → store → queue deliveries, then
(unless the caller delivers on its own) the delivery pass (``service.delivery``).

The service only talks to ports (``watcher.ports``); it never imports httpx, SQLAlchemy or
apprise. A feed's failure is that feed's outcome; the cycle always completes.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta

from watcher.core.analysis import (
    Analysis,
    Parser,
    ReadFeed,
    ReadRequest,
    Source,
    analyse,
    prepare,
)
from watcher.core.errors import FeedError, FetchError, ParseError, WriteConflict
from watcher.core.matching.matcher import Matcher
from watcher.core.model import (
    Alert,
    Clustering,
    CycleReport,
    Delivering,
    DeliveryReport,
    Entry,
    FeedOutcome,
    FeedSave,
    FeedSchedule,
    FetchResult,
    QuietFetch,
    Validators,
)
from watcher.core.schedule import (
    after_failure,
    after_success,
)
from watcher.core.settings import Config, Feed, Rule
from watcher.core.triage import Triage, backlog_test, never, triage
from watcher.ports import Clock, Fetcher, MoreFeeds, Notifier, ParsePool, Store
from watcher.service.delivery import Delivery
from watcher.service.flow import Flow
from watcher.service.parsers import POOL_FROM, Parsers
from watcher.service.writer import GROUP, GroupWriter, Job, QuietFetches, Sorted

log = logging.getLogger("watcher.service")  # the name operators filter the journal by
_CONFLICT_RETRIES = 3  # a group's transaction is tried this often before feeds go one by one
_IN_FLIGHT = 2 * GROUP  # feeds fetched but not yet written, at most
MOVE_AFTER = 3  # fetches in a row permanently redirected to one place before the feed moves


class Service:
    """Runs cycles and deliveries for one config."""

    def __init__(
        self,
        config: Config,
        store: Store,
        fetcher: Fetcher,
        notifiers: Mapping[str, Notifier],
        clock: Clock,
        parser: Parser,
        sleep: Callable[[float], None] = time.sleep,
        after_send: Callable[[Alert], None] | None = None,
        parse_pool: Callable[[Matcher], ParsePool] | None = None,
        keep_pool: bool = False,
    ) -> None:
        self.config = config
        self.store = store
        self.fetcher = fetcher
        self.notifiers = notifiers
        self.clock = clock
        self.matcher = Matcher(config.rules)
        self.delivering = Delivering(
            {rule.name: self._targets_of(rule) for rule in config.rules},
            frozenset(rule.name for rule in config.rules if "changed" in rule.notify_on),
        )
        self._last_bodies: dict[str, str | None] = {}  # feed URL → hash of its last body
        self._schedules: dict[str, FeedSchedule] = {}  # feed URL → failures, next fetch
        self._quiet = QuietFetches(store.feeds.save_quiet)
        # Set when stopping: no fetch starts, and senders finish the message in hand.
        self.halt = threading.Event()
        self.on_progress: Callable[[], None] | None = None  # after each feed's outcome
        self.delivery = Delivery(config, store, notifiers, clock, sleep, after_send, self.halt)
        self.parsers = Parsers(parse_pool, self.matcher, parser, keep_pool)
        # The single writer: one thread for the service's life, not a new one each cycle.
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="writer")
        self.clustering = (
            Clustering(config.cluster_threshold, config.cluster_window)
            if config.clustering
            else None
        )

    def deliver(self) -> DeliveryReport:
        """Send what is due to every target, one after another."""
        return self.delivery.deliver()

    async def deliver_concurrently(self) -> DeliveryReport:
        """Send what is due, each target in a thread of its own."""
        return await self.delivery.deliver_concurrently()

    def _targets_of(self, rule: Rule) -> tuple[str, ...]:
        return self.config.targets_for(rule) if self.config.targets else tuple(self.notifiers)

    async def run_cycle(
        self, feeds: Sequence[Feed], deliver: bool = True, more: MoreFeeds | None = None
    ) -> CycleReport:
        """Fetch ``feeds`` concurrently and process each as it arrives, then (unless the caller
        delivers on its own) deliver. ``more``: asked for further feeds whenever those given
        are all under way, until it gives none (a steady flow: a slow feed holds up no other)."""
        validators: dict[str, Validators] = {}
        self._schedules = {}
        self._read_state(feeds, validators)
        limit = asyncio.Semaphore(self.config.concurrency)

        async def fetch(feed: Feed) -> tuple[Feed, FetchResult | FetchError | None]:
            # A feed that moved for good is fetched where it went; its URL stays its name.
            location = self._schedule(feed).moved_to or feed.url
            async with limit:
                if self.halt.is_set():  # stopping: a feed not yet fetched stays due
                    return feed, None
                try:
                    validator = validators.get(feed.url)
                    return feed, await self.fetcher.fetch(location, validator, feed.access)
                except FetchError as exc:
                    return feed, exc

        loop = asyncio.get_running_loop()
        # Parse in worker processes, on every core. One thread writes, so the event loop keeps
        # fetching meanwhile and the database sees a single writer.
        pool = self.parsers.for_cycle(len(feeds) if more is None else len(feeds) + POOL_FROM)
        writer = self._writer

        async def handle(feed: Feed, fetched: FetchResult | FetchError) -> FeedOutcome:
            if (
                isinstance(fetched, FetchResult)
                and fetched.not_modified
                and not self._redirect_news(feed, fetched)
            ):
                # Most fetches: no parsing, no database work of its own (recorded in a batch).
                return self._quietly(feed, fetched, "not-modified")
            parsed = await self._parse_elsewhere(pool, feed, fetched) if pool else None
            return await writing.write((feed, fetched, parsed))

        async def one(feed: Feed) -> FeedOutcome | None:
            feed, fetched = await fetch(feed)
            outcome = None if fetched is None else await handle(feed, fetched)
            if self.on_progress is not None:
                self.on_progress()
            return outcome

        # Back-pressure: when writing is the slowest step (a round where everything is new), at
        # most so many feeds are between fetched and written, so memory does not grow with the
        # number of feeds: that many runners take them in turn (a task for every feed, all made
        # at once, would itself grow with them: 8 MB for 5,000 feeds).
        results: dict[int, FeedOutcome | Exception | None] = {}

        async def work(place: int, feed: Feed) -> None:
            try:
                results[place] = await one(feed)
            except Exception as exc:  # raised below, once every feed has run
                results[place] = exc

        recording: list[asyncio.Future[None]] = []  # quiet fetches recorded as the flow goes

        async def more_feeds() -> Sequence[Feed]:
            assert more is not None
            if self._quiet:  # ends their leases; not waited for (the writer may be busy)
                taken = self._quiet.taken()
                recording.append(loop.run_in_executor(writer, self._quiet.record, taken))
            added = await more()
            if added:
                await asyncio.to_thread(self._read_state, added, validators)
            return added

        flow = Flow(feeds, None if more is None else more_feeds, self.halt, self.config.concurrency)
        try:
            writing = GroupWriter(writer, self._process_together)
            # Every feed runs to its end even when one fails (a database error): none is
            # left behind writing to a closed writer; then the first failure is raised.
            await flow.run(max(_IN_FLIGHT, 2 * self.config.concurrency), work)
            in_order = [results[place] for place in sorted(results)]
            failures = [r for r in in_order if isinstance(r, Exception)]
            if failures:
                raise failures[0]
            outcomes = [r for r in in_order if not isinstance(r, Exception)]
            last = loop.run_in_executor(writer, self._quiet.record, self._quiet.taken())
            await asyncio.gather(*recording, last)
        finally:
            self.parsers.cycle_over(pool)
        delivery = await self.deliver_concurrently() if deliver else DeliveryReport()
        done = tuple(outcome for outcome in outcomes if outcome is not None)
        return CycleReport(done, delivery.sent, delivery.failed)

    def _read_state(self, feeds: Sequence[Feed], validators: dict[str, Validators]) -> None:
        """What the cycle needs to know of ``feeds`` before fetching them."""
        urls = [feed.url for feed in feeds]
        read = self.store.feeds.validators(urls)
        validators.update(read)
        self._last_bodies.update({url: v.body_hash for url, v in read.items()})
        self._schedules.update(self.store.feeds.schedules(urls))

    def close(self) -> None:
        """End the parser processes (a document in hand is not waited for: nothing would
        write it) and the writer thread (after the transaction in hand)."""
        self.parsers.close()
        self._writer.shutdown(wait=True)

    def _process_together(self, jobs: Sequence[Job]) -> list[FeedOutcome]:
        """The jobs in one transaction; when it keeps colliding with another worker's, one
        feed per transaction."""
        try:
            return self._in_one_transaction(jobs)
        except WriteConflict:
            return [outcome for job in jobs for outcome in self._in_one_transaction([job])]

    def _in_one_transaction(self, jobs: Sequence[Job]) -> list[FeedOutcome]:
        """Process ``jobs`` in one transaction, again when another worker's collided with
        it: a transaction given up wrote nothing. (A quiet fetch it noted may be noted twice:
        recording one is idempotent.)"""
        for _ in range(_CONFLICT_RETRIES - 1):
            try:
                with self.store.together():
                    return self.process(jobs)
            except WriteConflict as exc:
                log.info("write conflict with another worker (%s); trying again", exc)
        with self.store.together():  # the last try: a conflict now goes to the caller
            return self.process(jobs)

    async def _parse_elsewhere(
        self, pool: ParsePool, feed: Feed, fetched: FetchResult | FetchError
    ) -> ReadFeed | ParseError | None:
        """Parse and analyse a new body in a worker process; None when there is nothing to
        parse."""
        if isinstance(fetched, FetchError) or fetched.body is None:
            return None
        if fetched.body_hash == self._last_bodies.get(feed.url):
            return None
        request = ReadRequest(
            feed.url, feed.name, fetched.body, fetched.content_type, self.config.tracking_params,
            self.clustering is not None, not self._schedule(feed).read, feed.category,
        )  # fmt: skip
        return await self.parsers.read(pool, request)

    def process(self, jobs: Sequence[Job]) -> list[FeedOutcome]:
        """Parse (unless a job holds its reading already), match and store feeds' downloads
        (or record their failures): each feed sorted on its own, then the new and changed
        entries of them all stored at once."""
        steps = [self._sort(*job) for job in jobs]
        saves = [step.save for step in steps if isinstance(step, Sorted)]
        counts = iter(self.store.entries.save_successes(saves, self.delivering, self.clustering))
        return [step.outcome(next(counts)) if isinstance(step, Sorted) else step for step in steps]

    def _sort(
        self, feed: Feed, fetched: FetchResult | FetchError, read: ReadFeed | ParseError | None
    ) -> FeedOutcome | Sorted:
        """One feed's download: its outcome when there is nothing to store (or it failed),
        else what it brings, sorted into new and known entries."""
        now = self.clock()
        name = feed.name or feed.url
        try:
            if isinstance(fetched, FetchError):
                raise fetched
            if self._redirect_news(feed, fetched):
                self._track_redirect(feed, fetched.moved_to)
            if fetched.body is None:
                return self._quietly(feed, fetched, "not-modified")
            if fetched.body_hash == self._last_bodies.get(feed.url):
                # The same bytes as last time: nothing to parse, match or store.
                return self._quietly(feed, fetched, "unchanged")
            if isinstance(read, ParseError):
                raise read
            if read is None:  # parsed here; entries are analysed as triage needs them
                parsed = self.parsers.parser(
                    feed.url, fetched.body, fetched.content_type, self.config.tracking_params
                )
                read = prepare(parsed)
        except FeedError as exc:
            self._record_feed_failure(feed, exc, now)
            return FeedOutcome(feed.url, name, "failed", error=exc.reason)
        parsed = read.parsed
        sorted_ = self._triage(feed, read)
        next_fetch = self._next_fetch(feed, now, fetched, parsed.hint)
        save = FeedSave(
            feed.url, fetched, parsed.title, parsed.warning, sorted_.new, sorted_.again, now,
            next_fetch, parsed.hint,
        )  # fmt: skip
        return Sorted(feed, parsed, sorted_, save)

    def _quietly(self, feed: Feed, fetched: FetchResult, status: str) -> FeedOutcome:
        """A fetch that brought nothing new: held back, to be recorded with the others."""
        now = self.clock()
        next_fetch = self._next_fetch(feed, now, fetched, None)
        self._quiet.add(QuietFetch(feed.url, fetched, now, next_fetch))
        return FeedOutcome.of(feed.url, feed.name or feed.url, status, fetched)

    def _schedule(self, feed: Feed) -> FeedSchedule:
        return self._schedules.get(feed.url) or FeedSchedule(None)

    def _next_fetch(
        self, feed: Feed, now: datetime, fetched: FetchResult, hint: timedelta | None
    ) -> datetime:
        """After the feed's interval, or what it (this document's <ttl>, else the last one's)
        and its server (Cache-Control, Expires) ask for, whichever is longer, within bounds."""
        asked = [h for h in (hint or self._schedule(feed).hint, fetched.hint) if h is not None]
        return after_success(feed, now, hint=max(asked) if asked else None)

    def _redirect_news(self, feed: Feed, fetched: FetchResult) -> bool:
        """Whether this fetch changes what we know of the feed's permanent redirects."""
        return fetched.moved_to is not None or self._schedule(feed).redirect_to is not None

    def _track_redirect(self, feed: Feed, target: str | None) -> None:
        """Three fetches in a row permanently redirected to one place move the feed there;
        anything else in between starts the count again."""
        schedule = self._schedule(feed)
        seen = 0 if target is None else (
            schedule.redirects_seen + 1 if target == schedule.redirect_to else 1
        )  # fmt: skip
        moved_to = target if target is not None and seen >= MOVE_AFTER else schedule.moved_to
        if moved_to != schedule.moved_to:
            log.warning(
                "feed %s moved permanently to %s: fetched there from now on", feed.url, moved_to
            )
        self.store.feeds.save_redirect(feed.url, target, seen, moved_to)

    def _record_feed_failure(self, feed: Feed, exc: FeedError, now: datetime) -> None:
        """A 410 Gone pauses the feed; anything else backs it off, and never gives it up."""
        status = exc.status if isinstance(exc, FetchError) else None
        failures = self._schedule(feed).failures + 1
        if status == 410:
            log.warning("feed %s is gone (HTTP 410): paused until resumed", feed.url)
            self.store.feeds.save_failure(feed.url, exc.reason, status, now, None, paused=True)
            return
        retry_after = exc.retry_after if isinstance(exc, FetchError) else None
        next_fetch = after_failure(feed, failures, now, self.config.max_backoff, retry_after)
        log.warning(
            "feed %s failed (%d in a row, next try %s): %s",
            feed.url,
            failures,
            next_fetch.isoformat(timespec="seconds"),
            exc.reason,
        )
        self.store.feeds.save_failure(feed.url, exc.reason, status, now, next_fetch)

    def _triage(self, feed: Feed, read: ReadFeed) -> Triage:
        """``read.analyses``: made where the document was parsed; otherwise (empty) made
        here, for the entries that need one."""
        parsed, analyses, keys = read.parsed, read.analyses, read.keys
        source = Source(feed.name or parsed.title or feed.url, feed.url, feed.category)
        first = not self._schedule(feed).read
        # A feed never read before has no entries stored: nothing to look up.
        known = [None] * len(keys) if first else self.store.entries.known(feed.url, keys)
        is_backlog: Callable[[Entry], bool] = never
        if not self.config.notify_backlog:
            is_backlog = backlog_test(first, self.clock() - self.config.backlog)

        def analysis_of(index: int) -> Analysis:
            if analyses:
                return analyses[index]
            entry = parsed.entries[index]
            return analyse(self.matcher, entry, source, self.clustering is not None)

        return triage(parsed.entries, keys, read.hashes, known, analysis_of, is_backlog)
