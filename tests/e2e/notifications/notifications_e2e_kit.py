"""End-to-end kit: the real notifications service in its own process
(`frontdoor-notifications serve`, as `make up` runs it) against the
session's broker; a school's webhook receiver that verifies signatures with
the `standardwebhooks` library and counts deliveries by webhook-id; builders
of DA incident events as contacts publishes them (the children's fields
sealed, their key records beside them: sealed_children) and their
publication (keys first, or later; a key's tombstone); and a term-dates file in which every weekday is a
school day (from a month ahead, so deadlines are far unless a test says
otherwise)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
from aiokafka import AIOKafkaProducer
from sealed_children import DA, PERSON_KEYS, ChildKeys, incident_data, incident_event
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from frontdoor_contracts.contacts import DAIncidentReported
from frontdoor_contracts.envelope import CloudEvent
from frontdoor_contracts.personal import PersonKeyIssued
from frontdoor_platform.lag import GroupWatch
from frontdoor_stack import processes
from frontdoor_stack.kafka_broker import free_port

# --- a school's webhook receiver -------------------------------------------------------------------------------


@dataclass
class Behaviour:
    """How one path answers: `fail_first` requests get `status`, then 200;
    each waits `delay` seconds first (a slow receiver)."""

    fail_first: int = 0
    status: int = 500
    delay: float = 0.0
    secrets: list[str] = field(default_factory=list)  # verify with any of these; none: do not verify
    seen: int = 0


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    status: int
    verified: bool | None
    at: float  # time.time() when it arrived

    @property
    def webhook_id(self) -> str:
        return self.headers.get("webhook-id", "")

    def json(self) -> Any:
        return json.loads(self.body)


class WebhookReceiver:
    """An HTTP server on 127.0.0.1 (a free port) in a thread: one path per school."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._behaviours: dict[str, Behaviour] = {}
        self.received: list[Received] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                receiver._answer(self, body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, name="webhook-receiver", daemon=True)

    def __enter__(self) -> WebhookReceiver:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def behave(self, path: str, **how: Any) -> Behaviour:
        with self._lock:
            behaviour = self._behaviours.setdefault(path, Behaviour())
            for name, value in how.items():
                setattr(behaviour, name, value)
            return behaviour

    def _answer(self, handler: BaseHTTPRequestHandler, body: bytes) -> None:
        arrived = time.time()
        headers = {k.lower(): v for k, v in handler.headers.items()}
        with self._lock:
            behaviour = self._behaviours.setdefault(handler.path, Behaviour())
            behaviour.seen += 1
            failing = behaviour.seen <= behaviour.fail_first
            delay, status, secrets = behaviour.delay, behaviour.status, list(behaviour.secrets)
        if delay:
            time.sleep(delay)
        verified: bool | None = None
        if secrets:
            verified = any(_verifies(secret, body, headers) for secret in secrets)
        answer = status if failing else 200 if verified is not False else 401
        with self._lock:
            self.received.append(Received(handler.path, headers, body, answer, verified, arrived))
        with contextlib.suppress(OSError):  # the sender may have given up waiting (a timeout test)
            handler.send_response(answer)
            handler.send_header("content-length", "0")
            handler.end_headers()

    def requests(self, path: str | None = None) -> list[Received]:
        with self._lock:
            return [r for r in self.received if path is None or r.path == path]

    def accepted(self, path: str | None = None) -> list[Received]:
        """The requests answered 2xx (and verified, when the path verifies)."""
        return [r for r in self.requests(path) if r.status == 200 and r.verified is not False]

    def accepted_by_id(self, path: str | None = None) -> Counter[str]:
        """How many times each webhook-id was accepted (the receiver's dedupe count is its length)."""
        return Counter(r.webhook_id for r in self.accepted(path))


def _verifies(secret: str, body: bytes, headers: dict[str, str]) -> bool:
    try:
        Webhook(secret).verify(body, headers)
    except WebhookVerificationError:
        return False
    return True


