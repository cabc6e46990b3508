"""The loop that works the delivery queue, in the worker process:

1. claims due rows (`claims.py`: leased for `delivery_lease_seconds`, with
   what each send needs read in the same transaction);
2. sends up to `delivery_concurrency` at once (`senders.py`: a slow
   receiver holds one slot, not the queue);
3. records each result in one transaction (`results.py`): delivered, the
   next attempt after a backoff, or failed and escalated;

and, beside it, escalates what is still undelivered near its deadline
(`escalations.py`). A worker that dies mid-send leaves its lease, which runs
out; the next one resumes the row and the receiver may see the same
`webhook-id` twice (the Standard Webhooks idempotency contract).

All database work runs in worker threads (`asyncio.to_thread`), never on
the event loop; a database failure pauses the loop (loudly, doubling the
pause), it never ends it. Logs carry ids and categories only."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random as random_module
import uuid
from collections.abc import Callable, Iterable
from datetime import datetime
from math import floor
from typing import TYPE_CHECKING

import httpx
from opentelemetry.trace import SpanKind
from sqlalchemy.engine import Engine

from frontdoor_platform.clock import Clock, utc_now
from frontdoor_platform.outbox import OutboxFields
from frontdoor_platform.tracing import span
from frontdoor_platform.wakeup import Wakeup

from ..domain.backoff import Backoff, Random
from ..settings import Settings
from . import claims
from .escalations import escalate_due
from .pinned import webhook_transport
from .queue import UNSENDABLE, Emitter, Job, Recorded
from .results import Results
from .senders import Senders

if TYPE_CHECKING:  # prometheus_client must not load before `serve` sets up multiprocess metrics
    from ..metrics import Metrics

log = logging.getLogger("notifications.delivery")
ERROR_PAUSE_SECONDS = (0.5, 10.0)  # a database failure pauses the loop this long, doubling


class DeliveryLoop:
    def __init__(self, engine: Engine, outbox_table: type[OutboxFields], settings: Settings, metrics: Metrics,
                 clock: Clock = utc_now, wake_relay: Callable[[], None] = lambda: None,
                 random: Random = random_module.random, transport: httpx.AsyncBaseTransport | None = None):
        self._engine = engine
        self._emit = Emitter(outbox_table, settings.source_uri)
        self._settings = settings
        self._metrics = metrics
        self._clock = clock
        self._wake_relay = wake_relay
        self._transport = transport
        backoff = Backoff(settings.delivery_backoff_seconds, settings.delivery_backoff_max_seconds)
        self.results = Results(engine, self._emit, settings, backoff, random)
        self._wake = Wakeup()
        self._in_flight: dict[uuid.UUID, asyncio.Task[None]] = {}
        self._jobs: dict[uuid.UUID, Job] = {}  # what each task in flight sends
        self.healthy = True

    def wake(self) -> None:
        """Called after a commit that queued deliveries: look now. Safe from
        any thread (the consumer's after-commit hooks, a route's thread)."""
        self._wake.wake()

    async def run(self) -> None:
        """Deliver and escalate until cancelled. A database failure pauses
        the loop (loudly), it never ends it."""
        self._wake.bind()
        # httpx logs every request's full URL at INFO: a school's webhook URL may carry its own token.
        logging.getLogger("httpx").setLevel(logging.WARNING)
        async with self._client() as client:
            senders = Senders(client, self._settings)
            escalating = asyncio.create_task(self._escalate_forever(), name="delivery-escalation")
            try:
                await self._deliver_forever(senders)
            finally:
                await self._stop(escalating)

    async def _stop(self, escalating: asyncio.Task[None]) -> None:
        """Cancel the escalations and the sends in flight; give back the claims of those not recorded."""
        escalating.cancel()
        unfinished = [self._jobs[key] for key in self._in_flight if key in self._jobs]
        in_flight = list(self._in_flight.values())
        for task in in_flight:
            task.cancel()
        await asyncio.gather(escalating, *in_flight, return_exceptions=True)
        if unfinished:  # stopped, not crashed: the next worker need not wait for the leases
            try:
                await asyncio.to_thread(claims.release, self._engine, unfinished)
            except Exception as exc:
                log.warning("delivery leases not released; they run out", extra={"error": type(exc).__name__})

    def _client(self) -> httpx.AsyncClient:
        """The webhook client: no redirects followed (a moved endpoint is a directory change, made by an admin),
        nothing from the environment (no proxy, no .netrc), every connection to an address judged then."""
        return httpx.AsyncClient(transport=self._transport or webhook_transport(self._settings),
                                 follow_redirects=False, trust_env=False)

    async def _deliver_forever(self, senders: Senders) -> None:
        pause = ERROR_PAUSE_SECONDS[0]
        while True:
            self._wake.clear()
            try:
                wait = await self._claim_and_start(senders)
            except Exception as exc:
                self._pause(exc, pause)
                await asyncio.sleep(pause)
                pause = min(pause * 2, ERROR_PAUSE_SECONDS[1])
                continue
            pause = ERROR_PAUSE_SECONDS[0]
            self.healthy = True
            if wait > 0:
                with contextlib.suppress(TimeoutError):
                    # not wait_for: on Python 3.11 a cancel arriving as the wake-up is set is swallowed, and
                    # the loop runs on when told to stop (a stop that never ended hung CI)
                    async with asyncio.timeout(wait):
                        await self._wake.wait()

    async def _claim_and_start(self, senders: Senders) -> float:
        """Claim what is due into the free slots and start sending it; how long to wait before looking again
        (0: more may be due, claim again as soon as a slot frees)."""
        wait = self._settings.delivery_poll_seconds
        free = self._settings.delivery_concurrency - len(self._in_flight)
        if free <= 0:
            return wait
        now = self._clock()
        claimed = await asyncio.to_thread(claims.claim, self._engine, self._settings, free, now,
                                          frozenset(self._in_flight))
        self._count(claimed.unsendable)
        for job in claimed.jobs:
            self._start(senders, job)
        if len(claimed.jobs) == free:
            return 0.0
        if claimed.next_due is not None:
            wait = min(wait, max(0.0, (claimed.next_due - now).total_seconds()))
        return wait

    def _pause(self, exc: Exception, seconds: float) -> None:
        self.healthy = False
        log.error("delivery loop paused; retrying", extra={"error": type(exc).__name__, "retry_in_seconds": seconds})

    def _start(self, senders: Senders, job: Job) -> None:
        task = asyncio.create_task(self._deliver(senders, job), name="delivery")
        self._in_flight[job.notification_id] = task
        self._jobs[job.notification_id] = job

        def done(_: asyncio.Task[None]) -> None:
            if self._in_flight.get(job.notification_id) is task:
                del self._in_flight[job.notification_id]
                del self._jobs[job.notification_id]
            self._wake.set()

        task.add_done_callback(done)

    async def _deliver(self, senders: Senders, job: Job) -> None:
        """One attempt, a span in the notification's trace (the events it leads to carry it)."""
        with span("deliver", "notifications", parent=job.target.traceparent, kind=SpanKind.CLIENT,
                  attributes={"frontdoor.channel": job.target.channel,
                              "frontdoor.notification_id": job.target.notification_id}):
            await self._attempt(senders, job)

    async def _attempt(self, senders: Senders, job: Job) -> None:
        try:
            result = await senders.send(job.target, floor(self._clock().timestamp()))
        except Exception as exc:  # not an outcome of the send (senders classify those): the lease runs out
            log.error("delivery not attempted; retried after its lease",
                      extra={"notification_id": str(job.notification_id), "error": type(exc).__name__})
            return
        try:
            recorded = await asyncio.to_thread(self.results.record, job, result, self._clock())
        except Exception as exc:  # the lease stays and runs out: the row is tried again then
            log.error("delivery result not recorded; retried after its lease",
                      extra={"notification_id": str(job.notification_id), "error": type(exc).__name__})
            return
        if recorded is not None:
            self._count([recorded])
            if recorded.delivered or recorded.escalated:
                self._wake_relay()

    async def deliver_due(self) -> int:
        """One pass, for tests and tools: claim what is due now, send it all,
        record it; the number of rows claimed."""
        self._wake.bind()
        async with self._client() as client:
            senders = Senders(client, self._settings)
            claimed = await asyncio.to_thread(claims.claim, self._engine, self._settings,
                                              self._settings.delivery_concurrency, self._clock(), frozenset())
            self._count(claimed.unsendable)
            await asyncio.gather(*(self._deliver(senders, job) for job in claimed.jobs))
        return len(claimed.jobs) + len(claimed.unsendable)

    async def _escalate_forever(self) -> None:
        pause = ERROR_PAUSE_SECONDS[0]
        while True:
            try:
                escalated = await asyncio.to_thread(self.escalate_due, self._clock())
            except Exception as exc:
                self._pause(exc, pause)
                await asyncio.sleep(pause)
                pause = min(pause * 2, ERROR_PAUSE_SECONDS[1])
                continue
            pause = ERROR_PAUSE_SECONDS[0]
            if escalated:
                self._wake_relay()
            await asyncio.sleep(self._settings.delivery_poll_seconds)

    def escalate_due(self, now: datetime) -> int:
        """Escalate what is undelivered inside the margin before its deadline
        (`escalations.escalate_due`), counted; the number escalated.
        Blocking: call in a thread."""
        escalated = escalate_due(self._engine, self._emit, self._settings, now)
        for reason in escalated:
            self._metrics.delivery_escalations.labels(reason).inc()
        return len(escalated)

    def _count(self, recorded: Iterable[Recorded]) -> None:
        m = self._metrics
        for r in recorded:
            if r.outcome != UNSENDABLE:
                m.delivery_attempts.labels(r.channel, r.outcome).inc()
            if r.delivered and r.timing is not None:
                m.deliveries.labels(r.channel, r.timing).inc()
                if r.latency_seconds is not None:
                    m.delivery_latency.labels(r.channel).observe(r.latency_seconds)
            if r.gave_up is not None:
                m.delivery_failures.labels(r.gave_up).inc()
            if r.escalated is not None:
                m.delivery_escalations.labels(r.escalated).inc()
