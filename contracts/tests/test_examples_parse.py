"""Every stored example still parses: old payloads must keep parsing within a
topic version, so a model change that breaks one of these is incompatible.

Consumer policy found in the models: the envelope ignores unknown attributes
(CloudEvents extensions); `data` refuses unknown fields (extra="forbid", the
producers' strictness) unless the consumer parses with `lenient=True`."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from frontdoor_contracts.contacts import ContactSubmitted
from frontdoor_contracts.envelope import EventData
from frontdoor_contracts.errors import InvalidEvent, parse_event
from frontdoor_contracts.generate import event_models

MODELS = event_models()
Example = Callable[[str], dict[str, Any]]


def _raw(document: dict[str, Any]) -> bytes:
    return json.dumps(document).encode()


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.EVENT_TYPE)
def test_stored_example_parses(model: type[EventData], example: Example) -> None:
    document = example(model.EVENT_TYPE)
    event = parse_event(_raw(document), model)
    assert event.type == model.EVENT_TYPE
    assert event.id == document["id"]
    assert isinstance(event.data, model)
    assert parse_event(_raw(document), model, lenient=True) == event


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.EVENT_TYPE)
def test_unknown_envelope_attributes_are_ignored(model: type[EventData], example: Example) -> None:
    document = example(model.EVENT_TYPE)
    document["partitionkey"] = "an extension attribute"
    assert parse_event(_raw(document), model).id == document["id"]


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.EVENT_TYPE)
def test_unknown_data_field_is_refused_strictly_and_ignored_leniently(model: type[EventData], example: Example) -> None:
    document = example(model.EVENT_TYPE)
    document["data"]["added_in_a_later_revision"] = "optional"
    with pytest.raises(InvalidEvent) as caught:
        parse_event(_raw(document), model)
    assert caught.value.reason == "invalid_data"
    assert caught.value.field == "data.added_in_a_later_revision"
    event = parse_event(_raw(document), model, lenient=True)
    assert "added_in_a_later_revision" not in event.data.model_dump()


def test_lenient_ignores_unknown_fields_in_nested_objects(example: Example) -> None:
    document = example("uk.gov.frontdoor.contact.submitted.v1")
    document["data"]["children"][0]["ethnicity"] = "not yet in v1"
    assert parse_event(_raw(document), ContactSubmitted, lenient=True).data.model_dump()["children"][0]["ref"] == "C1"


def test_lenient_still_refuses_invalid_values(example: Example) -> None:
    document = example("uk.gov.frontdoor.contact.submitted.v1")
    document["data"]["children"][0]["nhs_number"] = "9434765918"
    with pytest.raises(InvalidEvent) as caught:
        parse_event(_raw(document), ContactSubmitted, lenient=True)
    assert caught.value.field == "data.children[0].nhs_number"


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.EVENT_TYPE)
def test_an_example_of_another_type_is_refused(model: type[EventData], example: Example) -> None:
    other = next(m for m in MODELS if m is not model)
    with pytest.raises(InvalidEvent) as caught:
        parse_event(_raw(example(other.EVENT_TYPE)), model)
    assert caught.value.reason == "wrong_type" and caught.value.field == "type"


def test_example_identifiers_are_normalised(example: Example) -> None:
    event = parse_event(_raw(example("uk.gov.frontdoor.contact.submitted.v1")), ContactSubmitted)
    child = event.data.model_dump()["children"][0]
    assert child["nhs_number"] == "9434765919"
    assert child["postcode"] == "NW1 8AB"
