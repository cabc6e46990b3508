"""Rules on a submitted contact, and errors that are safe to log: every error
names the field and never carries the offending value (OFFICIAL-SENSITIVE)."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from frontdoor_contracts.contacts import ContactSubmitted, DecisionSubmitted
from frontdoor_contracts.errors import FieldError, InvalidEvent, parse_event

CONTACT = ContactSubmitted.EVENT_TYPE
Example = Callable[[str], dict[str, Any]]


def _refused(document: dict[str, Any], model: type[Any] = ContactSubmitted) -> InvalidEvent:
    with pytest.raises(InvalidEvent) as caught:
        parse_event(json.dumps(document).encode(), model)
    return caught.value


def _leaks(error: InvalidEvent, secret: str) -> list[str]:
    texts = [str(error), *(f"{e.field} {e.reason} {e.message}" for e in error.errors)]
    return [text for text in texts if secret.lower() in text.lower()]


def test_a_contact_must_name_at_least_one_child(example: Example) -> None:
    document = example(CONTACT)
    document["data"]["children"] = []
    document["data"]["da_incident"] = None
    error = _refused(document)
    assert error.reason == "invalid_data"
    assert [e.field for e in error.errors] == ["data.children"]


def test_a_date_of_birth_in_the_future_is_refused(example: Example) -> None:
    document = example(CONTACT)
    tomorrow = (datetime.now(UTC) + timedelta(days=2)).date().isoformat()
    document["data"]["children"][1]["date_of_birth"] = tomorrow
    error = _refused(document)
    assert error.errors == [
        FieldError("data.children[1].date_of_birth", "value_error", "date of birth must not be in the future")]
    assert not _leaks(error, tomorrow)


def test_a_date_of_birth_today_is_accepted(example: Example) -> None:
    document = example(CONTACT)
    document["data"]["children"][1]["date_of_birth"] = datetime.now(UTC).date().isoformat()
    parse_event(json.dumps(document).encode(), ContactSubmitted)


@pytest.mark.parametrize("source", ["school", "health", "gp", "family_self"])
def test_a_da_incident_is_only_accepted_from_police(example: Example, source: str) -> None:
    document = example(CONTACT)
    document["data"]["referrer_source"] = source
    error = _refused(document)
    assert error.field == "data.da_incident"
    assert "only accepted from referrer_source police" in error.errors[0].message


def test_a_contact_from_another_source_without_incident_is_accepted(example: Example) -> None:
    document = example(CONTACT)
    document["data"]["referrer_source"] = "school"
    document["data"]["da_incident"] = None
    assert parse_event(json.dumps(document).encode(), ContactSubmitted).data.da_incident is None


def test_da_incident_child_refs_must_resolve(example: Example) -> None:
    document = example(CONTACT)
    document["data"]["da_incident"]["children"][1]["child_ref"] = "C9"
    error = _refused(document)
    assert error.field == "data.da_incident"
    assert error.errors[0].message == "children[1].child_ref does not name a child in the contact"
    assert not _leaks(error, "C9")


def test_a_da_incident_names_at_least_one_child(example: Example) -> None:
    document = example(CONTACT)
    document["data"]["da_incident"]["children"] = []
    assert _refused(document).field == "data.da_incident.children"


def test_duplicate_child_refs_are_refused(example: Example) -> None:
    document = example(CONTACT)
    document["data"]["children"][1]["ref"] = "C1"
    error = _refused(document)
    assert error.field == "data.children"
    assert error.errors[0].message == "each child's ref must be unique within the contact"


BAD_VALUES: list[tuple[str, list[str | int], str]] = [
    ("nhs_number", ["children", 0, "nhs_number"], "9434765918"),
    ("nhs_number", ["children", 1, "nhs_number"], "943476591X"),
    ("adult_nhs_number", ["adults", 0, "nhs_number"], "4010232138"),
    ("upn", ["children", 0, "upn"], "A202400118123"),
    ("school_urn", ["children", 0, "school_urn"], "Q1234Z"),
    ("postcode", ["children", 0, "postcode"], "ZZTOP 99"),
    ("given_name", ["children", 0, "given_name"], "Jemima" * 20),
    ("family_name", ["adults", 1, "family_name"], "   "),
    ("date_of_birth", ["children", 0, "date_of_birth"], "2015-02-30"),
    ("referrer_source", ["referrer_source"], "Mrs Jemima Puddleduck"),
    ("concern", ["concerns", 0], "Jemima Puddleduck's uncle"),
    ("police_reference", ["da_incident", "police_reference"], "X1"),
]


@pytest.mark.parametrize(("name", "path", "bad"), BAD_VALUES, ids=[b[0] + str(i) for i, b in enumerate(BAD_VALUES)])
def test_errors_name_the_field_and_never_the_value(
    example: Example, name: str, path: list[str | int], bad: str
) -> None:
    document = example(CONTACT)
    target: Any = document["data"]
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = bad
    error = _refused(document)
    expected = "data" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path)
    assert error.reason == "invalid_data"
    assert [e.field for e in error.errors] == [expected]
    if bad.strip():
        assert not _leaks(error, bad.strip()), "an error message carries the offending value"


def test_an_unparseable_uuid_does_not_quote_any_of_it(example: Example) -> None:
    document = example(DecisionSubmitted.EVENT_TYPE)
    document["data"]["contact_id"] = "Smith-family"
    error = _refused(document, DecisionSubmitted)
    assert error.errors == [FieldError("data.contact_id", "uuid_parsing", "Input should be a valid UUID")]
    assert "`" not in str(error)


def test_many_errors_are_all_reported_by_field(example: Example) -> None:
    document = example(CONTACT)
    document["data"]["children"][0]["nhs_number"] = "9434765918"
    document["data"]["children"][1]["upn"] = "A202400118123"
    del document["data"]["received_at"]
    error = _refused(document)
    assert {e.field for e in error.errors} == {
        "data.children[0].nhs_number", "data.children[1].upn", "data.received_at"}
    assert not _leaks(error, "9434765918") and not _leaks(error, "A202400118123")


def test_envelope_errors_name_the_attribute(example: Example) -> None:
    document = example(CONTACT)
    document["time"] = "2025-04-12T07:41:09"  # no offset: event time must be aware
    document["traceparent"] = "not-a-traceparent"
    error = _refused(document)
    assert error.reason == "invalid_envelope"
    assert {e.field for e in error.errors} == {"time", "traceparent"}
    assert not _leaks(error, "not-a-traceparent")


def test_not_json_and_not_an_object() -> None:
    assert _refused_raw(b"\xff{").reason == "not_json"
    assert _refused_raw(b"[1, 2]").reason == "invalid_envelope"


def _refused_raw(raw: bytes) -> InvalidEvent:
    with pytest.raises(InvalidEvent) as caught:
        parse_event(raw, ContactSubmitted)
    return caught.value


def test_date_of_birth_is_judged_on_the_date_in_england() -> None:
    from datetime import UTC, date, datetime

    from frontdoor_contracts.contacts import today_in_england

    # 00:30 BST on 2 June is 23:30 UTC on 1 June: a child born that night is born "today".
    assert today_in_england(datetime(2026, 6, 1, 23, 30, tzinfo=UTC)) == date(2026, 6, 2)
    assert today_in_england(datetime(2026, 12, 1, 23, 30, tzinfo=UTC)) == date(2026, 12, 1)  # GMT in winter


def _decided_with(**changes: object) -> bytes:
    import json
    from pathlib import Path

    example = Path(__file__).resolve().parents[1] / "examples" / "uk.gov.frontdoor.contacts.decided.v1.json"
    document = json.loads(example.read_text())
    document["data"].update(changes)
    return json.dumps(document).encode()


def test_an_informational_value_a_newer_producer_added_is_tolerated_by_a_lenient_consumer() -> None:
    import pytest

    from frontdoor_contracts.contacts import ContactDecided
    from frontdoor_contracts.errors import InvalidEvent, parse_event

    raw = _decided_with(referrer_source="ambulance_service", concerns=["neglect", "online_harm"])
    with pytest.raises(InvalidEvent):
        parse_event(raw, ContactDecided)  # producers (strict) still refuse it
    event = parse_event(raw, ContactDecided, lenient=True)
    assert event.data.referrer_source == "ambulance_service"  # kept as its string
    assert [c.value for c in event.data.concerns] == ["neglect"]  # the unknown concern is left out


def test_a_value_that_changes_what_the_consumer_does_is_refused_even_leniently() -> None:
    import pytest

    from frontdoor_contracts.contacts import ContactDecided
    from frontdoor_contracts.errors import InvalidEvent, parse_event

    for change in ({"decision": "family_group_conference"}, {"level_of_need": 5}):
        with pytest.raises(InvalidEvent) as refused:
            parse_event(_decided_with(**change), ContactDecided, lenient=True)
        assert refused.value.reason == "invalid_data" and refused.value.field == f"data.{next(iter(change))}"
