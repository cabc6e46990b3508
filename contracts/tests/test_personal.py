"""Sealing personal fields with a person's key, wrapping keys for a service, and answers sealed to a
requester: round trips, and every way a value must fail to open."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from frontdoor_contracts.contacts import DAChildPersonal, DAIncidentReported, da_child_context
from frontdoor_contracts.errors import parse_event
from frontdoor_contracts.personal import (
    SealBroken,
    new_data_key,
    new_reply_keys,
    open_reply,
    open_sealed,
    seal,
    seal_to,
    unwrap_key,
    wrap_key,
)

PERSON = uuid.UUID("b3a1e6f0-7c42-4d1b-8e5a-0f9d2c6b4a71")
FIELDS = {"given_name": "Amelia", "family_name": "Testerton", "date_of_birth": "2015-09-03"}


@given(st.dictionaries(st.text(max_size=20), st.text(max_size=200) | st.integers() | st.none(), max_size=8))
def test_sealed_fields_open_with_the_key_and_context(fields: dict[str, object]) -> None:
    key = new_data_key()
    sealed = seal(key, PERSON, fields, "ctx/1")
    assert open_sealed(key, sealed, "ctx/1") == fields


def test_the_sealed_value_holds_no_plaintext() -> None:
    sealed = seal(new_data_key(), PERSON, FIELDS, "ctx")
    text = sealed.model_dump_json()
    assert not any(value in text for value in FIELDS.values())


def test_a_key_that_is_gone_reads_as_erased_not_as_an_error() -> None:
    assert open_sealed(None, seal(new_data_key(), PERSON, FIELDS, "ctx"), "ctx") is None


@pytest.mark.parametrize("how", ["other key", "other context", "other person", "altered"])
def test_a_value_that_does_not_belong_does_not_open(how: str) -> None:
    key = new_data_key()
    sealed = seal(key, PERSON, FIELDS, "ctx")
    if how == "other key":
        key = new_data_key()
    context = "ctx2" if how == "other context" else "ctx"
    if how == "other person":
        sealed = sealed.model_copy(update={"key_id": uuid.uuid4()})
    if how == "altered":
        raw = bytearray(sealed.ciphertext.encode())
        raw[5] = ord("A") if raw[5] != ord("A") else ord("B")
        sealed = sealed.model_copy(update={"ciphertext": raw.decode()})
    with pytest.raises(SealBroken) as refused:
        open_sealed(key, sealed, context)
    assert "Amelia" not in str(refused.value)


def test_a_wrapped_key_opens_only_for_its_service_and_person() -> None:
    service_key, data_key = new_data_key(), new_data_key()
    wrapped = wrap_key("notifications", "k1", service_key, PERSON, data_key)
    assert unwrap_key("notifications", service_key, PERSON, wrapped) == data_key
    for service, key, person in (("allocation", service_key, PERSON), ("notifications", new_data_key(), PERSON),
                                 ("notifications", service_key, uuid.uuid4())):
        with pytest.raises(SealBroken):
            unwrap_key(service, key, person, wrapped)


def test_an_answer_sealed_to_a_request_opens_only_with_its_private_key() -> None:
    private, public = new_reply_keys()
    sealed = seal_to(public, {"classes": {"notifications": [FIELDS]}}, "reply/1")
    assert open_reply(private, sealed, "reply/1") == {"classes": {"notifications": [FIELDS]}}
    with pytest.raises(SealBroken):
        open_reply(new_reply_keys()[0], sealed, "reply/1")
    with pytest.raises(SealBroken):
        open_reply(private, sealed, "reply/2")


def test_the_da_example_opens_with_its_published_key() -> None:
    """The example's key is bytes 0..31: a consumer's author can check their decryption against it."""
    raw = (Path(__file__).parents[1] / "examples" / "uk.gov.frontdoor.contacts.da-incident-reported.v1.json")
    event = parse_event(raw.read_bytes(), DAIncidentReported)
    for child in event.data.children:
        fields = open_sealed(bytes(range(32)), child.personal, da_child_context(event.data.contact_id, child.child_id))
        assert fields is not None
        DAChildPersonal.model_validate(fields)
    assert "Amelia" not in raw.read_text() and "MPS/" not in raw.read_text()
