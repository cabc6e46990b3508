"""The demo school system: what a school's (or an agency's) own system does
with the notifications service's webhooks, run by `frontdoor-stack run|up`
beside the services (and by the bench).

- `POST /webhooks/<recipient path>` (e.g. `/webhooks/schools/101733`): the
  delivery is verified with the `standardwebhooks` library against the
  secrets the stack handed over for that path (a 0600 JSON file,
  `{"schools/101733": ["whsec_...", ...]}`, re-read when it changes), and
  deduplicated on `webhook-id`. 204 when verified (a duplicate too: the
  sender retried one we already have), 401 when not (the sender does not
  retry a 4xx).
- One log line per delivery on stdout, JSON with ONLY `webhook_id`,
  `verified` and `latency_ms` (arrival minus `webhook-timestamp`, which is
  whole seconds: up to 1 s high). Never the body: it holds a child's name.
- `GET /received`: counts (verified, rejected, duplicates, emails);
  `GET /received/<webhook-id>`: when that delivery first arrived verified
  (404 if it did not); `GET /deliveries`: every verified webhook-id with its
  arrival time (ids and times only). `GET /healthz`.
- An SMTP sink (aiosmtpd) for the email channel: it counts the alerts it
  gets and keeps nothing (an alert says only that a notification waits).

    python -m frontdoor_stack.school_receiver --port 8090 --secrets FILE [--smtp-port 8025]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import FrameType
from typing import Any

from standardwebhooks.webhooks import EmptyWebhookSecretError, Webhook, WebhookVerificationError

from frontdoor_stack import processes

WEBHOOKS_PREFIX = "/webhooks/"
MAX_BODY_BYTES = 1 << 20
# What may be echoed of a webhook-id (ours are UUIDs); anything else is logged as "invalid".
WEBHOOK_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,100}$")
KEEP_SECRETS = 3  # per path: the newest and the ones still signing through a rotation's overlap


def recipient_path(kind: str, recipient: str) -> str:
    """The path key of a recipient (`schools/101733`, `agencies/hv-team-3`)."""
    return f"{kind}/{recipient}"


def webhook_url(base_url: str, path: str) -> str:
    return f"{base_url.rstrip('/')}{WEBHOOKS_PREFIX}{path}"


# --- the secrets it is given -----------------------------------------------------------------------------------


def read_secrets(path: Path) -> dict[str, list[str]]:
    try:
        document = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    if not isinstance(document, dict):
        return {}
    return {str(k): [str(s) for s in v] for k, v in document.items() if isinstance(v, list)}


def write_secrets(path: Path, new: Mapping[str, str]) -> dict[str, list[str]]:
    """Hand `new` (path -> secret) over: each goes first in its path's list,
    the previous ones stay behind it (they keep signing through the overlap);
    the file is replaced atomically and is 0600 from the start."""
    merged = read_secrets(path)
    for key, secret in new.items():
        merged[key] = [secret, *(s for s in merged.get(key, []) if s != secret)][:KEEP_SECRETS]
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        json.dump(merged, handle, indent=1, sort_keys=True)
    os.chmod(temporary, 0o600)
    os.replace(temporary, path)
    return merged


class Secrets:
    """The secrets per path, from the file (re-read when its mtime changes) or given."""

    def __init__(self, path: Path | None = None, given: Mapping[str, Sequence[str]] | None = None):
        self._path = path
        self._given = {k: list(v) for k, v in (given or {}).items()}
        self._loaded: dict[str, list[str]] = {}
        self._stamp: tuple[int, int] | None = None
        self._lock = threading.Lock()

    def of(self, key: str) -> list[str]:
        with self._lock:
            if self._path is not None:
                try:
                    stat = self._path.stat()
                    stamp = (stat.st_mtime_ns, stat.st_size)
                except OSError:
                    stamp = None
                if stamp != self._stamp:
                    self._loaded, self._stamp = read_secrets(self._path), stamp
            return [*self._given.get(key, []), *self._loaded.get(key, [])]


def verifies(secrets: Sequence[str], body: bytes, headers: Mapping[str, str]) -> bool:
    for secret in secrets:
        try:
            Webhook(secret).verify(body, dict(headers), json_parse=False)
            return True
        except (WebhookVerificationError, EmptyWebhookSecretError, ValueError, TypeError):
            continue  # a malformed header or secret is a failed verification, never a crash
    return False


# --- what arrived ----------------------------------------------------------------------------------------------


@dataclass
class Arrival:
    received_at: float  # time.time() of the first verified arrival
    latency_ms: int | None
    deliveries: int = 1


@dataclass
class Ledger:
    verified: int = 0
    rejected: int = 0
    duplicates: int = 0
    emails: int = 0
    arrivals: dict[str, Arrival] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, webhook_id: str, verified: bool, arrived: float, latency_ms: int | None) -> None:
        with self.lock:
            if not verified:
                self.rejected += 1
            elif webhook_id in self.arrivals:
                self.duplicates += 1
                self.arrivals[webhook_id].deliveries += 1
            else:
                self.verified += 1
                self.arrivals[webhook_id] = Arrival(arrived, latency_ms)

    def counts(self) -> dict[str, int]:
        with self.lock:
            return {"verified": self.verified, "rejected": self.rejected, "duplicates": self.duplicates,
                    "emails": self.emails}

    def arrival(self, webhook_id: str) -> Arrival | None:
        with self.lock:
            found = self.arrivals.get(webhook_id)
            return None if found is None else Arrival(found.received_at, found.latency_ms, found.deliveries)

    def all_arrivals(self) -> list[dict[str, Any]]:
        with self.lock:
            return [{"webhook_id": k, "received_at": a.received_at, "deliveries": a.deliveries}
                    for k, a in self.arrivals.items()]

    def email(self) -> None:
        with self.lock:
            self.emails += 1


def latency_ms(timestamp: str | None, arrived: float) -> int | None:
    try:
        return round((arrived - int(timestamp or "")) * 1000)
    except ValueError:
        return None


class SchoolSystem:
    """The receiver's behaviour, apart from HTTP: verify, dedupe, log a line, count."""

    def __init__(self, secrets: Secrets, out: Any = None):
        self.secrets = secrets
        self.ledger = Ledger()
        self._out = out or sys.stdout
        self._out_lock = threading.Lock()

    def deliver(self, path: str, headers: Mapping[str, str], body: bytes, arrived: float) -> int:
        lowered = {k.lower(): v for k, v in headers.items()}
        raw_id = lowered.get("webhook-id", "")
        webhook_id = raw_id if WEBHOOK_ID.match(raw_id) else ""
        verified = bool(webhook_id) and verifies(self.secrets.of(path), body, lowered)
        latency = latency_ms(lowered.get("webhook-timestamp"), arrived)
        self.ledger.record(webhook_id, verified, arrived, latency)
        line = json.dumps({"webhook_id": webhook_id or "invalid", "verified": verified, "latency_ms": latency})
        with self._out_lock:
            print(line, file=self._out, flush=True)
        return 204 if verified else 401


