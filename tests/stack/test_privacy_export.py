"""The privacy command's export: each service's part opened with the request's private key (a part sealed
to another request, or to another key, is flagged, not trusted), one JSON document and one page that shows
records as text, never as markup, written 0700/0600 and never over an earlier export, the DPO's review
notice (third parties' data, deletion) at the top of the page; the lines printed hold services, classes,
actions and counts, never a record. An answer counts as service S's only when its source is in S's
namespace: another service's record claiming to be S's answer is ignored and counted."""

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
from frontdoor_contracts.sources import SERVICE_SOURCES
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


def raw(answered: PrivacyAnswered, source: str | None = None) -> bytes:
    """The answer as a service publishes it: from its own namespace unless `source` says otherwise."""
    return new_event(answered, source=source or SERVICE_SOURCES[answered.service], time=NOW).model_dump_json().encode()


def test_only_the_first_answer_of_an_expected_service_to_this_request_counts() -> None:
    _, public = new_reply_keys()
    answers = Answers(("contacts", "allocation"))
    first = answer("contacts", public)
    assert answers.take(raw(first), REQUEST) == first
    assert answers.take(raw(answer("contacts", public)), REQUEST) is None  # a replay
    assert answers.take(raw(answer("allocation", public, request_id=uuid.uuid4())), REQUEST) is None
    assert answers.take(raw(answer("stranger", public), source="urn:frontdoor:stranger"), REQUEST) is None
    assert answers.take(b"\x00not json", REQUEST) is None and answers.take(None, REQUEST) is None
    assert answers.skipped == 1 and answers.missing == ["allocation"] and not answers.complete
    assert answers.refused == {}


@pytest.mark.parametrize("source", [
    "urn:frontdoor:allocation",  # another service passing its record off as contacts' answer
    "urn:frontdoor:contactsx",  # a namespace that only starts like contacts'
    "urn:frontdoor",  # the kit's default, nobody's namespace
    "urn:e2e:police-front-door",  # an outside system
    "urn:frontdoor:allocation:urn:frontdoor:contacts",
])
def test_an_answer_is_a_services_only_from_its_own_namespace_others_ignored_and_counted(source: str) -> None:
    _, public = new_reply_keys()
    answers = Answers(("contacts", "allocation"))
    forged = answer("contacts", public)
    assert answers.take(raw(forged, source=source), REQUEST) is None
    assert answers.take(raw(forged, source=source), REQUEST) is None
    assert answers.refused == {"contacts": 2} and answers.missing == ["contacts", "allocation"]
    genuine = answer("contacts", public)
    assert answers.take(raw(genuine, source="urn:frontdoor:contacts:api"), REQUEST) == genuine  # below it: its own
    assert answers.by_service == {"contacts": genuine} and answers.refused == {"contacts": 2}


def test_the_export_says_which_answers_were_ignored_and_what_the_dpo_must_do(tmp_path: Path) -> None:
    private, public = new_reply_keys()
    made = export.assemble(REQUEST, PrivacyKind.ACCESS, {"people": 1},
                           {"contacts": answer("contacts", public, contacts_part())}, [], private,
                           ignored={"contacts": 1})
    assert made.document["answers_ignored"] == {"contacts": 1} and made.document["review"] == export.REVIEW
    _, html_path = export.write(tmp_path / "out", made)
    page = html_path.read_text()
    body = page[page.index("<body>"):]
    notice = body.index('id="review"')
    assert notice < body.index("<h1>") and notice < body.index("What each service did")
    for words in ("third party", "DPA 2018 Sch. 2 para. 16", "DPA 2018 Sch. 3", "serious harm",
                  "Delete the export once the answer is sent", "purge-exports"):
        assert words in page and words in export.REVIEW, words
    lines = export.review_lines(tmp_path / "out")
    assert str(tmp_path / "out") in lines[0] and lines[1] == export.REVIEW
