"""The privacy command's export: each service's part opened with the request's private key (a part sealed
to another request, or to another key, is flagged, not trusted), one JSON document and one page that shows
records as text, never as markup, written 0700/0600 and never over an earlier export; the lines printed
hold services, classes, actions and counts, never a record."""

from __future__ import annotations

import json
import stat
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from frontdoor_contracts.envelope import new_event
from frontdoor_contracts.personal import new_reply_keys, seal_to
from frontdoor_contracts.privacy import (
    ClassAction,
    ClassAnswer,
    PrivacyAnswered,
    PrivacyKind,
    reply_context,
)
from frontdoor_contracts.retention import default
from frontdoor_stack.privacy import export
from frontdoor_stack.privacy.replies import Answers

NAME = "<script>alert('Quibble')</script>"
REQUEST = uuid.uuid4()
NOW = datetime(2026, 12, 6, 9, 30, tzinfo=UTC)


def answer(service: str, public_key: str | None, document: dict[str, Any] | None = None,
           request_id: uuid.UUID = REQUEST, context_request: uuid.UUID | None = None) -> PrivacyAnswered:
    part = None
    if public_key is not None:
        context = reply_context(context_request or request_id, service)
        part = seal_to(public_key, document or {"service": service, "classes": {}, "reads": []}, context)
    classes = [ClassAnswer(retention_class="people_index", action=ClassAction.EXPORTED, records=1),
               ClassAnswer(retention_class="audit", action=ClassAction.KEPT, records=2,
                           reason="Kept for accountability (Art. 17(3)(b))"),
               ClassAnswer(retention_class="read_log", action=ClassAction.EXPORTED, records=1)]
    return PrivacyAnswered(request_id=request_id, service=service, kind=PrivacyKind.ACCESS, answered_at=NOW,
                           classes=classes, part=part)


def contacts_part() -> dict[str, Any]:
    return {"service": "contacts",
            "classes": {"people_index": [{"person_id": "p-1", "given_name": NAME, "date_of_birth": "2016-04-01"}]},
            "reads": [{"at": NOW.isoformat(), "reader": "local-dev", "route": "GET /v1/contacts/{contact_id}",
                       "record": "contact:c-1"}]}


def test_an_access_export_opens_each_part_and_flags_one_that_does_not_open(tmp_path: Path) -> None:
    private, public = new_reply_keys()
    _, stranger = new_reply_keys()
    answers = {"contacts": answer("contacts", public, contacts_part()),
               "allocation": answer("allocation", public),
               "outcomes": answer("outcomes", public, context_request=uuid.uuid4()),  # bound to another request
               "notifications": answer("notifications", stranger)}  # sealed to someone else
    made = export.assemble(REQUEST, PrivacyKind.ACCESS, {"people": 1}, answers, [], private, default())
    assert made.broken == ("notifications", "outcomes")
    document = made.document
    assert document["complete"] is False and document["people"] == 1 and document["not_answered"] == []
    contacts = document["services"]["contacts"]
    people = next(c for c in contacts["classes"] if c["class"] == "people_index")
    assert people["held"] == contacts_part()["classes"]["people_index"] and people["title"] == "The people index"
    assert contacts["reads"][0]["route"] == "GET /v1/contacts/{contact_id}"
    assert document["services"]["outcomes"]["error"] == export.PART_BROKEN


def test_the_export_is_written_private_and_its_page_shows_records_as_text(tmp_path: Path) -> None:
    private, public = new_reply_keys()
    made = export.assemble(REQUEST, PrivacyKind.ACCESS, {"people": 1},
                           {"contacts": answer("contacts", public, contacts_part())}, ["outcomes"], private)
    directory = tmp_path / "privacy" / str(REQUEST)
    json_path, html_path = export.write(directory, made)
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    assert stat.S_IMODE(json_path.stat().st_mode) == 0o600 and stat.S_IMODE(html_path.stat().st_mode) == 0o600
    assert json.loads(json_path.read_text())["services"]["contacts"]["classes"][0]["held"][0]["given_name"] == NAME
    page = html_path.read_text()
    assert NAME not in page and "&lt;script&gt;alert(&#39;Quibble&#39;)&lt;/script&gt;" in page
    assert "No answer came from: outcomes" in page and "GET /v1/contacts/{contact_id}" in page
    assert "Kept for accountability" in page
    with pytest.raises(FileExistsError):
        export.write(directory, made)  # never over an earlier export


def test_the_summary_holds_classes_actions_and_counts_never_a_record() -> None:
    _, public = new_reply_keys()
    lines = export.summary_lines({"contacts": answer("contacts", public, contacts_part()),
                                  "allocation": answer("allocation", None)})
    text = "\n".join(lines)
    assert "Quibble" not in text and "2016-04-01" not in text and "p-1" not in text
    assert any(line.split()[:4] == ["contacts", "people_index", "exported", "1"] for line in lines)
    assert any(line.split()[:4] == ["allocation", "audit", "kept", "2"] for line in lines)
    assert text.count("reason 1:") == 1 and "Kept for accountability" in text


def test_only_the_first_answer_of_an_expected_service_to_this_request_counts() -> None:
    _, public = new_reply_keys()
    answers = Answers(("contacts", "allocation"))

    def raw(answered: PrivacyAnswered) -> bytes:
        return new_event(answered, source="urn:test", time=NOW).model_dump_json().encode()

    first = answer("contacts", public)
    assert answers.take(raw(first), REQUEST) == first
    assert answers.take(raw(answer("contacts", public)), REQUEST) is None  # a replay
    assert answers.take(raw(answer("allocation", public, request_id=uuid.uuid4())), REQUEST) is None
    assert answers.take(raw(answer("stranger", public)), REQUEST) is None
    assert answers.take(b"\x00not json", REQUEST) is None and answers.take(None, REQUEST) is None
    assert answers.skipped == 1 and answers.missing == ["allocation"] and not answers.complete