# --- HTTP ------------------------------------------------------------------------------------------------------


def _handler(system: SchoolSystem) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive: the sender reuses its connections

        def do_POST(self) -> None:
            arrived = time.time()
            length = int(self.headers.get("content-length") or 0)
            if not self.path.startswith(WEBHOOKS_PREFIX) or length > MAX_BODY_BYTES:
                self._answer(404 if length <= MAX_BODY_BYTES else 413, None, close=length > MAX_BODY_BYTES)
                return
            body = self.rfile.read(length)
            status = system.deliver(self.path[len(WEBHOOKS_PREFIX):], dict(self.headers.items()), body, arrived)
            self._answer(status, None)

        def do_GET(self) -> None:
            if self.path == "/healthz":
                self._answer(200, {"status": "ok"})
            elif self.path == "/received":
                self._answer(200, system.ledger.counts())
            elif self.path.startswith("/received/"):
                found = system.ledger.arrival(self.path.removeprefix("/received/"))
                self._answer(404 if found is None else 200, None if found is None else {
                    "webhook_id": self.path.removeprefix("/received/"), "verified": True,
                    "received_at": found.received_at, "latency_ms": found.latency_ms,
                    "deliveries": found.deliveries})
            elif self.path == "/deliveries":
                self._answer(200, system.ledger.all_arrivals())
            else:
                self._answer(404, None)

        def _answer(self, status: int, document: Any, close: bool = False) -> None:
            payload = b"" if document is None else json.dumps(document).encode()
            with contextlib.suppress(OSError):  # the sender may have given up waiting
                self.send_response(status)
                if payload:
                    self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(payload)))
                if close:
                    self.send_header("connection", "close")
                    self.close_connection = True
                self.end_headers()
                self.wfile.write(payload)

        def log_message(self, format: str, *args: Any) -> None:
            pass  # the request line names the recipient; one line per delivery is written by `deliver`

    return Handler


