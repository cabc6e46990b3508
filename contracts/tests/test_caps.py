"""Caps on everything a sender controls (`frontdoor_contracts.caps`): each list
and string is bounded, repeats are refused, text holds no control character;
every refusal names the field and the rule, never the value."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import Any

import pytest

from frontdoor_contracts import largest
from frontdoor_contracts.allocation import StepDownRequested
from frontdoor_contracts.caps import MAX_ADULTS, MAX_CHILDREN, MAX_CONCERNS
from frontdoor_contracts.contacts import ContactSubmitted, DecisionSubmitted
from frontdoor_contracts.envelope import EventData
from frontdoor_contracts.errors import InvalidEvent, parse_event, validate_data
from frontdoor_contracts.vocabulary import Concern

CONTACT = ContactSubmitted.EVENT_TYPE
Example = Callable[[str], dict[str, Any]]
SECRET = "Jemima Puddleduck"


def _refused(document: dict[str, Any], model: type[EventData] = ContactSubmitted) -> InvalidEvent:
    with pytest.raises(InvalidEvent) as caught:
        parse_event(json.dumps(document).encode(), model)
    return caught.value


def _text(error: InvalidEvent) -> str:
    return " ".join([str(error), *(f"{e.field} {e.reason} {e.message}" for e in error.errors)])


def test_the_reproduced_contact_is_refused_naming_the_da_children(example: Example) -> None:
    """Issue 14: one child with long names, named 4,000 times in the DA incident (a 133 KB body)."""
    document = example(CONTACT)
    data = document["data"]
    data["children"] = [{**data["children"][0], "given_name": SECRET * 5, "family_name": SECRET * 5}]
    data["adults"] = []
    data["da_incident"]["children"] = [{"child_ref": "C1", "present": True}] * 4000
    assert len(json.dumps(data)) > 100_000
    error = _refused(document)
    assert [(e.field, e.reason) for e in error.errors] == [("data.da_incident.children", "too_long")]
    assert f"at most {MAX_CHILDREN} items" in error.errors[0].message
    assert "Jemima" not in _text(error) and "C1" not in _text(error)


def test_a_child_named_twice_in_the_da_incident_is_refused(example: Example) -> None:
    document = example(CONTACT)
    document["data"]["da_incident"]["children"][1]["child_ref"] = "C1"
    error = _refused(document)
    assert [e.field for e in error.errors] == ["data.da_incident.children"]
    assert error.errors[0].message == "each child_ref must appear once"


def test_the_da_incident_names_no_more_entries_than_the_contact_has_children(example: Example) -> None:
    document = example(CONTACT)
    data = document["data"]
    data["da_incident"]["children"].append({"child_ref": "C3", "present": True})  # unique, but names nobody
    assert len(data["da_incident"]["children"]) > len(data["children"])
    assert _refused(document).field == "data.da_incident"
    data["da_incident"]["children"] = data["da_incident"]["children"][:2]
    parse_event(json.dumps(document).encode(), ContactSubmitted)


def test_concerns_are_each_once_and_at_most_the_vocabulary(example: Example) -> None:
    document = example(CONTACT)
    document["data"]["concerns"] = ["neglect", "domestic_abuse", "neglect"]
    error = _refused(document)
    assert [(e.field, e.message) for e in error.errors] == [("data.concerns", "each concern must appear once")]
    document["data"]["concerns"] = [c.value for c in Concern]
    parse_event(json.dumps(document).encode(), ContactSubmitted)
    document["data"]["concerns"] = ["neglect"] * (MAX_CONCERNS + 1)
    assert [(e.field, e.reason) for e in _refused(document).errors] == [("data.concerns", "too_long")]


def test_an_adult_ref_names_one_person_of_the_contact(example: Example) -> None:
    document = example(CONTACT)
    document["data"]["adults"][1]["ref"] = "A1"
    error = _refused(document)
    assert [(e.field, e.message) for e in error.errors] == [
        ("data.adults", "each ref (of a child or an adult) must appear once")]
    document["data"]["adults"][1]["ref"] = "C2"  # a child's ref
    assert _refused(document).field == "data.adults"


@pytest.mark.parametrize(("people", "cap"), [("children", MAX_CHILDREN), ("adults", MAX_ADULTS)])
def test_people_are_capped(people: str, cap: int) -> None:
    document = largest.largest_contact().model_dump(mode="json")
    extra = {**document[people][0], "ref": "one-too-many"}
    document[people].append(extra)
    with pytest.raises(InvalidEvent) as caught:
        validate_data(document, ContactSubmitted)
    assert (people, "too_long") in {(e.field, e.reason) for e in caught.value.errors}
    assert f"at most {cap} items" in next(e.message for e in caught.value.errors if e.field == people)


STRINGS: list[tuple[str, list[str | int], int]] = [
    ("child given name", ["children", 0, "given_name"], 100),
    ("adult family name", ["adults", 0, "family_name"], 100),
    ("child ref", ["children", 0, "ref"], 40),
    ("relationship", ["adults", 1, "relationship"], 40),
    ("police reference", ["da_incident", "police_reference"], 40),
]


@pytest.mark.parametrize(("path", "cap"), [(s[1], s[2]) for s in STRINGS], ids=[s[0] for s in STRINGS])
def test_every_string_is_capped_and_refuses_control_characters(
    example: Example, path: list[str | int], cap: int
) -> None:
    field = "data" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path)
    for bad, reason in ((SECRET[0] * (cap + 1), "string_too_long"), ("Jemima\x00Puddleduck", "string_pattern_mismatch"),
                        ("Jemima\nPuddleduck", "string_pattern_mismatch")):
        document = example(CONTACT)
        target: Any = document["data"]
        for step in path[:-1]:
            target = target[step]
        target[path[-1]] = bad
        error = _refused(document)
        assert field in {e.field for e in error.errors}, bad
        assert reason in {e.reason for e in error.errors if e.field == field}
        assert "Puddleduck" not in _text(error)


def test_a_rationale_keeps_its_lines_but_no_other_control_character(example: Example) -> None:
    document = example(DecisionSubmitted.EVENT_TYPE)
    document["data"]["rationale"] = "Seen at school.\r\n\tMother says Jemima is safe."
    parse_event(json.dumps(document).encode(), DecisionSubmitted)
    for bad in ("Jemima\x00", "Jemima\x1b[2J", "J" * 4001):
        document["data"]["rationale"] = bad
        error = _refused(document, DecisionSubmitted)
        assert [e.field for e in error.errors] == ["data.rationale"]
        assert "Jemima" not in _text(error)


def test_a_step_down_names_each_concern_once(example: Example) -> None:
    document = example(StepDownRequested.EVENT_TYPE)
    document["data"]["concerns"] = ["neglect", "neglect"]
    assert [e.field for e in _refused(document, StepDownRequested).errors] == ["data.concerns"]
    document["data"]["concerns"] = ["neglect"]
    document["data"]["child_ids"] = [str(uuid.uuid4()) for _ in range(MAX_CHILDREN + 1)]
    assert [e.reason for e in _refused(document, StepDownRequested).errors] == ["too_long"]


def test_partner_record_text_is_capped_too(example: Example) -> None:
    from frontdoor_contracts.partners import EmploymentRecorded

    document = example(EmploymentRecorded.EVENT_TYPE)
    document["data"]["record_ref"] = "R" * 41
    document["data"]["person"]["given_name"] = "Jemima\x00"
    error = _refused(document, EmploymentRecorded)
    assert {e.field for e in error.errors} == {"data.record_ref", "data.person.given_name"}
    assert "Jemima" not in _text(error)
