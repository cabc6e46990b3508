"""`frontdoor-stack privacy` end to end on its own logic: the real command line against the session's real
broker and a stand-in for the contacts service's `POST /v1/privacy/requests` (a small HTTP server that
publishes the services' answers to `privacy.replies.v1`, sealed to the reply key the command sent, before it
answers 202, beside other requests' answers, a replay and bytes that are no answer). The four real services
answering a real request: tests/e2e/privacy/.

- every service answers: exit 0, the export written under the run directory, privately, each part opened,
  the DPO's review notice on stderr and atop the page; stdout and stderr hold counts and ids, never the
  person's details;
- an "erased" answer forged from another service's source is ignored (said so), the real one kept;
- the person from a 0600 --person-file or --stdin (one readable by its group is refused);
- one service silent: exit 3 after --timeout, naming it, the others' export kept (marked incomplete);
- nobody matches (404) or the body refused (422): exit 1, nothing written, the fields named, no values."""

from __future__ import annotations

import asyncio
import io
import json
import stat
import sys
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer

from frontdoor_contracts.envelope import new_event
from frontdoor_contracts.personal import seal_to
from frontdoor_contracts.privacy import ClassAction, ClassAnswer, PrivacyAnswered, PrivacyKind, reply_context
from frontdoor_contracts.sources import SERVICE_SOURCES
from frontdoor_contracts.topics import PRIVACY_REPLIES, SERVICES
from frontdoor_stack import cli

NHS = "9434765919"
CHILD = "Quibble Testerton"  # what the parts hold, and what must never be printed
KEY = "fdk_test-admin"


@dataclass
class Contacts:
    """What the stand-in answers: a status, the services that publish an answer first."""

    bootstrap: str
    status: int = 202
    answering: tuple[str, ...] = SERVICES
    bodies: list[dict[str, Any]] = field(default_factory=list)
    accepted: dict[str, Any] | None = None  # a 202 body of its own instead of the real one
    forged: tuple[tuple[str, str], ...] = ()  # (service named, source): "erased" answers published first

    def answers(self, body: dict[str, Any], request_id: uuid.UUID) -> list[bytes]:
        now = datetime.now(UTC)
        made = []
        for service in self.answering:
            part = seal_to(body["reply_key"], {"service": service, "classes": {"people_index": [{"name": CHILD}]},
                                               "reads": [{"at": now.isoformat(), "reader": "local-dev",
                                                          "route": "GET /v1/contacts/{contact_id}",
                                                          "record": "contact:1"}]},
                           reply_context(request_id, service))
            answered = PrivacyAnswered(request_id=request_id, service=service, kind=PrivacyKind(body["kind"]),
                                       answered_at=now, part=part, classes=[ClassAnswer(
                                           retention_class="people_index", action=ClassAction.EXPORTED, records=1)])
            made.append(new_event(answered, source=SERVICE_SOURCES[service], time=now).model_dump_json().encode())
        forged = [new_event(PrivacyAnswered(request_id=request_id, service=service, kind=PrivacyKind(body["kind"]),
                                            answered_at=now, classes=[ClassAnswer(
                                                retention_class="people_index", action=ClassAction.ERASED,
                                                records=1)]), source=source, time=now).model_dump_json().encode()
                  for service, source in self.forged]
        other = PrivacyAnswered(request_id=uuid.uuid4(), service="contacts", kind=PrivacyKind.ACCESS,
                                answered_at=now, classes=[])
        noise = [new_event(other, source="urn:test", time=now).model_dump_json().encode(), b"not an answer"]
        return [*forged, noise[0], *made, *made[:1], noise[1]]  # forgeries, another request's answer, a replay, junk

    def handle(self, raw: bytes, authorization: str | None) -> tuple[int, dict[str, Any]]:
        if authorization != f"Bearer {KEY}":
            return 401, {"title": "unauthorised"}
        body = json.loads(raw)
        self.bodies.append(body)
        if self.status == 404:
            return 404, {"title": "no person matches"}
        if self.accepted is not None:
            return 202, self.accepted
        if self.status == 422:
            return 422, {"title": "Unprocessable Content", "status": 422, "errors": [
                {"field": "nhs_number", "reason": "value_error", "message": "NHS number fails the modulus 11 check"}]}
        request_id = uuid.uuid4()
        asyncio.run(publish(self.bootstrap, request_id, self.answers(body, request_id)))
        return 202, {"request_id": str(request_id), "kind": body["kind"], "people": 1, "services": list(SERVICES)}