def serve(system: SchoolSystem, port: int, host: str = "127.0.0.1") -> ThreadingHTTPServer:
    server = ThreadingHTTPServer((host, port), _handler(system))
    server.daemon_threads = True
    return server


# --- the SMTP sink ---------------------------------------------------------------------------------------------


class _CountingHandler:
    def __init__(self, ledger: Ledger):
        self._ledger = ledger

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self._ledger.email()  # counted, never kept or logged
        return "250 Message accepted"


def smtp_sink(ledger: Ledger, port: int, host: str = "127.0.0.1") -> Any:
    from aiosmtpd.controller import Controller

    logging.getLogger("mail.log").setLevel(logging.WARNING)  # aiosmtpd's per-session chatter
    controller = Controller(_CountingHandler(ledger), hostname=host, port=port)
    controller.start()
    return controller


# --- as a process ----------------------------------------------------------------------------------------------


MODULE = "frontdoor_stack.school_receiver"


class ReceiverProcess:
    """`python -m frontdoor_stack.school_receiver` as the stack starts it."""

    def __init__(self, port: int, secrets_file: Path, log_file: Path, smtp_port: int | None = None):
        self.port = port
        self.smtp_port = smtp_port
        self.secrets_file = secrets_file
        self.log_file = log_file
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def command(self) -> list[str]:
        command = [sys.executable, "-m", MODULE, "--port", str(self.port), "--secrets", str(self.secrets_file)]
        return command + (["--smtp-port", str(self.smtp_port)] if self.smtp_port else [])

    def start(self) -> None:
        self.process = processes.start(self.command(), dict(os.environ), self.log_file)

    def wait_healthy(self, timeout: float = 30.0) -> None:
        if self.process is None:
            raise processes.ProcessError("the school receiver was not started")
        processes.wait_until_answers(self.process, f"{self.url}/healthz", self.log_file, timeout, "school receiver")

    def stop(self, timeout: float = 10.0) -> None:
        process, self.process = self.process, None
        if process is not None:
            processes.terminate(process.pid, timeout)
            process.poll()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=MODULE, description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, default=8090)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--secrets", type=Path, required=True, help="the JSON file of secrets per path")
    parser.add_argument("--smtp-port", type=int, default=None, help="also run an SMTP sink on this port")
    args = parser.parse_args(argv)

    def stop(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    system = SchoolSystem(Secrets(args.secrets))
    server = serve(system, args.port, args.host)
    sink = smtp_sink(system.ledger, args.smtp_port, args.host) if args.smtp_port else None
    try:
        server.serve_forever(poll_interval=0.5)
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        if sink is not None:
            sink.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
