"""The persistent delivery queue (the `deliveries` table) and the loop that
works it.

`enqueue` queues a notification in the caller's transaction (the consumer's
batch). The loop, in the worker process:

1. claims due rows (pending, `next_attempt_at` <= now, not leased or the
   lease run out) by setting `leased_until` = now + `delivery_lease_seconds`
   in a short write transaction, reading in the same transaction what each
   send needs (the body, built now from the notification row; the
   recipient's address and its signing secrets valid now);
2. sends up to `delivery_concurrency` at once (a slow receiver holds one
   slot, not the queue);
3. records each result in ONE transaction: the attempt row and either
   "delivered" (the delivery, the notification's `delivered_at` and the
   NotificationDelivered event in the outbox) or the next attempt, with
   backoff and jitter (the lease cleared), or "failed" (a refusal that
   retrying will not change, or `delivery_max_attempts` failures) with the
   escalation.

A worker that dies mid-send leaves its lease, which runs out; the next one
resumes the row and the receiver may see the same `webhook-id` twice (the
Standard Webhooks idempotency contract). A success is never followed by
another send: it is marked in the same transaction as its attempt row, and
only a pending row is ever claimed.

Escalation, once per notification (`escalated_at`): after the last failure,
or when the notification is still undelivered `escalation_margin_minutes`
before its deadline (then the loop keeps trying to deliver). It sets
`escalated_at`, emits DeliveryFailed and puts a `delivery_failed` item on
the MASH worklist: a person phones the recipient. A notification created
already inside the margin gets its first attempt (or a lease period) first,
so a fast webhook is not escalated for nothing.

`retry` (the MASH's `POST /v1/deliveries/{id}/retry`) queues a failed row
again, due now, on the recipient's channel now, with every attempt again
(`attempts_before_retry`, from which the backoff starts again too); the
audit keeps every attempt. It is not escalated a second time: if it fails
for good again, its worklist item, when resolved, is opened again.

All database work runs in worker threads (`asyncio.to_thread`), never on
the event loop. Logs carry ids and categories only."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random as random_module
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from math import floor
from typing import TYPE_CHECKING, Any

import httpx
from opentelemetry.trace import SpanKind
from sqlalchemy import and_, case, func, or_, update
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from frontdoor_contracts.envelope import EventData, new_event
from frontdoor_contracts.notifications import (
    Channel,
    DeliveryFailed,
    FailureReason,
    NotificationDelivered,
    NotificationKind,
)
from frontdoor_contracts.topics import NOTIFICATIONS_DELIVERED, NOTIFICATIONS_DELIVERY_FAILED, TopicSpec
from frontdoor_platform import outbox
from frontdoor_platform.clock import Clock, utc_now
from frontdoor_platform.database import for_writing
from frontdoor_platform.outbox import OutboxFields
from frontdoor_platform.tracing import span
from frontdoor_platform.wakeup import Wakeup

from ..domain.backoff import Backoff, Random
from ..models import DeliveryAttemptRow, DeliveryRow, NotificationRow, RecipientRow, WorklistRow
from ..settings import Settings
from . import signing
from .payload import PayloadUnavailable, body_of
from .pinned import webhook_transport
from .senders import Senders, SendResult, Target

if TYPE_CHECKING:  # prometheus_client must not load before `serve` sets up multiprocess metrics
    from prometheus_client.core import GaugeMetricFamily

    from ..metrics import Metrics

log = logging.getLogger("notifications.delivery")
PENDING, DELIVERED, FAILED = "pending", "delivered", "failed"
UNSENDABLE = "unsendable"  # the row's content is gone (erased): never sent, never retried
WORKLIST_KIND = "delivery_failed"
ERROR_PAUSE_SECONDS = (0.5, 10.0)  # a database failure pauses the loop this long, doubling


def enqueue(session: Session, notification_id: uuid.UUID, channel: str, now: datetime) -> DeliveryRow:
    """Queue a notification for delivery on `channel` (the recipient's at
    the time), due now, in the caller's transaction. Idempotent: a
    notification already queued keeps its row (and its progress)."""
    existing = session.get(DeliveryRow, notification_id)
    if existing is not None:
        return existing
    row = DeliveryRow(notification_id=notification_id, channel=channel, state=PENDING, attempts=0,
                      next_attempt_at=now, updated_at=now)
    session.add(row)
    return row


class NotRetryable(Exception):
    """Why a delivery cannot be sent again (a reason safe to show: no personal data)."""


def retry(session: Session, row: DeliveryRow, note: NotificationRow, channel: str | None, now: datetime,
          by: str) -> DeliveryRow:
    """Queue a failed delivery again, due now, on `channel` (the
    recipient's in the directory now, after an admin fixed its address),
    with `delivery_max_attempts` attempts again; in the caller's
    transaction. The attempts so far stay in the audit and the count. It
    is not escalated a second time (the MASH has it); failing for good
    again reopens its worklist item."""
    if row.state == DELIVERED:
        raise NotRetryable("it was delivered")
    if row.state == PENDING:
        raise NotRetryable("it is queued already")
    if note.erased_at is not None:
        raise NotRetryable("its personal data was erased at the end of retention: nothing to send")
    if note.acknowledged_at is not None:
        raise NotRetryable("it was acknowledged already")
    if channel is None:
        raise NotRetryable("its recipient is not in the directory")
    row.state, row.channel, row.next_attempt_at, row.leased_until = PENDING, channel, now, None
    row.attempts_before_retry, row.retried_at, row.retried_by, row.updated_at = row.attempts, now, by[:80], now
    session.add(row)
    return row


def event_id(notification_id: uuid.UUID, topic: TopicSpec) -> str:
    """The same id however often the step is redone."""
    return str(uuid.uuid5(notification_id, topic.name))


def worklist_item_id(notification_id: uuid.UUID) -> uuid.UUID:
    return uuid.uuid5(notification_id, WORKLIST_KIND)


@dataclass(frozen=True)
class Job:
    """One claimed delivery: what to send, and the lease that claims it."""

    target: Target
    notification_id: uuid.UUID
    lease: datetime


@dataclass
class Recorded:
    """What recording one result did, for the metrics (bounded labels only)."""

    channel: str
    outcome: str
    delivered: bool = False
    timing: str | None = None  # before_deadline | late | no_deadline
    latency_seconds: float | None = None
    gave_up: str | None = None  # the reason, when no more attempts will be made
    escalated: str | None = None  # the reason, when this escalated it


@dataclass(frozen=True)
class Claimed:
    jobs: list[Job]
    unsendable: list[Recorded]
    next_due: datetime | None  # the earliest pending row not claimed now


class DeliveryLoop:
    def __init__(self, engine: Engine, outbox_table: type[OutboxFields], settings: Settings, metrics: Metrics,
                 clock: Clock = utc_now, wake_relay: Callable[[], None] = lambda: None,
                 random: Random = random_module.random, transport: httpx.AsyncBaseTransport | None = None):
        self._engine = engine
        self._outbox = outbox_table
        self._settings = settings
        self._metrics = metrics
        self._clock = clock
        self._wake_relay = wake_relay
        self._random = random
        self._transport = transport
        self._backoff = Backoff(settings.delivery_backoff_seconds, settings.delivery_backoff_max_seconds)
        self._wake = Wakeup()
        self._in_flight: dict[uuid.UUID, asyncio.Task[None]] = {}
        self._jobs: dict[uuid.UUID, Job] = {}  # what each task in flight sends
        self.healthy = True

    # --- waking ------------------------------------------------------------------------------------------------

    def wake(self) -> None:
        """Called after a commit that queued deliveries: look now. Safe from
        any thread (the consumer's after-commit hooks, a route's thread)."""
        self._wake.wake()

    # --- running -----------------------------------------------------------------------------------------------

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
                escalating.cancel()
                unfinished = [self._jobs[key] for key in self._in_flight if key in self._jobs]
                in_flight = list(self._in_flight.values())
                for task in in_flight:
                    task.cancel()
                await asyncio.gather(escalating, *in_flight, return_exceptions=True)
                if unfinished:  # stopped, not crashed: the next worker need not wait for the leases
                    try:
                        await asyncio.to_thread(self._release, unfinished)
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
            wait = self._settings.delivery_poll_seconds
            try:
                free = self._settings.delivery_concurrency - len(self._in_flight)
                if free > 0:
                    now = self._clock()
                    claimed = await asyncio.to_thread(self._claim, free, now, frozenset(self._in_flight))
                    self._count(claimed.unsendable)
                    for job in claimed.jobs:
                        self._start(senders, job)
                    if len(claimed.jobs) == free:
                        continue  # more may be due: claim again as soon as a slot frees
                    if claimed.next_due is not None:
                        wait = min(wait, max(0.0, (claimed.next_due - now).total_seconds()))
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
            recorded = await asyncio.to_thread(self._record, job, result, self._clock())
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
            claimed = await asyncio.to_thread(self._claim, self._settings.delivery_concurrency, self._clock(),
                                              frozenset())
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

    # --- the database steps (blocking: run in a worker thread) -------------------------------------------------

    def _claim(self, limit: int, now: datetime, busy: frozenset[uuid.UUID]) -> Claimed:
        lease = now + timedelta(seconds=self._settings.delivery_lease_seconds)
        due = (col(DeliveryRow.state) == PENDING, col(DeliveryRow.next_attempt_at) <= now,
               or_(col(DeliveryRow.leased_until).is_(None), col(DeliveryRow.leased_until) <= now))
        query = select(DeliveryRow).where(*due)
        if busy:
            query = query.where(col(DeliveryRow.notification_id).notin_(busy))
        query = (query.order_by(col(DeliveryRow.next_attempt_at)).limit(limit)
                 .with_for_update(skip_locked=True))  # PostgreSQL: several workers claim apart
        jobs: list[Job] = []
        unsendable: list[Recorded] = []
        with Session(for_writing(self._engine), expire_on_commit=False) as session:
            rows = session.exec(query).all()
            notes = self._notifications(session, [row.notification_id for row in rows])
            for row in rows:
                note = notes.get(row.notification_id)
                try:
                    target = self._target(session, row, note, now)
                except PayloadUnavailable:
                    unsendable.append(self._unsendable(session, row, now))
                    continue
                row.leased_until, row.updated_at = lease, now
                session.add(row)
                jobs.append(Job(target, row.notification_id, lease))
            claimed = {row.notification_id for row in rows} | busy
            leased = and_(col(DeliveryRow.leased_until).is_not(None),
                          col(DeliveryRow.leased_until) > col(DeliveryRow.next_attempt_at))
            # when each row is next claimable: its next attempt, or its lease running out (a crashed worker's)
            claimable_at = case((leased, col(DeliveryRow.leased_until)), else_=col(DeliveryRow.next_attempt_at))
            later = select(func.min(claimable_at)).where(col(DeliveryRow.state) == PENDING)
            if claimed:
                later = later.where(col(DeliveryRow.notification_id).notin_(claimed))
            next_due = session.exec(later).one()
            session.commit()
        return Claimed(jobs, unsendable, _aware(next_due))

    def _release(self, jobs: Sequence[Job]) -> None:
        """Give back the claims of sends stopped before their result was recorded (only while still ours)."""
        with Session(for_writing(self._engine)) as session:
            for job in jobs:
                session.execute(update(DeliveryRow).where(
                    col(DeliveryRow.notification_id) == job.notification_id, col(DeliveryRow.state) == PENDING,
                    col(DeliveryRow.leased_until) == job.lease).values(leased_until=None))
            session.commit()

    def _notifications(self, session: Session, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, NotificationRow]:
        if not ids:
            return {}
        found = session.exec(select(NotificationRow).where(col(NotificationRow.notification_id).in_(ids))).all()
        return {note.notification_id: note for note in found}

    def _target(self, session: Session, row: DeliveryRow, note: NotificationRow | None, now: datetime) -> Target:
        if note is None:
            raise PayloadUnavailable("no such notification")
        body = body_of(note, self._settings.mash_contact)
        recipient = session.get(RecipientRow, note.recipient_id)
        url = recipient.webhook_url if recipient else None
        email = recipient.alert_email if recipient else None
        secrets = (signing.valid_secrets(session, note.recipient_id, now, self._settings.sealing_keys)
                   if row.channel == Channel.WEBHOOK else [])
        return Target(str(row.notification_id), row.channel, body, url=url, email=email, secrets=tuple(secrets),
                      traceparent=note.traceparent)

    def _unsendable(self, session: Session, row: DeliveryRow, now: datetime) -> Recorded:
        log.warning("notification has nothing to send; not delivered",
                    extra={"notification_id": str(row.notification_id)})
        row.state, row.last_reason, row.leased_until, row.updated_at = FAILED, UNSENDABLE, None, now
        session.add(row)
        return Recorded(row.channel, UNSENDABLE, gave_up=UNSENDABLE)

    def _record(self, job: Job, result: SendResult, now: datetime) -> Recorded | None:
        with Session(for_writing(self._engine), expire_on_commit=False) as session:
            row = session.exec(select(DeliveryRow).where(col(DeliveryRow.notification_id) == job.notification_id)
                               .with_for_update()).first()
            if row is None:
                return None
            row.attempts += 1
            session.add(DeliveryAttemptRow(notification_id=row.notification_id, number=row.attempts, at=now,
                                           outcome=result.outcome, status=result.status,
                                           duration_ms=result.duration_ms))
            recorded = Recorded(row.channel, result.outcome)
            ours = row.leased_until == job.lease
            if not ours:  # the lease ran out during the send and another worker took the row
                log.warning("delivery lease ran out during the send",
                            extra={"notification_id": str(row.notification_id)})
            note = session.get(NotificationRow, row.notification_id)
            if row.state != PENDING or note is None:
                pass  # delivered or given up meanwhile (by another worker): this attempt is only audited
            elif result.delivered:  # a success counts whoever holds the lease now
                self._delivered(session, row, note, result, now, recorded)
            elif not ours:
                pass  # the worker holding the row decides what comes next
            elif (not result.retryable
                  or row.attempts - row.attempts_before_retry >= self._settings.delivery_max_attempts):
                row.state, row.leased_until = FAILED, None
                row.last_reason, row.last_status = result.outcome, result.status
                recorded.gave_up = result.outcome
                if note.escalated_at is None:
                    recorded.escalated = self._escalate(session, note, row, FailureReason(result.outcome), now)
                elif row.retried_at is not None:
                    self._back_on_worklist(session, note, FailureReason(result.outcome))
            else:
                delay = self._backoff.full_jitter(row.attempts - row.attempts_before_retry, self._random)
                row.next_attempt_at, row.leased_until = now + timedelta(seconds=delay), None
                row.last_reason, row.last_status = result.outcome, result.status
            row.updated_at = now
            session.add(row)
            session.commit()
        return recorded

    def _delivered(self, session: Session, row: DeliveryRow, note: NotificationRow, result: SendResult,
                   now: datetime, recorded: Recorded) -> None:
        row.state, row.leased_until, row.last_reason, row.last_status = DELIVERED, None, None, result.status
        note.delivered_at, note.delivered_channel = now, row.channel
        session.add(note)
        deadline = note.deadline
        before = None if deadline is None else now <= deadline
        recorded.delivered = True
        recorded.timing = "no_deadline" if before is None else "before_deadline" if before else "late"
        recorded.latency_seconds = max(0.0, (now - note.reported_at).total_seconds())
        data = NotificationDelivered(notification_id=note.notification_id, kind=NotificationKind(note.kind),
                                     recipient=note.recipient_id, channel=Channel(row.channel), delivered_at=now,
                                     deadline=deadline, before_deadline=before, attempts=row.attempts)
        self._emit(session, NOTIFICATIONS_DELIVERED, note.notification_id, data, now)

    def _escalate(self, session: Session, note: NotificationRow, row: DeliveryRow, reason: FailureReason,
                  now: datetime) -> str:
        note.escalated_at = now
        session.add(note)
        item_id = worklist_item_id(note.notification_id)
        if session.get(WorklistRow, item_id) is None:
            da = note.kind == NotificationKind.DA_INCIDENT
            session.add(WorklistRow(item_id=item_id, kind=WORKLIST_KIND, reason=reason.value,
                                    contact_id=note.subject_id if da else None, child_id=note.child_id,
                                    notification_id=note.notification_id, recipient_id=note.recipient_id,
                                    created_at=now))
        data = DeliveryFailed(notification_id=note.notification_id, kind=NotificationKind(note.kind),
                              recipient=note.recipient_id, channel=Channel(row.channel), reason=reason,
                              attempts=row.attempts, deadline=note.deadline, escalated_at=now)
        self._emit(session, NOTIFICATIONS_DELIVERY_FAILED, note.notification_id, data, now)
        log.warning("delivery escalated to the MASH", extra={"notification_id": str(note.notification_id),
                                                             "reason": reason.value, "attempts": row.attempts})
        return reason.value

    @staticmethod
    def _back_on_worklist(session: Session, note: NotificationRow, reason: FailureReason) -> None:
        """Sent again by the MASH and failed for good again: its worklist item, if resolved, is open again."""
        item = session.get(WorklistRow, worklist_item_id(note.notification_id))
        if item is not None and item.resolved_at is not None:
            item.resolved_at, item.resolved_by, item.reason = None, None, reason.value
            session.add(item)
            log.warning("delivery sent again failed for good; back on the MASH worklist",
                        extra={"notification_id": str(note.notification_id), "reason": reason.value})

    def _emit(self, session: Session, topic: TopicSpec, notification_id: uuid.UUID, data: EventData,
              now: datetime) -> None:
        event = new_event(data, source=self._settings.source_uri, subject=str(notification_id), time=now,
                          event_id=event_id(notification_id, topic))
        outbox.add_event(session, self._outbox, topic.name, str(notification_id), event, now)

    def escalate_due(self, now: datetime) -> int:
        """Escalate (once) what is still undelivered inside the margin before
        its deadline and has had its first attempt, or a lease period for
        it. The number escalated. Blocking: call in a thread."""
        margin = timedelta(minutes=self._settings.escalation_margin_minutes)
        first_chance = now - timedelta(seconds=self._settings.delivery_lease_seconds)
        query = (select(NotificationRow, DeliveryRow)
                 .join(DeliveryRow, col(DeliveryRow.notification_id) == col(NotificationRow.notification_id))
                 .where(col(DeliveryRow.state) == PENDING, col(NotificationRow.escalated_at).is_(None),
                        col(NotificationRow.deadline).is_not(None), col(NotificationRow.deadline) <= now + margin,
                        or_(col(DeliveryRow.attempts) > 0, col(NotificationRow.created_at) <= first_chance)))
        with Session(self._engine) as session:
            if session.exec(query.limit(1)).first() is None:
                return 0  # the usual case: no write transaction at all
        escalated: list[str] = []
        with Session(for_writing(self._engine), expire_on_commit=False) as session:
            for note, row in session.exec(query.limit(500).with_for_update(skip_locked=True)).all():
                escalated.append(self._escalate(session, note, row, FailureReason.DEADLINE_NEAR, now))
            session.commit()
        for reason in escalated:
            self._metrics.delivery_escalations.labels(reason).inc()
        return len(escalated)

    # --- metrics -----------------------------------------------------------------------------------------------

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


def _aware(value: datetime | None) -> datetime | None:
    """An aggregate may come back without the column's type (naive on SQLite): it is UTC."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)


PENDING_METRIC = "frontdoor_notifications_deliveries_pending"
AGE_BUCKETS: tuple[tuple[str, timedelta | None], ...] = (
    ("lt_1m", timedelta(minutes=1)), ("lt_1h", timedelta(hours=1)), ("lt_1d", timedelta(days=1)), ("older", None))


class PendingByAge:
    """`frontdoor_notifications_deliveries_pending{age}`: deliveries not yet
    made, by the notification's age, counted from the database when scraped
    (so both processes' work shows and nothing drifts)."""

    def __init__(self, engine: Engine, clock: Clock = utc_now):
        self.engine = engine
        self._clock = clock

    @classmethod
    def install(cls, metrics: Metrics, engine: Engine, clock: Clock = utc_now) -> PendingByAge:
        """Add it to `metrics` once; a lifespan run again (tests) points the one added at its engine."""
        for collector in metrics.collectors:
            if isinstance(collector, cls):
                collector.engine, collector._clock = engine, clock
                return collector
        made = cls(engine, clock)
        metrics.add_collector(made)
        return made

    def counts(self) -> dict[str, int]:
        now = self._clock()
        sums: list[Any] = []
        younger_than: datetime | None = None  # the previous bucket's bound
        for name, age in AGE_BUCKETS:
            bound = None if age is None else now - age
            within = [] if bound is None else [col(NotificationRow.created_at) > bound]
            if younger_than is not None:
                within.append(col(NotificationRow.created_at) <= younger_than)
            sums.append(func.sum(case((and_(*within), 1), else_=0)).label(name))
            younger_than = bound
        query = (select(*sums).select_from(DeliveryRow)
                 .join(NotificationRow, col(NotificationRow.notification_id) == col(DeliveryRow.notification_id))
                 .where(col(DeliveryRow.state) == PENDING))
        with Session(self.engine) as session:
            found = session.exec(query).one()
        return {name: int(value or 0) for (name, _), value in zip(AGE_BUCKETS, found, strict=True)}

    @staticmethod
    def _family() -> GaugeMetricFamily:
        from prometheus_client.core import GaugeMetricFamily

        return GaugeMetricFamily(PENDING_METRIC, "Deliveries not yet made, by the notification's age",
                                 labels=["age"])

    def collect(self) -> Iterator[GaugeMetricFamily]:
        try:
            counts = self.counts()
        except Exception:  # a scrape must not fail because the database does not answer now
            log.warning("pending deliveries not counted", exc_info=False)
            return
        family = self._family()
        for name, value in counts.items():
            family.add_metric([name], value)
        yield family

    def describe(self) -> Iterator[GaugeMetricFamily]:
        yield self._family()