async def publish(bootstrap: str, request_id: uuid.UUID, values: list[bytes]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True)
    await producer.start()
    try:
        for value in values:
            await producer.send_and_wait(PRIVACY_REPLIES.name, value, key=str(request_id).encode())
    finally:
        await producer.stop()


@pytest.fixture
def contacts(kafka_bootstrap: str) -> Iterator[tuple[Contacts, str]]:
    stand_in = Contacts(kafka_bootstrap)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            status, answer = (stand_in.handle(raw, self.headers.get("Authorization"))
                              if self.path == "/v1/privacy/requests" else (404, {}))
            payload = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json" if status == 202 else "application/problem+json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield stand_in, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def privacy(run_dir: Path, url: str, bootstrap: str, *options: str) -> int:
    return cli.main(["--run-dir", str(run_dir), "privacy", *options, "--bootstrap", bootstrap, "--contacts-url", url,
                     "--contacts-key", KEY])


def exports(run_dir: Path) -> list[Path]:
    return sorted((run_dir / "privacy").glob("*/export.json")) if (run_dir / "privacy").is_dir() else []


def test_every_answer_read_and_opened_into_a_private_export_nothing_personal_printed(
        contacts: tuple[Contacts, str], kafka_bootstrap: str, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    stand_in, url = contacts
    code = privacy(tmp_path, url, kafka_bootstrap, "access", "--nhs-number", "943 476 5919", "--timeout", "60")
    out, err = capsys.readouterr()
    assert code == 0, err
    [body] = stand_in.bodies
    assert body["kind"] == "access" and body["nhs_number"] == NHS and len(body["reply_key"]) == 44
    [written] = exports(tmp_path)
    document = json.loads(written.read_text())
    assert document["complete"] is True and sorted(document["services"]) == sorted(SERVICES)
    assert document["people"] == 1 and "sent about 1 person;" in err
    for part in document["services"].values():
        assert part["classes"][0]["held"] == [{"name": CHILD}] and part["reads"][0]["record"] == "contact:1"
    assert stat.S_IMODE(written.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE((tmp_path / "privacy").stat().st_mode) == 0o700
    assert stat.S_IMODE(written.stat().st_mode) == 0o600
    assert CHILD in (written.parent / "export.html").read_text()
    assert "answered (4 of 4)" in err and "4 of 4 services answered" in out
    assert f"the export is in {written.parent} (readable by you alone)" in err
    assert "DPA 2018 Sch. 2 para. 16" in err and "Delete the export once the answer is sent" in err
    page = (written.parent / "export.html").read_text()
    assert page.index('id="review"') < page.index("<h1>") and "DPA 2018 Sch. 3" in page
    assert sum(line.split()[1:4] == ["people_index", "exported", "1"] for line in out.splitlines()) == 4
    for text in (out, err):
        assert "Quibble" not in text and NHS not in text and "943 476" not in text

    again = privacy(tmp_path, url, kafka_bootstrap, "erase", "--nhs-number", NHS, "--timeout", "60")
    assert again == 0, capsys.readouterr().err  # a second request beside the first: its own directory
    assert len(exports(tmp_path)) == 2


def test_a_silent_service_is_named_after_the_timeout_and_the_others_export_kept(
        contacts: tuple[Contacts, str], kafka_bootstrap: str, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    stand_in, url = contacts
    stand_in.answering = ("contacts", "allocation", "notifications")
    code = privacy(tmp_path, url, kafka_bootstrap, "erase", "--upn", "F801200100001", "--timeout", "3")
    out, err = capsys.readouterr()
    assert code == 3
    assert "no answer within 3 s from: outcomes" in err and "3 of 4 services answered" in out
    [written] = exports(tmp_path)
    document = json.loads(written.read_text())
    assert document["complete"] is False and document["not_answered"] == ["outcomes"]


def test_a_forged_answer_from_another_services_source_does_not_stand_for_the_service(
        contacts: tuple[Contacts, str], kafka_bootstrap: str, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    stand_in, url = contacts
    stand_in.answering = ("contacts", "allocation", "notifications")
    stand_in.forged = (("contacts", SERVICE_SOURCES["allocation"]), ("outcomes", SERVICE_SOURCES["notifications"]))
    code = privacy(tmp_path, url, kafka_bootstrap, "erase", "--nhs-number", NHS, "--timeout", "3")
    out, err = capsys.readouterr()
    assert code == 3 and "no answer within 3 s from: outcomes" in err  # its forged "erased" did not count
    document = json.loads(exports(tmp_path)[0].read_text())
    assert document["answers_ignored"] == {"contacts": 1, "outcomes": 1} and document["not_answered"] == ["outcomes"]
    assert [c["action"] for c in document["services"]["contacts"]["classes"]] == ["exported"]  # the genuine one
    assert ("ignored an answer naming contacts whose CloudEvent source is not in the namespace of contacts "
            "(urn:frontdoor:contacts)") in err
    assert "2 answer(s) ignored" in err and "urn:frontdoor:allocation" not in err  # its own namespace, not the source
    assert NHS not in out + err and "Quibble" not in out + err


def test_the_person_from_a_private_file_or_standard_input_never_the_command_line(
        contacts: tuple[Contacts, str], kafka_bootstrap: str, tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    stand_in, url = contacts
    person = tmp_path / "person.json"
    person.write_text(json.dumps({"nhs_number": "943 476 5919"}))
    person.chmod(0o600)
    code = privacy(tmp_path, url, kafka_bootstrap, "access", "--person-file", str(person), "--timeout", "60")
    assert code == 0, capsys.readouterr().err
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(json.dumps(
        {"upn": "F801200100001", "corrections": {"family_name": "Testington"}}).encode())))
    code = privacy(tmp_path, url, kafka_bootstrap, "rectify", "--stdin", "--timeout", "60")
    assert code == 0, capsys.readouterr().err
    assert [(b["kind"], b.get("nhs_number"), b.get("upn"), b.get("corrections")) for b in stand_in.bodies] == [
        ("access", NHS, None, None), ("rectify", None, "F801200100001", {"family_name": "Testington"})]
    person.chmod(0o640)  # its group may read it: refused before anything is sent
    code = privacy(tmp_path, url, kafka_bootstrap, "access", "--person-file", str(person))
    err = capsys.readouterr().err
    # the number in neither form (not "943" alone: pytest's numbered temporary directories may hold it)
    assert code == 2 and "--person-file: must be readable by its owner alone" in err
    assert NHS not in err and "943 476" not in err
    assert len(stand_in.bodies) == 2


@pytest.mark.parametrize(("status", "message"), [
    (404, "nobody in the people index matches"),
    (422, "contacts refused the request (422): nhs_number: NHS number fails the modulus 11 check"),
])
def test_a_refused_request_writes_nothing(contacts: tuple[Contacts, str], kafka_bootstrap: str, tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str], status: int, message: str) -> None:
    stand_in, url = contacts
    stand_in.status = status
    code = privacy(tmp_path, url, kafka_bootstrap, "access", "--nhs-number", NHS, "--timeout", "5")
    err = capsys.readouterr().err
    assert code == 1 and message in err and NHS not in err
    assert exports(tmp_path) == []


def test_an_accepted_request_without_its_id_stops_the_command(
        contacts: tuple[Contacts, str], kafka_bootstrap: str, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    stand_in, url = contacts
    stand_in.accepted = {"people": 1}
    code = privacy(tmp_path, url, kafka_bootstrap, "access", "--nhs-number", NHS, "--timeout", "5")
    assert code == 1 and "202 without a request id" in capsys.readouterr().err and exports(tmp_path) == []


def test_a_wrong_key_is_named_as_such(contacts: tuple[Contacts, str], kafka_bootstrap: str, tmp_path: Path,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    _, url = contacts
    code = cli.main(["--run-dir", str(tmp_path), "privacy", "access", "--nhs-number", NHS, "--bootstrap",
                     kafka_bootstrap, "--contacts-url", url, "--contacts-key", "fdk_not-it"])
    assert code == 2 and "needs its privacy role" in capsys.readouterr().err