async def until(condition: Any, timeout: float = 30.0, every: float = 0.02) -> bool:
    """Poll `condition()` until it is true (True) or `timeout` passes (False)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        await asyncio.sleep(every)
    return bool(condition())


# --- the calendar ----------------------------------------------------------------------------------------------


def term_dates(folder: Path, first_day_in: int = 30, starts_at: str = "08:30") -> Path:
    """A term-dates file with one long term from `first_day_in` days from today, in which every weekday
    (but bank holidays) is a school day. Starting it a month ahead puts every deadline a month away
    (nothing escalates by accident whatever the time of day the tests run); a large
    NOTIFICATIONS_ESCALATION_MARGIN_MINUTES then puts them all inside the margin."""
    today = date.today()
    path = folder / "term_dates.json"
    path.write_text(json.dumps({
        "version": "e2e", "authority": "e2e tests", "school_starts_at": starts_at,
        "terms": [{"first_day": (today + timedelta(days=first_day_in)).isoformat(),
                   "last_day": (today + timedelta(days=first_day_in + 400)).isoformat()}],
        "closed_days": []}))
    return path


# --- the service -----------------------------------------------------------------------------------------------


@dataclass
class NotificationsService:
    process: subprocess.Popen[bytes]
    url: str
    admin: str
    mash: str
    env: dict[str, str]
    log: Path

    def headers(self, token: str | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {token or self.admin}"}

    def school_token(self, urn: str) -> str:
        return cli(self.env, "create-client", "--name", f"e2e-school-{urn}", "--roles", "school", "--scope", urn)

    def put_school(self, urn: str, webhook_url: str, name: str = "E2E Test Primary School") -> None:
        """Register (or change) a school whose system takes webhooks at `webhook_url`."""
        body = {"name": name, "phase": "primary", "channel": "webhook", "webhook_url": webhook_url,
                "key_adults": [{"staff_id": f"dsl-{urn}"}]}
        response = httpx.put(f"{self.url}/v1/schools/{urn}", json=body, headers=self.headers(), timeout=10)
        assert response.status_code in (200, 201), response.text

    def new_secret(self, urn: str) -> str:
        """A new signing secret for the school (the previous one keeps signing for the overlap)."""
        rotated = httpx.post(f"{self.url}/v1/schools/{urn}/signing-secrets", headers=self.headers(), timeout=10)
        assert rotated.status_code == 201, rotated.text
        secret: str = rotated.json()["secret"]
        return secret

    def school_with_webhook(self, receiver: WebhookReceiver, urn: str, **how: Any) -> str:
        """A school whose webhooks go to `receiver` at /schools/<urn>, which verifies them with its secret."""
        path = f"/schools/{urn}"
        self.put_school(urn, receiver.url(path))
        receiver.behave(path, secrets=[self.new_secret(urn)], **how)
        return path

    def delivery(self, notification_id: str) -> dict[str, Any]:
        response = httpx.get(f"{self.url}/v1/deliveries/{notification_id}", headers=self.headers(self.mash),
                             timeout=10)
        assert response.status_code == 200, response.text
        found: dict[str, Any] = response.json()
        return found

    def worklist(self) -> list[dict[str, Any]]:
        response = httpx.get(f"{self.url}/v1/worklist", headers=self.headers(self.mash), timeout=10)
        assert response.status_code == 200, response.text
        items: list[dict[str, Any]] = response.json()
        return items


def cli(env: dict[str, str], *args: str) -> str:
    return subprocess.run([sys.executable, "-m", "notifications.main", *args], env=env, capture_output=True,
                          text=True, check=True, timeout=60).stdout.strip()


def start_notifications(tmp: Path, bootstrap: str, env_overrides: dict[str, str] | None = None,
                        previous: NotificationsService | None = None) -> NotificationsService:
    """Start the service on `tmp`'s database; pass `previous` to restart it on
    the same database and consumer group, with the same keys."""
    if previous is None:
        env = {**os.environ, "NOTIFICATIONS_KAFKA_BOOTSTRAP": bootstrap,
               "NOTIFICATIONS_DATABASE_URL": f"sqlite:///{tmp / 'notifications.db'}",
               "NOTIFICATIONS_CONSUMER_GROUP": f"notifications-e2e-{uuid.uuid4().hex[:8]}",
               "NOTIFICATIONS_PUBLISH_TIMEOUT_SECONDS": "3",
               "NOTIFICATIONS_TERM_DATES": str(term_dates(tmp)),
               "NOTIFICATIONS_DELIVERY_BACKOFF_SECONDS": "0.1", "NOTIFICATIONS_DELIVERY_BACKOFF_MAX_SECONDS": "0.5",
               "NOTIFICATIONS_DELIVERY_POLL_SECONDS": "0.2", "NOTIFICATIONS_DELIVERY_TIMEOUT_SECONDS": "5",
               "NOTIFICATIONS_DELIVERY_LEASE_SECONDS": "6",
               "NOTIFICATIONS_LOCAL_WEBHOOKS": "true",  # the schools' receivers are on 127.0.0.1, plain http
               **(env_overrides or {})}
        admin = cli(env, "create-client", "--name", "e2e-admin", "--roles", "admin")
        mash = cli(env, "create-client", "--name", "e2e-mash", "--roles", "mash")
    else:
        env, admin, mash = previous.env, previous.admin, previous.mash
    env = {**env, "NOTIFICATIONS_PORT": str(free_port())}
    log = tmp / "notifications.log"
    url = f"http://127.0.0.1:{env['NOTIFICATIONS_PORT']}"
    process = processes.start_and_wait([sys.executable, "-m", "notifications.main", "serve"], env, log,
                                       url + "/readyz", name="notifications")
    return NotificationsService(process, url, admin, mash, env, log)


def stop_notifications(service: NotificationsService) -> None:
    processes.stop(service.process)


def kill_notifications(service: NotificationsService) -> None:
    """SIGKILL the whole process group (the API and its worker) at once: a crash."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(service.process.pid, signal.SIGKILL)
    service.process.wait(timeout=10)


