"""The service log holds ids, codes and counts: never a child's name, date
of birth, NHS number, UPN, postcode or free text (runs after the other
contacts e2e tests, so their traffic is in the log too)."""

from __future__ import annotations

import json
import uuid

import pytest
from contacts_e2e_kit import ContactsService, Kafka, data_of
from contacts_testkit import child, make_contact, nhs_number

from frontdoor_contracts.contacts import contact_id_for

pytestmark = pytest.mark.e2e


async def test_the_log_carries_no_personal_data(kafka: Kafka, contacts_service: ContactsService) -> None:
    nhs = nhs_number(8_675_309)
    secrets = ["Quillontestname", "Zabriskietest", "2014-02-03", nhs, "B801200005001", "RG9 9ZZ", "Sensitive note"]
    event = make_contact(children=[child(given_name=secrets[0], family_name=secrets[1], date_of_birth=secrets[2],
                                         nhs_number=nhs, upn=secrets[4], postcode=secrets[5])])
    await kafka.publish_event("frontdoor.contacts.v1", event, key=event.id)
    bad = {**json.loads(event.model_dump_json()), "id": str(uuid.uuid4())}
    bad["data"]["children"][0]["nhs_number"] = nhs[:-1] + str((int(nhs[-1]) + 1) % 10)
    bad["data"]["children"][0]["date_of_birth"] = "2999-01-01"
    await kafka.publish("frontdoor.contacts.v1", json.dumps(bad).encode(), key=bad["id"])
    decision = {"specversion": "1.0", "id": str(uuid.uuid4()), "source": "urn:test:case-system",
                "type": "uk.gov.frontdoor.decision.submitted.v1", "time": "2026-03-02T11:00:00Z",
                "data": {"contact_id": str(contact_id_for(event.source, event.id)), "decision": "early_help",
                         "level_of_need": 2, "rationale": secrets[6], "decided_by": "worker-9",
                         "decided_at": "2026-03-02T11:00:00Z"}}
    await kafka.publish("frontdoor.decisions.v1", json.dumps(decision).encode(), key=decision["id"])
    contact_id = str(contact_id_for(event.source, event.id))
    await kafka.collect("contacts.decided.v1", lambda r: data_of(r).get("contact_id") == contact_id)
    await kafka.collect("frontdoor.contacts.v1.dlq", lambda r: r.key == bad["id"].encode(), settle=0.5)
    log = contacts_service.log.read_text()
    assert contact_id in log  # the log does say what happened, by id
    for secret in [*secrets, bad["data"]["children"][0]["nhs_number"], "Testchild", "Secondchild"]:
        assert secret not in log
