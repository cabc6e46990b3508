"""Webhooks that cannot be turned inward, at each send: the delivery loop on
a real database (SQLite and PostgreSQL) with its real webhook client
(`delivery/pinned.py`), raw listeners on 127.0.0.1 that count every TCP
connection, and the resolver as the one seam (the function the client's
network backend asks; the default asks the event loop's getaddrinfo, shown
with `localhost` from /etc/hosts).

- a name that resolves to 127.0.0.1 (DNS rebinding: it passed when it was
  set) is refused at send, before any connection: a failed attempt
  (`no_channel`), escalated at once; logged with the reason, never the
  address; with the development setting the same send does connect, to
  the address the resolver gave, naming the host in the TLS handshake;
- one refused answer among several refuses them all;
- the connection goes to the resolved address with the URL's Host header;
- plain http and this machine are refused without the development setting;
- proxy settings in the environment are not used; redirects not followed."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import threading
import uuid
from collections.abc import Iterator, Sequence
from datetime import UTC, date, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
from notifications_e2e_kit import WebhookReceiver
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from frontdoor_contracts.topics import NOTIFICATIONS_DELIVERY_FAILED
from notifications.delivery import signing
from notifications.delivery.loop import DeliveryLoop
from notifications.delivery.pinned import DestinationRefused, PinnedBackend, Resolver, webhook_transport
from notifications.delivery.queue import enqueue
from notifications.domain.destinations import Refusal
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

REFUSED_LOG = "webhook destination refused; not sent"


class Listener:
    """A raw TCP listener on 127.0.0.1: counts the connections it accepts and keeps the first bytes of each."""

    def __init__(self) -> None:
        self._socket = socket.create_server(("127.0.0.1", 0))
        self.port = int(self._socket.getsockname()[1])
        self.first_bytes: list[bytes] = []
        self._thread = threading.Thread(target=self._serve, name="listener", daemon=True)

    def __enter__(self) -> Listener:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._socket.close()

    @property
    def accepted(self) -> int:
        return len(self.first_bytes)

    def _serve(self) -> None:
        while True:
            try:
                connection, _ = self._socket.accept()
            except OSError:
                return
            with connection:
                connection.settimeout(2)
                try:
                    self.first_bytes.append(connection.recv(4096))
                except OSError:
                    self.first_bytes.append(b"")


def resolver(answers: dict[str, list[str]], asked: list[tuple[str, int]]) -> Resolver:
    async def resolve(host: str, port: int) -> Sequence[str]:
        asked.append((host, port))
        return answers[host]
    return resolve


def settings(**overrides: Any) -> Settings:
    return Settings(**({"delivery_timeout_seconds": 5.0, "delivery_lease_seconds": 30} | overrides))


def school(engine: Engine, urn: str, url: str) -> None:
    now = datetime.now(UTC)
    with Session(engine) as session:
        session.add(RecipientRow(recipient_id=urn, kind="school", name="Test Primary", phase="primary",
                                 channel="webhook", webhook_url=url, updated_at=now))
        sealed = keys_from_environment().seal(signing.new_secret(), signing_context(urn))
        session.add(SigningSecretRow(recipient_id=urn, secret=sealed.ciphertext, key_id=sealed.key_id, created_at=now))
        session.commit()


def notify(engine: Engine, urn: str) -> uuid.UUID:
    now, notification_id = datetime.now(UTC), uuid.uuid4()
    with Session(engine) as session:
        session.add(NotificationRow(
            notification_id=notification_id, kind="da_incident", recipient_id=urn, phase="primary",
            subject_id=uuid.uuid4(), child_id=uuid.uuid4(), source_event_id="test", reported_at=now,
            deadline=now + timedelta(hours=12), created_at=now, incident_at=now - timedelta(hours=3),
            child_present=True, given_name="Zebedee", family_name="Quixotic", date_of_birth=date(2015, 3, 9),
            upn="H801200001001", police_reference="PR/7734521/26"))
        enqueue(session, notification_id, "webhook", now)
        session.commit()
    return notification_id


def attempts(engine: Engine, notification_id: uuid.UUID) -> list[tuple[str, int | None]]:
    with Session(engine) as session:
        rows = session.exec(select(DeliveryAttemptRow)
                            .where(col(DeliveryAttemptRow.notification_id) == notification_id)).all()
        return [(r.outcome, r.status) for r in rows]


def loop_of(engine: Engine, config: Settings, transport: httpx.AsyncBaseTransport | None = None) -> DeliveryLoop:
    return DeliveryLoop(engine, OutboxEvent, config, Metrics(), transport=transport)


def refusals(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [str(getattr(r, "refused", "")) for r in caplog.records if r.getMessage() == REFUSED_LOG]


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    with WebhookReceiver() as running:
        yield running


async def test_a_name_resolving_to_this_machine_is_refused_at_send_and_escalated(
        engine: Engine, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, "notifications.delivery")
    with Listener() as listener:
        url = f"https://school.example:{listener.port}/hook"  # a name: taken when set, judged at each send
        school(engine, "100001", url)
        refused = notify(engine, "100001")
        asked: list[tuple[str, int]] = []
        production = settings()
        rebinding = resolver({"school.example": ["127.0.0.1"]}, asked)
        assert await loop_of(engine, production, webhook_transport(production, rebinding)).deliver_due() == 1

        assert asked == [("school.example", listener.port)]  # the sender's own resolver was asked...
        assert listener.accepted == 0  # ...and nothing connected to this machine
        assert attempts(engine, refused) == [("no_channel", None)]
        with Session(engine) as session:
            row = session.get(DeliveryRow, refused)
            assert row is not None and (row.state, row.last_reason) == ("failed", "no_channel")
            assert [w.reason for w in session.exec(select(WorklistRow).where(
                col(WorklistRow.notification_id) == refused))] == ["no_channel"]
            assert session.exec(select(OutboxEvent).where(col(OutboxEvent.topic) == NOTIFICATIONS_DELIVERY_FAILED.name,
                                                          col(OutboxEvent.key) == str(refused))).first()
        assert refusals(caplog) == ["loopback"]
        logged = " ".join(str(vars(r)) for r in caplog.records)
        assert "school.example" not in logged and "127.0.0.1" not in logged

        # the control: with the development setting the same send connects, to the address the resolver gave,
        # and names the host in the TLS handshake (SNI; the listener speaks no TLS, so it fails there)
        again = notify(engine, "100001")
        development = settings(local_webhooks=True)
        assert await loop_of(engine, development, webhook_transport(development, rebinding)).deliver_due() == 1
        assert listener.accepted == 1 and b"school.example" in listener.first_bytes[0]
        assert attempts(engine, again) == [("connection", None)]


async def test_one_refused_answer_among_several_refuses_them_all_before_any_connection() -> None:
    with Listener() as listener:
        asked: list[tuple[str, int]] = []
        backend = PinnedBackend(local=False, resolver=resolver(
            {"school.example": ["93.184.215.14", "10.0.0.7", "127.0.0.1"]}, asked))
        with pytest.raises(DestinationRefused) as refused:
            await backend.connect_tcp("school.example", listener.port, timeout=2)
        assert refused.value.refusal is Refusal.PRIVATE and listener.accepted == 0


async def test_the_default_resolver_is_the_event_loops_and_localhost_from_etc_hosts_is_refused() -> None:
    with Listener() as listener:
        with pytest.raises(DestinationRefused) as refused:
            await PinnedBackend(local=False).connect_tcp("localhost", listener.port, timeout=2)
        assert refused.value.refusal is Refusal.LOOPBACK and listener.accepted == 0
        stream = await PinnedBackend(local=True).connect_tcp("localhost", listener.port, timeout=2)
        await stream.write(b"hello")
        await stream.aclose()
        await until(lambda: listener.accepted == 1)


async def test_the_connection_goes_to_the_resolved_address_with_the_urls_host(receiver: WebhookReceiver) -> None:
    asked: list[tuple[str, int]] = []
    pinned = webhook_transport(settings(local_webhooks=True),
                               resolver({"school.example": ["127.0.0.1"]}, asked))
    async with httpx.AsyncClient(transport=pinned) as client:
        answer = await client.post(f"http://school.example:{receiver.port}/pinned", content=b"{}")
    assert answer.status_code == 200 and asked == [("school.example", receiver.port)]
    [received] = receiver.requests("/pinned")
    assert received.headers["host"] == f"school.example:{receiver.port}"


async def test_plain_http_and_this_machine_are_refused_without_the_development_setting(
        engine: Engine, receiver: WebhookReceiver, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, "notifications.delivery")
    asked: list[tuple[str, int]] = []
    school(engine, "100001", receiver.url("/local"))  # http://127.0.0.1:PORT: the development receiver
    school(engine, "100002", f"http://school.example:{receiver.port}/plain")
    ids = [notify(engine, "100001"), notify(engine, "100002")]
    production = settings()
    transport = webhook_transport(production, resolver({"school.example": ["127.0.0.1"]}, asked))
    assert await loop_of(engine, production, transport).deliver_due() == 2
    assert [attempts(engine, i) for i in ids] == [[("no_channel", None)]] * 2
    assert receiver.requests() == [] and asked == []  # refused as written: nothing resolved, nothing sent
    assert sorted(refusals(caplog)) == ["loopback", "scheme"]

    school(engine, "100003", receiver.url("/local"))
    delivered = notify(engine, "100003")  # the development setting: the local receiver gets it
    assert await loop_of(engine, settings(local_webhooks=True)).deliver_due() == 1
    assert attempts(engine, delivered) == [("delivered", 200)] and len(receiver.requests("/local")) == 1


async def test_proxies_in_the_environment_are_not_used(engine: Engine, receiver: WebhookReceiver,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    with Listener() as proxy:
        for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
            monkeypatch.setenv(name, f"http://127.0.0.1:{proxy.port}")
        for name in ("NO_PROXY", "no_proxy"):
            monkeypatch.delenv(name, raising=False)
        async with httpx.AsyncClient() as trusting:  # the control: httpx's default does use them
            with pytest.raises(httpx.HTTPError):
                await trusting.post(receiver.url("/through-the-proxy"), content=b"{}")
        await until(lambda: proxy.accepted == 1)

        school(engine, "100001", receiver.url("/direct"))
        delivered = notify(engine, "100001")
        assert await loop_of(engine, settings(local_webhooks=True)).deliver_due() == 1
        assert attempts(engine, delivered) == [("delivered", 200)]
        assert len(receiver.requests("/direct")) == 1 and proxy.accepted == 1


async def test_a_redirect_is_not_followed(engine: Engine, receiver: WebhookReceiver) -> None:
    target = receiver.url("/redirected")

    class Redirect(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.send_response(307)
            self.send_header("location", target)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Redirect)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        school(engine, "100001", f"http://127.0.0.1:{server.server_address[1]}/moved")
        moved = notify(engine, "100001")
        assert await loop_of(engine, settings(local_webhooks=True)).deliver_due() == 1
    finally:
        server.shutdown()
        server.server_close()
    assert attempts(engine, moved) == [("client_error", 307)] and receiver.requests("/redirected") == []


async def until(condition: Any, timeout: float = 5.0) -> None:
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(timeout):
            while not condition():
                await asyncio.sleep(0.01)
    assert condition()
