"""The live monitoring test's helpers: a webhook sink standing in for the
paging and ticket services, Prometheus' HTTP API, polling, and the traffic
that makes the services export what the rules and dashboards read."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
from aiokafka import AIOKafkaProducer

from frontdoor_stack.kafka_broker import free_port

POISON = b"not json"


def poll(fetch: Callable[[], Any], done: Callable[[Any], bool], timeout: float = 60.0, every: float = 0.5) -> Any:
    """`fetch()` until `done(answer)`; the last answer either way."""
    deadline = time.monotonic() + timeout
    answer = fetch()
    while not done(answer) and time.monotonic() < deadline:
        time.sleep(every)
        answer = fetch()
    return answer


class Sink:
    """Alertmanager's webhook receivers: what each path got (Alertmanager's JSON bodies)."""

    def __init__(self) -> None:
        self.port = free_port()
        self.received: list[tuple[str, dict[str, Any]]] = []
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", "0")))
                sink.received.append((self.path, json.loads(body or b"{}")))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def alerts(self, path: str) -> list[dict[str, Any]]:
        return [alert for got, body in list(self.received) if got == path for alert in body.get("alerts", [])]

    @contextmanager
    def running(self) -> Iterator[Sink]:
        thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        thread.start()
        try:
            yield self
        finally:
            self._server.shutdown()
            self._server.server_close()


class PrometheusAPI:
    def __init__(self, url: str):
        self.url = url

    def get(self, path: str, **params: Any) -> Any:
        answer = httpx.get(f"{self.url}/api/v1/{path}", params=params, timeout=10)
        assert answer.status_code == 200, answer.text
        return answer.json()["data"]

    def query(self, expr: str) -> list[dict[str, Any]]:
        data = self.get("query", query=expr)
        return list(data["result"]) if data["resultType"] == "vector" else [data["result"]]

    def has_series(self, selector: str) -> bool:
        return bool(self.get("series", **{"match[]": selector, "start": time.time() - 600}))

    def rules(self) -> list[dict[str, Any]]:
        return [rule for group in self.get("rules")["groups"] for rule in group["rules"]]

    def alerts(self, state: str | None = None, **labels: str) -> list[dict[str, Any]]:
        """The alerts pending or firing (or in `state`) with these labels."""
        return [a for a in self.get("alerts")["alerts"] if all(a["labels"].get(k) == v for k, v in labels.items())
                and state in (None, a["state"])]


def exported_names(metrics_text: str) -> set[str]:
    """The names a /metrics body exports: its samples', and those of the families it declares (`# TYPE`),
    with a histogram's or summary's series (a KPI ratio is declared, without a sample while its denominator
    is 0)."""
    names = {line.split("{", 1)[0].split(" ", 1)[0] for line in metrics_text.splitlines()
             if line and not line.startswith("#")}
    for line in metrics_text.splitlines():
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ", 3)
            suffixes = ("_bucket", "_count", "_sum") if kind == "histogram" else ("_count", "_sum") \
                if kind == "summary" else ("",)
            names |= {name + suffix for suffix in suffixes}
    return names


async def publish(bootstrap: str, records: list[tuple[str, bytes, list[tuple[str, bytes]]]]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True)
    await producer.start()
    try:
        for topic, value, headers in records:
            await producer.send_and_wait(topic, value, key=uuid.uuid4().bytes, headers=headers)
    finally:
        await producer.stop()


def police_da_contact(school_urn: str, police_reference: str) -> bytes:
    """A police front door's contact with a DA incident for one child at `school_urn` (structured CloudEvent)."""
    now = datetime.now(UTC)
    data = {
        "referrer_source": "police", "received_at": now.isoformat(),
        "children": [{"ref": "child-1", "given_name": "Widget", "family_name": "Monitorton",
                      "date_of_birth": (date.today() - timedelta(days=8 * 365)).isoformat(), "postcode": "ZZ99 3QQ",
                      "school_urn": school_urn}],
        "adults": [{"ref": "adult-1", "given_name": "Parentina", "family_name": "Monitorton",
                    "relationship": "mother"}],
        "concerns": ["domestic_abuse"],
        "da_incident": {"occurred_at": (now - timedelta(hours=2)).isoformat(), "police_reference": police_reference,
                        "children": [{"child_ref": "child-1", "present": True}]},
    }
    return json.dumps({"specversion": "1.0", "id": str(uuid.uuid4()), "source": "urn:e2e:police-front-door",
                       "type": "uk.gov.frontdoor.contact.submitted.v1", "time": now.isoformat(),
                       "subject": "contact", "datacontenttype": "application/json", "data": data}).encode()
