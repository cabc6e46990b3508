"""The delivery queue on a real database (SQLite and PostgreSQL), sending to
a real HTTP receiver on 127.0.0.1 (verifying with `standardwebhooks`) and a
real SMTP sink (aiosmtpd): retries with backoff, the outcomes told apart, a
crashed worker's lease resumed, escalation once (after the last failure, or
inside the margin before the deadline), and an email that says nothing but
where to sign in."""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from email import message_from_bytes
from typing import Any

import httpx
import pytest
from aiosmtpd.controller import Controller
from notifications_e2e_kit import WebhookReceiver
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from frontdoor_contracts.notifications import FailureReason
from frontdoor_contracts.topics import NOTIFICATIONS_DELIVERED, NOTIFICATIONS_DELIVERY_FAILED
from frontdoor_platform.database import for_writing
from notifications.delivery import claims, signing
from notifications.delivery.loop import DeliveryLoop
from notifications.delivery.pending import PendingByAge
from notifications.delivery.queue import NotRetryable, enqueue, retry, worklist_item_id
from notifications.delivery.senders import Senders, SendResult, Target
from notifications.metrics import Metrics
from notifications.models import (
    DeliveryAttemptRow,
    DeliveryRow,
    NotificationRow,
    OutboxEvent,
    RecipientRow,
    SigningSecretRow,
    WorklistRow,
)
from notifications.sealing import keys_from_environment, signing_context
from notifications.settings import Settings

PAGE_URL = "https://frontdoor.council.example/page/"
CHILD = {"given_name": "Zebedee", "family_name": "Quixotic", "date_of_birth": date(2015, 3, 9),
         "upn": "H801200001001", "police_reference": "PR/7734521/26"}


class Clock:
    """The wall clock (webhook timestamps must be near it), plus an offset tests move forward."""

    def __init__(self) -> None:
        self.offset = timedelta()

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += timedelta(seconds=seconds)


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    with WebhookReceiver() as running:
        yield running


