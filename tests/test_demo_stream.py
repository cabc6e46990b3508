"""The demo stream is valid, realistic in shape, and synthetic; so are the
notifications directory the stack seeds for it and the demo school system
that receives its webhooks (tests/e2e/stack/ runs them on the real stack)."""

from __future__ import annotations

import base64
import io
import json
import os
import stat
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pydantic import TypeAdapter
from standardwebhooks.webhooks import Webhook

from frontdoor_contracts.allocation import AgencyId
from frontdoor_contracts.contacts import ContactSubmitted, DecisionSubmitted, contact_id_for
from frontdoor_contracts.envelope import CloudEvent
from frontdoor_contracts.identifiers import is_valid_nhs_number, is_valid_upn
from frontdoor_contracts.vocabulary import ReferrerSource
from frontdoor_stack.bench.da_webhook import background_contacts, da_contact, percentile
from frontdoor_stack.demo import (
    ADULT_GIVEN,
    DEMO_AGENCIES,
    EARLY_HELP_MANAGER,
    FAMILY_NAMES,
    GIVEN_NAMES,
    SCHOOL_URNS,
    DemoStream,
)
from frontdoor_stack.school_receiver import SchoolSystem, Secrets, read_secrets, write_secrets
from frontdoor_stack.seed import EMAIL, INBOX, WEBHOOK, agency_plan, new_password, school_plan
from notifications.responses import AgencyRequest, PasswordRequest, SchoolRequest


def contacts(count: int = 400, seed: int = 1) -> list[tuple[CloudEvent[ContactSubmitted], str]]:
    stream = DemoStream(seed)
    events = []
    for _ in range(count):
        _, value, contact_id = stream.contact()
        events.append((CloudEvent[ContactSubmitted].model_validate_json(value), contact_id))
    return events


def test_contacts_validate_and_their_ids_follow_the_contract() -> None:
    for event, contact_id in contacts(100):
        assert event.type == ContactSubmitted.EVENT_TYPE
        assert contact_id == str(contact_id_for(event.source, event.id))


def test_identifiers_are_valid_and_synthetic() -> None:
    for event, _ in contacts(200):
        for child in event.data.children:
            assert child.family_name in FAMILY_NAMES
            assert child.nhs_number is None or (is_valid_nhs_number(child.nhs_number)
                                                and child.nhs_number.startswith("999"))
            assert child.upn is None or is_valid_upn(child.upn)
            assert child.school_urn is None or (len(child.school_urn) == 6 and child.school_urn.isdigit())
            assert child.postcode is not None and child.postcode.startswith("ZZ99")


def test_police_are_about_a_third_and_bring_da_incidents() -> None:
    events = contacts(600)
    sources = Counter(event.data.referrer_source for event, _ in events)
    assert 0.2 < sources[ReferrerSource.POLICE] / len(events) < 0.4
    assert len(sources) >= 7
    incidents = [event.data.da_incident for event, _ in events if event.data.da_incident]
    assert incidents and all(1 <= len(incident.children) <= 3 for incident in incidents)


def test_some_children_come_back() -> None:
    seen = Counter(
        child.nhs_number for event, _ in contacts(300) for child in event.data.children if child.nhs_number
    )
    assert sum(1 for count in seen.values() if count > 1) >= 10


def test_decisions_validate() -> None:
    stream = DemoStream(3)
    _, _, contact_id = stream.contact()
    key, value = stream.decision(contact_id)
    event = CloudEvent[DecisionSubmitted].model_validate_json(value)
    assert key == contact_id == str(event.data.contact_id)
    assert json.loads(value)["type"] == DecisionSubmitted.EVENT_TYPE


# --- the notifications directory the stack seeds -----------------------------------------------------------------

RECEIVER = "http://127.0.0.1:8090"


def test_every_demo_school_gets_an_entry_with_a_realistic_mix_of_channels() -> None:
    plan = school_plan()
    assert [s.urn for s in plan] == list(SCHOOL_URNS)
    channels = Counter(s.channel for s in plan)
    assert channels[WEBHOOK] > len(plan) / 2 and channels[INBOX] >= 2 and 1 <= channels[EMAIL] <= 2
    assert len({s.phase for s in plan}) >= 4 and len({s.name for s in plan}) == len(plan)
    assert len({s.staff_id for s in plan}) == len(plan)


def test_each_entry_is_a_valid_directory_request_and_synthetic() -> None:
    demo_names = set(GIVEN_NAMES) | set(FAMILY_NAMES) | set(ADULT_GIVEN)
    for school in school_plan():
        body = school.body(RECEIVER)
        SchoolRequest.model_validate(body)  # what PUT /v1/schools/{urn} accepts
        if school.channel == WEBHOOK:
            assert body["webhook_url"] == f"{RECEIVER}/webhooks/schools/{school.urn}"
        assert not any(name in json.dumps(body) for name in demo_names)
        assert all(a["email"].endswith(".example") for a in body["key_adults"])


def test_the_agencies_the_demo_allocates_to_and_the_early_help_manager_are_planned() -> None:
    plan = {a.agency_id: a for a in agency_plan()}
    assert set(plan) == {agency_id for agency_id, _, _ in DEMO_AGENCIES} | {EARLY_HELP_MANAGER}
    for agency in plan.values():
        AgencyRequest.model_validate(agency.body(RECEIVER))
        TypeAdapter(AgencyId).validate_python(agency.agency_id)  # an identifier, as allocations name it


