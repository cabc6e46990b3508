"""The largest input the contracts accept fits: as a request body under
MAX_BODY_BYTES whatever JSON encoder the sender uses, and in its largest
envelope under MAX_PAYLOAD_BYTES (room kept for key and headers under the
record limit). Hypothesis shows `largest` is the largest: no string a cap
accepts encodes to more bytes than the one `largest` puts there, and no
valid payload outgrows it. (What the services derive from these inputs is
measured in their own tests.)"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import TypeAdapter

from frontdoor_contracts import caps, largest
from frontdoor_contracts.contacts import ContactSubmitted
from frontdoor_contracts.envelope import EventData, encode_event
from frontdoor_contracts.limits import MAX_BODY_BYTES, MAX_PAYLOAD_BYTES, MAX_RECORD_BYTES
from frontdoor_contracts.topics import DOMAIN_TOPICS, SERVICES

INPUTS = largest.largest_inputs()
Encoder = Callable[[Any], bytes]
# What an honest sender's JSON library writes: compact or indented, UTF-8 or \u-escaped (Python's default).
ENCODERS: dict[str, Encoder] = {
    "compact-utf8": lambda doc: json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode(),
    "escaped": lambda doc: json.dumps(doc).encode(),
    "indented-escaped": lambda doc: json.dumps(doc, indent=2).encode(),
    "indented4-escaped": lambda doc: json.dumps(doc, indent=4).encode(),
}


def test_every_event_an_outside_system_sends_has_a_largest_instance() -> None:
    outside = {spec.event for spec in DOMAIN_TOPICS if set(spec.producers) - set(SERVICES)}
    assert outside == {type(data) for data in INPUTS}


@pytest.mark.parametrize("data", INPUTS, ids=lambda d: type(d).__name__)
@pytest.mark.parametrize("encoding", ENCODERS)
def test_the_largest_body_fits_the_http_edge(data: EventData, encoding: str) -> None:
    body = ENCODERS[encoding](data.model_dump(mode="json"))
    assert len(body) <= MAX_BODY_BYTES, f"{type(data).__name__} {encoding}: {len(body)} bytes"
    assert type(data).model_validate_json(body) == data


@pytest.mark.parametrize("data", INPUTS, ids=lambda d: type(d).__name__)
def test_the_largest_record_leaves_room_for_key_and_headers(data: EventData) -> None:
    value = encode_event(largest.largest_event(data))
    assert len(value) <= MAX_PAYLOAD_BYTES < MAX_RECORD_BYTES


def test_the_largest_contact_is_the_one_the_body_limit_is_sized_for() -> None:
    """limits.MAX_BODY_BYTES is sized for it (measured 222,345 bytes escaped and indented by four)."""
    sizes = {name: len(encode(largest.largest_contact().model_dump(mode="json"))) for name, encode in ENCODERS.items()}
    assert max(sizes.values()) > MAX_BODY_BYTES * 3 // 4, sizes  # the limit is not far above honest input


# -- every cap's largest string is the widest on the wire ---------------------------------------------------------
TEXT_TYPES: dict[str, tuple[Any, int]] = {
    "name": (caps.Name, caps.NAME_MAX), "ref": (caps.Ref, caps.REF_MAX),
    "police_reference": (caps.PoliceReference, caps.POLICE_REFERENCE_MAX),
    "relationship": (caps.Relationship, caps.RELATIONSHIP_MAX), "decided_by": (caps.DecidedBy, caps.DECIDED_BY_MAX),
    "rationale": (caps.Rationale, caps.RATIONALE_MAX),
}


@settings(max_examples=500)
@given(character=st.characters())
def test_no_character_text_accepts_encodes_wider_than_the_wide_one(character: str) -> None:
    """Free text accepts the most characters; each costs at most what `largest.WIDE` costs, in every encoding."""
    adapter: TypeAdapter[str] = TypeAdapter(caps.Rationale)
    try:
        accepted = adapter.validate_python(f"a{character}a")
    except ValueError:
        return
    for encode in (*ENCODERS.values(), adapter.dump_json):
        assert len(encode(accepted)) <= len(encode(f"a{largest.WIDE}a"))


@pytest.mark.parametrize("name", TEXT_TYPES)
@settings(max_examples=100, deadline=None)
@given(data=st.data())
def test_no_accepted_string_encodes_wider_than_the_largest(name: str, data: st.DataObject) -> None:
    text_type, cap = TEXT_TYPES[name]
    adapter: TypeAdapter[str] = TypeAdapter(text_type)
    text = data.draw(st.text(max_size=cap + 1) | st.text(min_size=max(cap - 2, 0), max_size=cap + 1))
    try:
        accepted = adapter.validate_python(text)
    except ValueError:
        return  # refused: it never reaches the wire
    widest = adapter.validate_python(largest.wide(cap))
    for encode in (*ENCODERS.values(), adapter.dump_json):
        assert len(encode(accepted)) <= len(encode(widest))


# -- hypothesis: contacts of every shape stay under the largest ---------------------------------------------------
LARGEST_CONTACT_BYTES = {name: len(encode(largest.largest_contact().model_dump(mode="json")))
                         for name, encode in ENCODERS.items()}
LETTERS = st.characters(codec="utf-8", exclude_categories=("Cc", "Cs", "Z"))
WORDS = st.text(LETTERS, min_size=1, max_size=caps.NAME_MAX)


@st.composite
def contacts(draw: st.DrawFn) -> dict[str, Any]:
    """A valid contact body, any size up to every cap (identifiers left out: fixed width)."""
    doc = largest.largest_contact().model_dump(mode="json")
    refs = draw(st.lists(st.text(LETTERS, min_size=1, max_size=caps.REF_MAX), min_size=1,
                         max_size=caps.MAX_CHILDREN + caps.MAX_ADULTS, unique=True))
    split = draw(st.integers(max(1, len(refs) - caps.MAX_ADULTS), min(len(refs), caps.MAX_CHILDREN)))
    people = [{**doc["children"][0], "ref": ref, "given_name": draw(WORDS), "family_name": draw(WORDS)}
              for ref in refs[:split]]
    adults = [{"ref": ref, "given_name": draw(WORDS), "family_name": draw(WORDS),
               "relationship": draw(st.none() | st.text(LETTERS, max_size=caps.RELATIONSHIP_MAX))}
              for ref in refs[split:]]
    present = draw(st.lists(st.sampled_from(refs[:split]), min_size=1, unique=True))
    return {**doc, "children": people, "adults": adults,
            "concerns": draw(st.lists(st.sampled_from([c.value for c in caps.Concern]), min_size=1, unique=True)),
            "da_incident": {**doc["da_incident"], "children": [{"child_ref": r, "present": True} for r in present]}}


@settings(max_examples=60, deadline=None)
@given(document=contacts())
def test_a_valid_contact_is_never_larger_than_the_largest(document: dict[str, Any]) -> None:
    contact = ContactSubmitted.model_validate(document)
    for name, encode in ENCODERS.items():
        assert len(encode(contact.model_dump(mode="json"))) <= LARGEST_CONTACT_BYTES[name] <= MAX_BODY_BYTES
