"""Delivery: sending what the outbox holds to each target, at its pace and in its mode (each
alert at once, a batch every so often, a digest on a schedule), retrying failures by the
target's policy and never marking an alert sent before its target accepted it."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta

from watcher.core.errors import DeliveryError
from watcher.core.model import (
    Alert,
    DeliveryReport,
)
from watcher.core.schedule import (
    delivery_retry_at,
    next_digest,
)
from watcher.core.settings import Config, RetryPolicy, Target
from watcher.ports import Clock, Notifier, Store

log = logging.getLogger("watcher.service")  # the name operators filter the journal by
_DELIVERY_BATCH = 100


_ALL = 1_000_000  # "every delivery" as a query limit
_FAR = timedelta(days=36_500)
_UNPACED = timedelta(0)  # the console (no configured target) is neither paced nor summarised


class Delivery:
    """Sends what is due, target by target; ``halt`` set: senders finish the message in hand
    and stop."""

    def __init__(
        self,
        config: Config,
        store: Store,
        notifiers: Mapping[str, Notifier],
        clock: Clock,
        sleep: Callable[[float], None],
        after_send: Callable[[Alert], None] | None,
        halt: threading.Event,
    ) -> None:
        self.config = config
        self.store = store
        self.notifiers = notifiers
        self.clock = clock
        self.sleep = sleep
        self.after_send = after_send  # a test hook: runs between "sent" and "marked sent"
        self.halt = halt
        self.settings = {target.name: target for target in config.targets}
        self._last_sent: dict[str, datetime] = {}  # per target, for its rate

    def deliver(self) -> DeliveryReport:
        """Send every delivery that is due, target after target."""
        targets = self._targets_to_serve()
        return _total(targets, [self.deliver_target(t) for t in targets])

    def _targets_to_serve(self) -> list[str]:
        """Targets with deliveries due, and every batch or digest target (their time may
        have come, with or without deliveries)."""
        scheduled = [t.name for t in self.config.targets if t.mode != "instant"]
        return sorted(set(self.store.outbox.due_targets(self.clock())) | set(scheduled))

    async def deliver_concurrently(self) -> DeliveryReport:
        """Send every delivery that is due, each target in its own thread, so that a slow or
        failing target never holds back another."""
        targets = await asyncio.to_thread(self._targets_to_serve)
        reports = await asyncio.gather(
            *(asyncio.to_thread(self.deliver_target, target) for target in targets)
        )
        return _total(targets, reports)

    def deliver_target(self, target: str) -> DeliveryReport:
        """Send one target's due deliveries, oldest first and no faster than its rate, until
        one fails: that one is retried after its backoff, never dropped, and the others wait
        for the next pass. More due at once than the target's ``max_burst`` go out as one
        summary message."""
        settings = self.settings.get(target)
        if settings is not None and settings.mode == "batch":
            return self._deliver_batch(settings)
        if settings is not None and settings.mode == "digest":
            return self._deliver_digest(settings)
        sent = 0
        burst = settings.max_burst if settings else _DELIVERY_BATCH * 10_000
        batch = max(_DELIVERY_BATCH, burst + 1)
        while alerts := self.store.outbox.due_alerts(self.clock(), batch, target=target):
            if len(alerts) > burst:
                return self._send_summary(target, alerts)
            for alert in alerts:
                if self.halt.is_set():
                    return DeliveryReport(sent, 0)
                try:
                    self._pace(target)
                    self._notifier(target).send(alert)
                except DeliveryError as exc:
                    self._record_failure(alert, exc.reason)
                    return DeliveryReport(sent, 1)
                finally:
                    self._last_sent[target] = self.clock()
                if self.after_send is not None:
                    self.after_send(alert)
                sent += 1
                self.store.outbox.mark_sent(alert.delivery_id, self.clock())
        return DeliveryReport(sent, 0)

    def _deliver_batch(self, target: Target) -> DeliveryReport:
        """At most once per ``every``: everything due, in one message (by one worker)."""
        with self.store.coordination.exclusive(f"target:{target.name}") as mine:
            return self._deliver_batch_now(target) if mine else DeliveryReport()

    def _deliver_batch_now(self, target: Target) -> DeliveryReport:
        now = self.clock()
        last = self.store.outbox.target_sent(target.name)
        if last is not None and now < last + target.every:
            return DeliveryReport()
        alerts = self.store.outbox.due_alerts(now, _ALL, target=target.name, claim=False)
        if not alerts:
            return DeliveryReport()
        return self._send_together(target.name, alerts, digest=False)

    def _deliver_digest(self, target: Target) -> DeliveryReport:
        """On its schedule: every match since the last digest, grouped by rule (sent by one
        worker: the others find it taken, or already sent)."""
        with self.store.coordination.exclusive(f"target:{target.name}") as mine:
            return self._deliver_digest_now(target) if mine else DeliveryReport()

    def _deliver_digest_now(self, target: Target) -> DeliveryReport:
        assert target.digest is not None
        now = self.clock()
        last = self.store.outbox.target_sent(target.name)
        if last is None:  # the first digest covers what comes from now on
            self.store.outbox.set_target_sent(target.name, now)
            return DeliveryReport()
        if now < next_digest(last, target.digest):
            return DeliveryReport()
        # Everything pending, also deliveries waiting to retry: the digest is their retry.
        alerts = self.store.outbox.due_alerts(now + _FAR, _ALL, target=target.name, claim=False)
        if not alerts and not target.send_empty:
            self.store.outbox.set_target_sent(target.name, now)
            return DeliveryReport()
        return self._send_together(target.name, alerts, digest=True)

    def _send_together(self, target: str, alerts: list[Alert], digest: bool) -> DeliveryReport:
        """One message for several alerts; on failure each alert's attempt is counted and the
        target tries again on its next pass."""
        try:
            self._pace(target)
            notifier = self._notifier(target)
            if digest:
                notifier.send_digest(alerts)
            else:
                notifier.send_summary(alerts)
        except DeliveryError as exc:
            for alert in alerts:
                self._record_failure(alert, exc.reason)
            return DeliveryReport(0, len(alerts))
        finally:
            self._last_sent[target] = self.clock()
        now = self.clock()
        for alert in alerts:
            self.store.outbox.mark_sent(alert.delivery_id, now)
        self.store.outbox.set_target_sent(target, now)
        return DeliveryReport(len(alerts), 0)

    def _notifier(self, target: str) -> Notifier:
        notifier = self.notifiers.get(target)
        if notifier is None:
            raise DeliveryError(target, "target is not in the config")
        return notifier

    def _pace(self, target: str) -> None:
        """Wait until the target's rate allows another message."""
        last = self._last_sent.get(target)
        if last is not None:
            settings = self.settings.get(target)
            gap = settings.gap if settings else _UNPACED
            wait = (last + gap - self.clock()).total_seconds()
            if wait > 0:
                self.sleep(wait)

    def _send_summary(self, target: str, first: list[Alert]) -> DeliveryReport:
        alerts = first + self.store.outbox.due_alerts(
            self.clock(), _ALL, target=target, after=first[-1].delivery_id
        )
        log.info("sending %d alerts to %s as one summary", len(alerts), target)
        return self._send_together(target, alerts, digest=False)

    def _record_failure(self, alert: Alert, reason: str) -> None:
        """Count the attempt and schedule the next one (or give up), per the target's policy."""
        now = self.clock()
        attempts = alert.attempts + 1
        settings = self.settings.get(alert.target)
        policy = settings.retry if settings else RetryPolicy()
        retry_at = delivery_retry_at(attempts, now, policy)
        self.store.outbox.mark_failed_attempt(alert.delivery_id, reason, retry_at, now)
        if retry_at is None:
            log.error(
                "delivery %d to %s failed for good: %s", alert.delivery_id, alert.target, reason
            )
        else:
            log.warning(
                "delivery %d to %s failed (attempt %d), retrying at %s: %s",
                alert.delivery_id,
                alert.target,
                attempts,
                retry_at.isoformat(timespec="seconds"),
                reason,
            )


def _total(targets: Sequence[str], reports: Sequence[DeliveryReport]) -> DeliveryReport:
    return DeliveryReport(
        sum(r.sent for r in reports),
        sum(r.failed for r in reports),
        {target: (r.sent, r.failed) for target, r in zip(targets, reports, strict=True)},
    )