def test_generated_passwords_pass_the_page_policy_and_differ() -> None:
    passwords = {new_password() for _ in range(50)}
    assert len(passwords) == 50 and all(len(p) >= 12 for p in passwords)
    PasswordRequest.model_validate({"password": passwords.pop()})


def test_handed_secrets_are_0600_newest_first_and_keep_the_overlapping_ones(tmp_path: Path) -> None:
    path = tmp_path / "receiver" / "secrets.json"
    write_secrets(path, {"schools/101733": "whsec_b2xk", "schools/103466": "whsec_b3RoZXI="})
    write_secrets(path, {"schools/101733": "whsec_bmV3"})
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert read_secrets(path) == {"schools/101733": ["whsec_bmV3", "whsec_b2xk"],
                                  "schools/103466": ["whsec_b3RoZXI="]}


# --- the demo school system ---------------------------------------------------------------------------------------

SECRET = "whsec_" + base64.b64encode(os.urandom(32)).decode()
BODY = json.dumps({"given_name": "Pixel", "family_name": "Testerton", "police_reference": "DEMO/1/26"}).encode()


def signed(webhook_id: str, body: bytes = BODY, secret: str = SECRET) -> dict[str, str]:
    now = int(time.time())
    signature = Webhook(secret).sign(webhook_id, datetime.fromtimestamp(now, UTC), body.decode())
    return {"Webhook-Id": webhook_id, "Webhook-Timestamp": str(now), "Webhook-Signature": signature}


def test_the_receiver_verifies_dedupes_and_counts(tmp_path: Path) -> None:
    path = tmp_path / "secrets.json"
    write_secrets(path, {"schools/101733": SECRET})
    out = io.StringIO()
    system = SchoolSystem(Secrets(path), out)
    arrived = time.time()
    assert system.deliver("schools/101733", signed("n-1"), BODY, arrived) == 204
    assert system.deliver("schools/101733", signed("n-1"), BODY, arrived) == 204  # a retry: accepted, not twice
    assert system.deliver("schools/101733", signed("n-2"), BODY + b" ", arrived) == 401  # tampered
    assert system.deliver("schools/103466", signed("n-3"), BODY, arrived) == 401  # not this school's secret
    assert system.deliver("schools/101733", {"webhook-id": "n-4"}, BODY, arrived) == 401  # unsigned
    garbled = {**signed("n-5"), "Webhook-Signature": "v1,@@@ nonsense"}
    assert system.deliver("schools/101733", garbled, BODY, arrived) == 401
    assert system.ledger.counts() == {"verified": 1, "rejected": 4, "duplicates": 1, "emails": 0}
    assert system.ledger.arrival("n-1") is not None and system.ledger.arrival("n-2") is None


def test_a_new_secret_handed_over_is_used_without_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "secrets.json"
    system = SchoolSystem(Secrets(path), io.StringIO())
    assert system.deliver("schools/101733", signed("n-1"), BODY, time.time()) == 401
    write_secrets(path, {"schools/101733": SECRET})
    assert system.deliver("schools/101733", signed("n-1"), BODY, time.time()) == 204


def test_its_log_lines_hold_only_the_id_the_verdict_and_the_latency(tmp_path: Path) -> None:
    path = tmp_path / "secrets.json"
    write_secrets(path, {"schools/101733": SECRET})
    out = io.StringIO()
    system = SchoolSystem(Secrets(path), out)
    system.deliver("schools/101733", signed("n-1"), BODY, time.time())
    system.deliver("schools/101733", signed("Pixel Testerton"), BODY, time.time())  # an id that is not an id
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert len(lines) == 2 and all(set(line) == {"webhook_id", "verified", "latency_ms"} for line in lines)
    assert lines[0]["webhook_id"] == "n-1" and lines[0]["verified"] is True
    assert 0 <= lines[0]["latency_ms"] < 2000
    assert lines[1] == {**lines[1], "webhook_id": "invalid", "verified": False}
    assert "Pixel" not in out.getvalue() and "DEMO/1/26" not in out.getvalue()


# --- the bench's DA contacts -------------------------------------------------------------------------------------

def test_the_bench_background_has_no_da_incident_and_its_probes_are_police_da_contacts() -> None:
    assert all(json.loads(value)["data"]["da_incident"] is None for _, value in background_contacts(300, seed=5))
    _, value = da_contact(SCHOOL_URNS[0], "BENCH/000001/abcdef", 3)
    event = CloudEvent[ContactSubmitted].model_validate_json(value)
    assert event.data.referrer_source is ReferrerSource.POLICE and event.data.da_incident is not None
    assert event.data.children[0].school_urn == SCHOOL_URNS[0]


@pytest.mark.parametrize(("values", "q", "expected"), [
    ([], 0.5, None), ([7.0], 0.99, 7.0), ([1.0, 2.0, 3.0, 4.0], 0.5, 2.0),
    ([float(n) for n in range(1, 101)], 0.99, 99.0),
])
def test_percentiles_are_nearest_rank(values: list[float], q: float, expected: float | None) -> None:
    assert percentile(values, q) == expected