# --- events ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Incident:
    """A DA incident as contacts publishes it: each child's fields sealed with its own key (a fresh one per
    incident), and the key records that open them (`contacts.person-keys.v1`, wrapped with the service's
    development wrapping key)."""

    event: CloudEvent[DAIncidentReported]
    keys: list[CloudEvent[PersonKeyIssued]]
    police_reference: str

    @property
    def contact_id(self) -> str:
        return str(self.event.data.contact_id)

    @property
    def child_ids(self) -> list[str]:
        return [str(child.child_id) for child in self.event.data.children]


def incident(children: list[dict[str, Any]], reported_at: datetime | None = None,
             police_reference: str = "E2E/0000001/26") -> Incident:
    """A DA incident for `children` (each: school_urn, and optionally given_name, upn, present, ...)."""
    reported = reported_at or datetime.now(UTC)
    keys, contact = ChildKeys(), uuid.uuid4()
    sealed = [keys.child(contact, **{"police_reference": police_reference, **child}) for child in children]
    event = incident_event(incident_data(contact, sealed, reported - timedelta(hours=2), reported))
    return Incident(event, [keys.key_event(child_id) for child_id in keys.children_of(event)], police_reference)


async def publish_keys(kafka: Any, *incidents: Incident) -> None:
    """The children's key records, keyed by person (as contacts publishes them, before the incident)."""
    for one in incidents:
        for key in one.keys:
            await kafka.publish_event(PERSON_KEYS, key, key=str(key.data.person_id))


async def publish_incident(kafka: Any, one: Incident, keys_first: bool = True) -> None:
    """The keys, then the incident (or only the incident: `keys_first=False`, publish_keys later)."""
    if keys_first:
        await publish_keys(kafka, one)
    await kafka.publish_event(DA, one.event, key=one.contact_id)


async def publish_tombstone(bootstrap: str, person_id: str) -> None:
    """A null value under the person's id on contacts.person-keys.v1: the person was erased."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True)
    await producer.start()
    try:
        await producer.send_and_wait(PERSON_KEYS, None, key=person_id.encode())
    finally:
        await producer.stop()


async def caught_up(bootstrap: str, group: str, topic: str, timeout: float = 120.0) -> bool:
    """Until the group has committed everything on `topic` (read from the broker, as the lag watch reads it)."""
    watch = GroupWatch("e2e", bootstrap, group, [topic], worker_up=lambda: True)
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if (await watch.refresh()).lag.get(topic) == 0:
                return True
            await asyncio.sleep(0.5)
        return False
    finally:
        await watch.stop()


def iter_urns(start: int = 100000) -> Iterator[str]:
    n = start
    while True:
        n += 1
        yield f"{n:06d}"