class Sink:
    def __init__(self) -> None:
        self.messages: list[tuple[list[str], bytes]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append((list(envelope.rcpt_tos), bytes(envelope.content)))
        return "250 OK"


@pytest.fixture
def smtp() -> Iterator[tuple[Sink, int]]:
    sink = Sink()
    controller = Controller(sink, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield sink, controller.port
    controller.stop()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def settings(**overrides: Any) -> Settings:
    base: dict[str, Any] = {"delivery_backoff_seconds": 0.05, "delivery_backoff_max_seconds": 0.2,
                            "delivery_poll_seconds": 0.05, "delivery_timeout_seconds": 5.0,
                            "delivery_lease_seconds": 30, "delivery_max_attempts": 8,
                            "escalation_margin_minutes": 120, "page_url": PAGE_URL,
                            "local_webhooks": True}  # the receivers are on 127.0.0.1
    return Settings(**(base | overrides))


def loop_of(engine: Engine, config: Settings, clock: Clock, metrics: Metrics | None = None) -> DeliveryLoop:
    return DeliveryLoop(engine, OutboxEvent, config, metrics or Metrics(), clock, random=random.Random(1).random)


def sealed_secret(urn: str, secret: str, now: datetime) -> SigningSecretRow:
    """A signing secret as rotation stores it: sealed under the key the environment names (the loop's)."""
    sealed = keys_from_environment().seal(secret, signing_context(urn))
    return SigningSecretRow(recipient_id=urn, secret=sealed.ciphertext, key_id=sealed.key_id, created_at=now)


def school(engine: Engine, urn: str, *, channel: str = "webhook", url: str | None = None,
           email: str | None = None, now: datetime | None = None) -> str:
    """A directory entry with a signing secret; the secret."""
    now = now or datetime.now(UTC)
    secret = signing.new_secret()
    with Session(engine) as session:
        session.add(RecipientRow(recipient_id=urn, kind="school", name="Test Primary", phase="primary",
                                 channel=channel, webhook_url=url, alert_email=email, updated_at=now))
        session.add(sealed_secret(urn, secret, now))
        session.commit()
    return secret


def notify(engine: Engine, urn: str, *, channel: str = "webhook", deadline: datetime | None = None,
           created_at: datetime | None = None, **overrides: Any) -> uuid.UUID:
    """What the consumer's handler does: the notification and its delivery row, in one transaction."""
    now = created_at or datetime.now(UTC)
    notification_id = uuid.uuid4()
    with Session(engine) as session:
        session.add(NotificationRow(
            notification_id=notification_id, kind="da_incident", recipient_id=urn, phase="primary",
            subject_id=uuid.uuid4(), child_id=uuid.uuid4(), source_event_id="test", reported_at=now,
            deadline=deadline or now + timedelta(hours=12), created_at=now, incident_at=now - timedelta(hours=3),
            child_present=True, **(CHILD | overrides)))
        enqueue(session, notification_id, channel, now)
        session.commit()
    return notification_id


def attempts(engine: Engine, notification_id: uuid.UUID) -> list[tuple[str, int | None]]:
    with Session(engine) as session:
        rows = session.exec(select(DeliveryAttemptRow).where(col(DeliveryAttemptRow.notification_id) == notification_id)
                            .order_by(col(DeliveryAttemptRow.number))).all()
        return [(r.outcome, r.status) for r in rows]


def delivery(engine: Engine, notification_id: uuid.UUID) -> DeliveryRow:
    with Session(engine) as session:
        row = session.get(DeliveryRow, notification_id)
        assert row is not None
        return row


def notification(engine: Engine, notification_id: uuid.UUID) -> NotificationRow:
    with Session(engine) as session:
        row = session.get(NotificationRow, notification_id)
        assert row is not None
        return row


def events(engine: Engine, topic: str, notification_id: uuid.UUID) -> list[dict[str, Any]]:
    with Session(engine) as session:
        rows = session.exec(select(OutboxEvent).where(col(OutboxEvent.topic) == topic,
                                                      col(OutboxEvent.key) == str(notification_id))).all()
        return [json.loads(row.payload) for row in rows]


def worklist(engine: Engine, notification_id: uuid.UUID) -> list[WorklistRow]:
    with Session(engine) as session:
        return list(session.exec(select(WorklistRow).where(col(WorklistRow.notification_id) == notification_id)))


def sample(metrics: Metrics, name: str, **labels: str) -> float:
    value = metrics.registry.get_sample_value(name, labels)
    return value or 0.0


async def run_until(loop: DeliveryLoop, done: Any, timeout: float = 15.0) -> float:
    """Run the real loop until `done()`; the seconds it took."""
    task = asyncio.create_task(loop.run())
    started = time.perf_counter()
    try:
        while not done():
            assert time.perf_counter() - started < timeout, "the loop did not get there in time"
            assert not task.done(), task
            await asyncio.sleep(0.01)
        return time.perf_counter() - started
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def test_a_receiver_failing_three_times_then_succeeding_gets_it_once_verified(
    engine: Engine, receiver: WebhookReceiver
) -> None:
    secret = school(engine, "100001", url=receiver.url("/hooks/100001"))
    receiver.behave("/hooks/100001", fail_first=3, status=500, secrets=[secret])
    metrics = Metrics()
    notification_id = notify(engine, "100001")
    loop = loop_of(engine, settings(), Clock(), metrics)
    await run_until(loop, lambda: sample(metrics, "frontdoor_notifications_deliveries_total", channel="webhook",
                                         timing="before_deadline") == 1)  # counted once committed

    sent = receiver.requests("/hooks/100001")
    assert [r.status for r in sent] == [500, 500, 500, 200]
    assert all(r.verified for r in sent)  # the standardwebhooks library verified every one
    assert {r.webhook_id for r in sent} == {str(notification_id)}  # one id: the receiver dedupes on it
    assert attempts(engine, notification_id) == [("server_error", 500)] * 3 + [("delivered", 200)]
    row = delivery(engine, notification_id)
    assert (row.attempts, row.leased_until, row.last_reason) == (4, None, None)
    note = notification(engine, notification_id)
    assert note.delivered_at is not None and note.delivered_channel == "webhook" and note.escalated_at is None
    [delivered] = events(engine, NOTIFICATIONS_DELIVERED.name, notification_id)
    assert delivered["data"]["attempts"] == 4 and delivered["data"]["before_deadline"] is True
    assert delivered["data"]["recipient"] == "100001" and delivered["data"]["channel"] == "webhook"
    assert "Zebedee" not in json.dumps(delivered) and CHILD["upn"] not in json.dumps(delivered)
    body = sent[-1].json()
    assert body["given_name"] == "Zebedee" and body["police_attended"] is True and body["upn"] == CHILD["upn"]
    assert body["notification_id"] == str(notification_id) and body["mash_contact"]
    assert set(body) == {"notification_id", "kind", "deadline", "given_name", "family_name", "date_of_birth", "upn",
                         "incident_at", "police_attended", "police_reference", "child_present", "mash_contact"}
    assert events(engine, NOTIFICATIONS_DELIVERY_FAILED.name, notification_id) == []
    assert sample(metrics, "frontdoor_notifications_delivery_attempts_total", channel="webhook",
                  outcome="server_error") == 3
    assert sample(metrics, "frontdoor_notifications_deliveries_total", channel="webhook",
                  timing="before_deadline") == 1
    assert sample(metrics, "frontdoor_notifications_delivery_latency_seconds_count", channel="webhook") == 1

    assert await loop.deliver_due() == 0  # delivered: never claimed again
    assert len(receiver.requests("/hooks/100001")) == 4


async def test_client_errors_server_errors_timeouts_and_connection_failures_are_told_apart(
    engine: Engine, receiver: WebhookReceiver
) -> None:
    closed = free_port()  # nothing listens there
    cases = {"100001": ("/refuses", {"fail_first": 99, "status": 400}),
             "100002": ("/fails", {"fail_first": 99, "status": 503}),
             "100003": ("/slow", {"delay": 6.0}),
             "100004": ("/later", {"fail_first": 99, "status": 429})}
    ids: dict[str, uuid.UUID] = {}
    for urn, (path, how) in cases.items():
        school(engine, urn, url=receiver.url(path))
        receiver.behave(path, **how)
        ids[urn] = notify(engine, urn)
    school(engine, "100005", url=f"http://127.0.0.1:{closed}/nobody")
    ids["100005"] = notify(engine, "100005")
    school(engine, "100006", url=None)  # no address in the directory
    ids["100006"] = notify(engine, "100006")
    with Session(engine) as session:  # an address, but the only secret is not usable: never sent unsigned
        session.add(RecipientRow(recipient_id="100007", kind="school", name="Test Primary", channel="webhook",
                                 webhook_url=receiver.url("/unsigned"), updated_at=datetime.now(UTC)))
        session.add(sealed_secret("100007", "whsec_not*base64", datetime.now(UTC)))
        session.commit()
    ids["100007"] = notify(engine, "100007")
    metrics = Metrics()
    clock = Clock()
    loop = loop_of(engine, settings(delivery_timeout_seconds=2.0), clock, metrics)
    started = clock()
    assert await loop.deliver_due() == 7

    outcome = {urn: attempts(engine, notification_id) for urn, notification_id in ids.items()}
    assert outcome == {"100001": [("client_error", 400)], "100002": [("server_error", 503)],
                       "100003": [("timeout", None)], "100004": [("server_error", 429)],
                       "100005": [("connection", None)], "100006": [("no_channel", None)],
                       "100007": [("no_channel", None)]}
    state = {urn: delivery(engine, notification_id).state for urn, notification_id in ids.items()}
    # a refusal retrying will not change fails at once (and escalates); "later" is retried
    assert state == {"100001": "failed", "100002": "pending", "100003": "pending", "100004": "pending",
                     "100005": "pending", "100006": "failed", "100007": "failed"}
    for urn in ("100002", "100003", "100004", "100005"):
        row = delivery(engine, ids[urn])
        assert row.leased_until is None and row.next_attempt_at > started  # due again after its attempt
    [refused] = events(engine, NOTIFICATIONS_DELIVERY_FAILED.name, ids["100001"])
    assert refused["data"]["reason"] == "client_error" and refused["data"]["attempts"] == 1
    assert [w.reason for w in worklist(engine, ids["100006"])] == ["no_channel"]
    assert receiver.requests("/unsigned") == []
    assert events(engine, NOTIFICATIONS_DELIVERY_FAILED.name, ids["100002"]) == []
    assert sample(metrics, "frontdoor_notifications_delivery_failures_total", reason="client_error") == 1
    assert sample(metrics, "frontdoor_notifications_delivery_attempts_total", channel="webhook",
                  outcome="timeout") == 1


class Trickler:
    """An HTTP server that answers one byte every 0.2 s: never idle long enough for a per-read timeout."""

    def __init__(self) -> None:
        self._server = socket.create_server(("127.0.0.1", 0))
        self.port = self._server.getsockname()[1]
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        with contextlib.suppress(OSError):
            connection, _ = self._server.accept()
            with connection:
                connection.recv(65536)
                for byte in b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nx-padding: " + b"." * 60 + b"\r\n\r\n":
                    connection.sendall(bytes([byte]))
                    time.sleep(0.2)

    def close(self) -> None:
        self._server.close()


async def test_a_receiver_trickling_its_answer_is_a_timeout_at_the_send_timeout_not_when_it_finishes() -> None:
    trickler = Trickler()
    try:
        async with httpx.AsyncClient() as client:
            senders = Senders(client, settings(delivery_timeout_seconds=0.5))
            target = Target("n-1", "webhook", b"{}", url=f"http://127.0.0.1:{trickler.port}/hook",
                            secrets=(signing.new_secret(),))
            result = await senders.send(target, int(time.time()))
    finally:
        trickler.close()
    assert result.outcome == "timeout"  # the whole answer would take 17 s, and would be a 200


async def test_a_crashed_workers_lease_runs_out_and_the_row_is_resumed_once(
    engine: Engine, receiver: WebhookReceiver
) -> None:
    secret = school(engine, "100001", url=receiver.url("/hooks"))
    receiver.behave("/hooks", secrets=[secret])
    notification_id = notify(engine, "100001")
    clock = Clock()
    config = settings(delivery_lease_seconds=30)
    crashed = loop_of(engine, config, clock)
    # claimed, then the worker died
    claimed = await asyncio.to_thread(claims.claim, engine, config, 10, clock(), frozenset())
    assert [job.notification_id for job in claimed.jobs] == [notification_id]
    assert delivery(engine, notification_id).leased_until is not None

    resumed = loop_of(engine, config, clock)
    assert await resumed.deliver_due() == 0  # the lease holds: nobody sends it twice meanwhile
    assert receiver.requests() == []
    clock.advance(31)  # the lease runs out
    # (the webhook timestamp follows the clock: the receiver accepts a skew of minutes)
    assert await resumed.deliver_due() == 1
    assert list(receiver.accepted_by_id()) == [str(notification_id)]
    assert delivery(engine, notification_id).state == "delivered"
    assert attempts(engine, notification_id) == [("delivered", 200)]
    assert len(events(engine, NOTIFICATIONS_DELIVERED.name, notification_id)) == 1

    # the crashed worker's send, had it got an answer after all, is audited and changes nothing
    late = await asyncio.to_thread(crashed.results.record, claimed.jobs[0], SendResult("delivered", 200), clock())
    assert late is not None and not late.delivered
    assert attempts(engine, notification_id) == [("delivered", 200), ("delivered", 200)]
    assert len(events(engine, NOTIFICATIONS_DELIVERED.name, notification_id)) == 1
    clock.advance(60)
    assert await resumed.deliver_due() == 0
    assert len(receiver.requests()) == 1


async def test_a_stopped_loop_gives_back_the_leases_of_its_unfinished_sends(
    engine: Engine, receiver: WebhookReceiver
) -> None:
    secret = school(engine, "100001", url=receiver.url("/slow"))
    behaviour = receiver.behave("/slow", secrets=[secret], delay=3.0)
    notification_id = notify(engine, "100001")
    clock = Clock()
    config = settings(delivery_lease_seconds=600, delivery_timeout_seconds=10)
    stopping = loop_of(engine, config, clock)
    task = asyncio.create_task(stopping.run())
    try:
        started = time.perf_counter()
        while not behaviour.seen:  # the request arrived; its answer is 3 s away
            assert time.perf_counter() - started < 10
            await asyncio.sleep(0.01)
        assert delivery(engine, notification_id).leased_until is not None
    finally:
        task.cancel()  # a deploy's SIGTERM: the send is cut short
        await asyncio.gather(task, return_exceptions=True)
    row = delivery(engine, notification_id)
    assert (row.state, row.leased_until, row.attempts) == ("pending", None, 0)
    behaviour.delay = 0.0
    assert await loop_of(engine, config, clock).deliver_due() == 1  # at once, not after the 10-minute lease
    assert delivery(engine, notification_id).state == "delivered"


async def test_after_the_last_failure_it_escalates_once_and_is_tried_no_more(
    engine: Engine, receiver: WebhookReceiver
) -> None:
    school(engine, "100001", url=receiver.url("/down"))
    receiver.behave("/down", fail_first=10**6, status=500)
    metrics = Metrics()
    clock = Clock()
    notification_id = notify(engine, "100001")
    loop = loop_of(engine, settings(delivery_max_attempts=3), clock, metrics)
    for _ in range(6):
        await loop.deliver_due()
        clock.advance(1)  # past any backoff
    assert attempts(engine, notification_id) == [("server_error", 500)] * 3
    assert len(receiver.requests("/down")) == 3
    row = delivery(engine, notification_id)
    assert (row.state, row.attempts, row.last_reason, row.leased_until) == ("failed", 3, "server_error", None)
    assert notification(engine, notification_id).escalated_at is not None
    [failed] = events(engine, NOTIFICATIONS_DELIVERY_FAILED.name, notification_id)
    assert failed["data"]["reason"] == "server_error" and failed["data"]["attempts"] == 3
    assert failed["id"] == str(uuid.uuid5(notification_id, NOTIFICATIONS_DELIVERY_FAILED.name))
    [item] = worklist(engine, notification_id)
    assert (item.kind, item.reason, item.recipient_id) == ("delivery_failed", "server_error", "100001")
    assert item.item_id == worklist_item_id(notification_id) and item.child_id is not None
    assert await asyncio.to_thread(loop.escalate_due, clock() + timedelta(days=2)) == 0  # once only
    assert sample(metrics, "frontdoor_notifications_delivery_escalations_total", reason="server_error") == 1
    assert events(engine, NOTIFICATIONS_DELIVERED.name, notification_id) == []


def send_again(engine: Engine, notification_id: uuid.UUID, now: datetime) -> None:
    """What `POST /v1/deliveries/{id}/retry` does, in its own transaction."""
    with Session(for_writing(engine)) as session:
        row, note = session.get(DeliveryRow, notification_id), session.get(NotificationRow, notification_id)
        assert row is not None and note is not None
        recipient = session.get(RecipientRow, note.recipient_id)
        retry(session, row, note, recipient.channel if recipient else None, now, "mash-1")
        session.commit()


async def test_a_refused_delivery_sent_again_after_the_url_is_fixed_arrives_once_and_is_not_escalated_again(
    engine: Engine, receiver: WebhookReceiver
) -> None:
    secret = school(engine, "100001", url=receiver.url("/wrong"))
    receiver.behave("/wrong", fail_first=10**6, status=404)
    receiver.behave("/hooks/100001", secrets=[secret])
    clock = Clock()
    notification_id = notify(engine, "100001")
    loop = loop_of(engine, settings(), clock)
    await loop.deliver_due()
    assert delivery(engine, notification_id).state == "failed"  # a 4xx is not retried by itself
    with Session(for_writing(engine)) as session:  # the admin fixes the school's URL
        recipient = session.get(RecipientRow, "100001")
        assert recipient is not None
        recipient.webhook_url = receiver.url("/hooks/100001")
        session.add(recipient)
        session.commit()
    send_again(engine, notification_id, clock())
    with pytest.raises(NotRetryable, match="queued already"):  # sent again once, not twice
        send_again(engine, notification_id, clock())
    assert await loop.deliver_due() == 1
    assert await loop.deliver_due() == 0  # delivered: never claimed again
    with pytest.raises(NotRetryable, match="delivered"):
        send_again(engine, notification_id, clock())
    assert attempts(engine, notification_id) == [("client_error", 404), ("delivered", 200)]
    [arrived] = receiver.accepted("/hooks/100001")
    assert arrived.verified and arrived.webhook_id == str(notification_id)
    row = delivery(engine, notification_id)
    assert (row.state, row.attempts, row.attempts_before_retry, row.retried_by) == ("delivered", 2, 1, "mash-1")
    [delivered] = events(engine, NOTIFICATIONS_DELIVERED.name, notification_id)
    assert delivered["data"]["attempts"] == 2
    assert len(events(engine, NOTIFICATIONS_DELIVERY_FAILED.name, notification_id)) == 1  # escalated once, at the 404
    assert len(worklist(engine, notification_id)) == 1


async def test_a_delivery_sent_again_after_its_last_attempt_gets_every_attempt_again(
    engine: Engine, receiver: WebhookReceiver
) -> None:
    secret = school(engine, "100001", url=receiver.url("/hooks/100001"))
    receiver.behave("/hooks/100001", fail_first=3, status=503, secrets=[secret])
    clock = Clock()
    notification_id = notify(engine, "100001")
    loop = loop_of(engine, settings(delivery_max_attempts=2), clock)
    for _ in range(3):
        await loop.deliver_due()
        clock.advance(1)  # past any backoff
    assert (delivery(engine, notification_id).state, len(receiver.requests())) == ("failed", 2)
    send_again(engine, notification_id, clock())
    for _ in range(3):  # a third failure is not the last: two more attempts
        await loop.deliver_due()
        clock.advance(1)
    assert attempts(engine, notification_id) == [("server_error", 503)] * 3 + [("delivered", 200)]
    assert delivery(engine, notification_id).state == "delivered"
    assert len(events(engine, NOTIFICATIONS_DELIVERY_FAILED.name, notification_id)) == 1


async def test_sent_again_and_failing_again_it_backs_off_from_the_start_and_is_back_on_the_worklist(
    engine: Engine, receiver: WebhookReceiver
) -> None:
    secret = school(engine, "100001", url=receiver.url("/down"))
    receiver.behave("/down", fail_first=10**6, status=503, secrets=[secret])
    clock = Clock()
    notification_id = notify(engine, "100001")
    config = settings(delivery_backoff_seconds=10, delivery_backoff_max_seconds=10_000, delivery_max_attempts=3)
    loop = DeliveryLoop(engine, OutboxEvent, config, Metrics(), clock, random=lambda: 0.99)
    for _ in range(3):
        await loop.deliver_due()
        clock.advance(1000)  # past any backoff
    assert delivery(engine, notification_id).state == "failed"
    with Session(for_writing(engine)) as session:  # the MASH phoned the school and resolved the item
        [item] = session.exec(select(WorklistRow).where(col(WorklistRow.notification_id) == notification_id)).all()
        item.resolved_at, item.resolved_by = clock(), "mash-1:school_phoned"
        session.add(item)
        session.commit()
    send_again(engine, notification_id, clock())
    await loop.deliver_due()
    row = delivery(engine, notification_id)
    # the first failure of the new series waits at most the first ceiling (10 s), not the fourth's (80 s)
    assert row.state == "pending" and row.attempts == 4
    assert (row.next_attempt_at - clock()).total_seconds() <= 10
    for _ in range(3):
        clock.advance(1000)
        await loop.deliver_due()
    row = delivery(engine, notification_id)
    assert (row.state, row.attempts) == ("failed", 6)
    [item] = worklist(engine, notification_id)
    assert (item.resolved_at, item.resolved_by, item.reason) == (None, None, "server_error")  # open again
    assert len(events(engine, NOTIFICATIONS_DELIVERY_FAILED.name, notification_id)) == 1


def test_a_delivery_is_not_sent_again_when_acknowledged_or_its_school_is_not_in_the_directory(
    engine: Engine,
) -> None:
    school(engine, "100001", channel="inbox")
    notification_id = notify(engine, "100001", channel="inbox")
    with Session(for_writing(engine)) as session:
        row, note = session.get(DeliveryRow, notification_id), session.get(NotificationRow, notification_id)
        assert row is not None and note is not None
        row.state = "failed"
        with pytest.raises(NotRetryable, match="not in the directory"):
            retry(session, row, note, None, datetime.now(UTC), "mash-1")
        note.acknowledged_at = datetime.now(UTC)
        with pytest.raises(NotRetryable, match="acknowledged"):
            retry(session, row, note, "inbox", datetime.now(UTC), "mash-1")
        assert row.state == "failed" and row.retried_at is None  # refused: nothing changed


async def test_inside_the_margin_before_the_deadline_it_escalates_once_and_keeps_trying(
    engine: Engine, receiver: WebhookReceiver
) -> None:
    secret = school(engine, "100001", url=receiver.url("/flaky"))
    behaviour = receiver.behave("/flaky", fail_first=10**6, status=502, secrets=[secret])
    clock = Clock()
    now = clock()
    metrics = Metrics()
    soon = notify(engine, "100001", deadline=now + timedelta(minutes=90))  # inside the 120-minute margin
    fresh = notify(engine, "100001", deadline=now + timedelta(minutes=90))  # same, but not yet tried
    with Session(engine) as session:  # only `soon` is due now
        row = session.get(DeliveryRow, fresh)
        assert row is not None
        row.next_attempt_at = now + timedelta(minutes=5)
        session.add(row)
        session.commit()
    far = notify(engine, "100001", deadline=now + timedelta(hours=5))  # outside it
    loop = loop_of(engine, settings(delivery_lease_seconds=60), clock, metrics)
    assert await loop.deliver_due() == 2  # soon and far fail once
    assert await asyncio.to_thread(loop.escalate_due, clock()) == 1  # only `soon`: tried and inside the margin
    assert await asyncio.to_thread(loop.escalate_due, clock()) == 0  # once
    [failed] = events(engine, NOTIFICATIONS_DELIVERY_FAILED.name, soon)
    assert failed["data"]["reason"] == FailureReason.DEADLINE_NEAR and failed["data"]["attempts"] == 1
    assert [w.reason for w in worklist(engine, soon)] == ["deadline_near"]
    assert events(engine, NOTIFICATIONS_DELIVERY_FAILED.name, far) == []
    assert events(engine, NOTIFICATIONS_DELIVERY_FAILED.name, fresh) == []  # its first attempt comes first

    assert delivery(engine, soon).state == "pending"  # escalated, and still being delivered
    behaviour.fail_first = 0
    clock.advance(1)
    await loop.deliver_due()
    assert delivery(engine, soon).state == "delivered"
    [delivered] = events(engine, NOTIFICATIONS_DELIVERED.name, soon)
    assert delivered["data"]["attempts"] == 2 and delivered["data"]["before_deadline"] is True
    assert len(events(engine, NOTIFICATIONS_DELIVERY_FAILED.name, soon)) == 1
    clock.advance(61)  # a lease period after its creation, `fresh` escalates untried
    assert await asyncio.to_thread(loop.escalate_due, clock()) == 1
    assert len(events(engine, NOTIFICATIONS_DELIVERY_FAILED.name, fresh)) == 1
    assert sample(metrics, "frontdoor_notifications_delivery_escalations_total", reason="deadline_near") == 2


async def test_an_email_alert_reaches_the_sink_with_the_page_url_and_no_personal_data(
    engine: Engine, smtp: tuple[Sink, int]
) -> None:
    sink, port = smtp
    school(engine, "100001", channel="email", email="dsl@school.example")
    notification_id = notify(engine, "100001", channel="email")
    loop = loop_of(engine, settings(smtp_host="127.0.0.1", smtp_port=port), Clock())
    assert await loop.deliver_due() == 1
    assert attempts(engine, notification_id) == [("delivered", None)]
    [(to, raw)] = sink.messages
    assert to == ["dsl@school.example"]
    message = message_from_bytes(raw)
    text = raw.decode(errors="replace") + str(message.get_payload(decode=True))
    assert PAGE_URL in text
    for personal in ("Zebedee", "Quixotic", "2015-03-09", "09/03/2015", CHILD["upn"], CHILD["police_reference"],
                     "100001", str(notification_id)):
        assert personal not in text, personal
    assert notification(engine, notification_id).delivered_channel == "email"
    assert len(events(engine, NOTIFICATIONS_DELIVERED.name, notification_id)) == 1


async def test_an_email_to_a_closed_smtp_port_is_a_connection_failure_and_retried(engine: Engine) -> None:
    school(engine, "100001", channel="email", email="dsl@school.example")
    notification_id = notify(engine, "100001", channel="email")
    loop = loop_of(engine, settings(smtp_host="127.0.0.1", smtp_port=free_port()), Clock())
    assert await loop.deliver_due() == 1
    assert attempts(engine, notification_id) == [("connection", None)]
    assert delivery(engine, notification_id).state == "pending"


async def test_an_inbox_notification_is_delivered_on_the_first_pass_once(engine: Engine) -> None:
    school(engine, "100001", channel="inbox")
    notification_id = notify(engine, "100001", channel="inbox")
    clock = Clock()
    loop = loop_of(engine, settings(), clock)
    assert await loop.deliver_due() == 1
    assert delivery(engine, notification_id).state == "delivered"
    assert notification(engine, notification_id).delivered_channel == "inbox"
    clock.advance(5)
    assert await loop.deliver_due() == 0
    [delivered] = events(engine, NOTIFICATIONS_DELIVERED.name, notification_id)
    assert delivered["data"]["channel"] == "inbox" and delivered["data"]["attempts"] == 1
    note = notification(engine, notification_id)  # the incident's contact and child, by id only
    data = delivered["data"]
    assert (data["contact_id"], data["child_id"]) == (str(note.subject_id), str(note.child_id))


async def test_an_erased_notification_is_never_sent(engine: Engine, receiver: WebhookReceiver) -> None:
    school(engine, "100001", url=receiver.url("/hooks"))
    notification_id = notify(engine, "100001", given_name=None, family_name=None, erased_at=datetime.now(UTC))
    loop = loop_of(engine, settings(), Clock())
    assert await loop.deliver_due() == 1
    assert receiver.requests() == []
    assert delivery(engine, notification_id).state == "failed"
    assert events(engine, NOTIFICATIONS_DELIVERED.name, notification_id) == []


async def test_the_running_loop_wakes_at_once_when_told_and_resumes_with_many_in_flight(
    engine: Engine, receiver: WebhookReceiver
) -> None:
    secret = school(engine, "100001", url=receiver.url("/hooks"))
    receiver.behave("/hooks", secrets=[secret], delay=0.05)
    # a generous send timeout: a reply slowed by a loaded machine past 0.5 s is retried, and counted twice here
    loop = loop_of(engine, settings(delivery_poll_seconds=30, delivery_concurrency=8, delivery_timeout_seconds=10),
                   Clock())
    task = asyncio.create_task(loop.run())
    try:
        await asyncio.sleep(0.3)  # idle: waiting up to 30 s for work
        ids = [notify(engine, "100001") for _ in range(40)]
        started, wall = time.perf_counter(), time.time()
        threading.Thread(target=loop.wake).start()  # the consumer's commit hook, from another thread
        while len(receiver.accepted_by_id()) < 40:
            assert time.perf_counter() - started < 10 and not task.done()
            await asyncio.sleep(0.01)
        elapsed = time.perf_counter() - started
        woken_in = min(r.at for r in receiver.requests()) - wall
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    assert woken_in < 15  # woken, not polled: the poll is 30 s (speed itself is `make bench`'s)
    assert elapsed < 5  # 8 at once at 50 ms each
    assert set(receiver.accepted_by_id()) == {str(i) for i in ids}
    assert all(count == 1 for count in receiver.accepted_by_id().values())


async def test_a_stop_that_arrives_with_a_wake_up_stops_the_loop(engine: Engine) -> None:
    """Told to stop in the same instant it is woken (a delivery finishing as the service shuts down): it
    stops. Python 3.11's wait_for swallowed such a cancel and the loop ran on; a CI run hung on it."""
    loop = loop_of(engine, settings(delivery_poll_seconds=30), Clock())
    task = asyncio.create_task(loop.run())
    await asyncio.sleep(0.3)  # idle: waiting up to 30 s for work
    loop.wake()
    task.cancel()
    done, _ = await asyncio.wait([task], timeout=5)
    assert done == {task} and task.cancelled()


async def test_pending_deliveries_are_counted_by_age_when_scraped(engine: Engine) -> None:
    school(engine, "100001", channel="inbox")
    now = datetime.now(UTC)
    for age in (timedelta(seconds=5), timedelta(minutes=10), timedelta(minutes=20), timedelta(hours=3),
                timedelta(days=2)):
        notify(engine, "100001", channel="inbox", created_at=now - age)
    collector = PendingByAge(engine, lambda: now)
    assert collector.counts() == {"lt_1m": 1, "lt_1h": 2, "lt_1d": 1, "older": 1}
    [family] = list(collector.collect())
    assert {s.labels["age"]: s.value for s in family.samples} == {"lt_1m": 1, "lt_1h": 2, "lt_1d": 1, "older": 1}
    metrics = Metrics()
    metrics.add_collector(collector)
    assert metrics.registry.get_sample_value("frontdoor_notifications_deliveries_pending", {"age": "lt_1h"}) == 2
