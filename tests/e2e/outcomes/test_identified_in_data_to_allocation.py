"""Families identified in data, through the real services on the real
broker: partner records (partners.offending.v1 for a child, partners.health.v1
for an adult at the same UPRN) go through the contacts service, which
matches them to one family and publishes contacts.partner-fact-matched.v1;
the outcomes service sees two headline problems (crime/ASB, health) and
publishes exactly one outcomes.family-identified.v1; the allocation service
opens exactly one case for it (identified_in_data). The same records again,
a fact republished as is, and a later fact for the same family change
nothing: still one identification and one case.

The session's broker may carry another contacts service (the contacts
tests' one, on its own database), which matches the same records to a
family of its own: every check is per family, so each family the facts
landed in is held to "exactly once"."""

from __future__ import annotations

import random
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from allocation_e2e_kit import start_allocation, stop_allocation
from contacts_e2e_kit import Kafka, data_of, start_contacts, stop
from contacts_testkit import PARTNER_SOURCE, partner_person, partner_record
from outcomes_e2e_kit import OutcomesService, until
from outcomes_e2e_year import london_day

from contacts.domain.partner_facts import delivery_key, fact_id_for
from frontdoor_contracts.vocabulary import PartnerDataset

pytestmark = pytest.mark.e2e
OFFENDING, HEALTH = "partners.offending.v1", "partners.health.v1"
FACTS, IDENTIFIED = "contacts.partner-fact-matched.v1", "outcomes.family-identified.v1"
OPENED = "allocation.case-opened.v1"


def per_family(records: list[Any]) -> Counter[str]:
    return Counter(data_of(r)["family_id"] for r in records)


def family_view(service: OutcomesService, family_id: str) -> dict[str, Any] | None:
    response = httpx.get(f"{service.url}/v1/families/{family_id}", headers=service.headers(service.manager),
                         timeout=10)
    if response.status_code == 404:
        return None
    response.raise_for_status()
    view: dict[str, Any] = response.json()
    return view


async def test_two_headline_problems_in_partner_data_identify_the_family_once_and_open_one_case(
        kafka: Kafka, kafka_bootstrap: str, outcomes_service: OutcomesService, tmp_path: Path) -> None:
    contacts_process, _ = start_contacts(tmp_path / "contacts", kafka_bootstrap)
    allocation = start_allocation(tmp_path / "allocation", kafka_bootstrap)
    try:
        await _identified_once_and_one_case(kafka, outcomes_service)
    finally:
        stop_allocation(allocation)
        stop(contacts_process)


async def _identified_once_and_one_case(kafka: Kafka, outcomes: OutcomesService) -> None:
    today = london_day(datetime.now(UTC))
    uprn = str(random.randrange(10**11, 10**12))
    child = partner_person(date_of_birth="2012-05-01", postcode="RG2 7AB", uprn=uprn)
    adult = partner_person(date_of_birth="1985-02-11", postcode="RG2 7AB", uprn=uprn)
    asb = partner_record(OFFENDING, person=child, occurred_on=str(today - timedelta(days=10)),
                         kind="anti_social_behaviour", youth=True)
    need = partner_record(HEALTH, person=adult, category="mental_health", identified_on=str(today - timedelta(days=5)))
    await kafka.publish_event(OFFENDING, asb, key=asb.data.record_ref)
    await kafka.publish_event(HEALTH, need, key=need.data.record_ref)
    mine = {str(fact_id_for(PARTNER_SOURCE, PartnerDataset.OFFENDING, asb.data.record_ref)),
            str(fact_id_for(PARTNER_SOURCE, PartnerDataset.HEALTH, need.data.record_ref))}

    # The contacts service matched both records to one family (per contacts service on the broker).
    facts = await kafka.collect(FACTS, lambda r: data_of(r).get("fact_id") in mine, timeout=120, settle=3,
                                until=lambda found: len(found) >= 2)
    by_family: dict[str, set[str]] = {}
    for fact in facts:
        by_family.setdefault(data_of(fact)["family_id"], set()).add(data_of(fact)["fact_id"])
    assert by_family and all(ids == mine for ids in by_family.values()), by_family
    families = set(by_family)
    children = {data_of(f)["family_id"]: data_of(f)["person_id"] for f in facts if data_of(f)["is_child"]}
    assert set(children) == families

    def one_each(found: list[Any]) -> bool:
        return set(per_family(found)) == families

    identified = await kafka.collect(IDENTIFIED, lambda r: data_of(r).get("family_id") in families, timeout=120,
                                     settle=5, until=one_each)
    assert per_family(identified) == dict.fromkeys(families, 1)
    for record in identified:
        assert data_of(record)["headline_problems"] == ["crime_asb", "health"]
        assert data_of(record)["child_ids"] == [children[data_of(record)["family_id"]]]
    opened = await kafka.collect(OPENED, lambda r: data_of(r).get("family_id") in families, timeout=120, settle=5,
                                 until=one_each)
    assert per_family(opened) == dict.fromkeys(families, 1)
    assert {data_of(r)["source"] for r in opened} == {"identified_in_data"}
    cases = {data_of(r)["family_id"]: data_of(r)["case_id"] for r in opened}

    # Again: the same records redelivered, a matched fact republished as it is (an outbox relay's retry), and a
    # later incident for the child (a new record): a new fact, but the family is identified and has its case.
    await kafka.publish_event(OFFENDING, asb, key=asb.data.record_ref)
    await kafka.publish_event(HEALTH, need, key=need.data.record_ref)
    await kafka.publish(FACTS, facts[0].value or b"", key=(facts[0].key or b"").decode(),
                        headers=list(facts[0].headers or ()))
    later = partner_record(OFFENDING, person=child, occurred_on=str(today - timedelta(days=1)),
                           kind="anti_social_behaviour", youth=True, event_id=str(uuid.uuid4()))
    await kafka.publish_event(OFFENDING, later, key=later.data.record_ref)
    later_event = str(delivery_key(PARTNER_SOURCE, later.id))

    def settled() -> bool:
        """Every family's outcome view has the later fact and the allocation case."""
        for family_id in families:
            view = family_view(outcomes, family_id)
            if view is None or later_event not in {e["event_id"] for e in view["events"]}:
                return False
            if [c["case_id"] for c in view["cases"]] != [cases[family_id]]:
                return False
        return True

    await until(settled, timeout=120, what="the later fact and the case in the outcome views")
    assert per_family(await kafka.collect(IDENTIFIED, lambda r: data_of(r).get("family_id") in families,
                                          timeout=30, settle=5, until=one_each)) == dict.fromkeys(families, 1)
    assert per_family(await kafka.collect(OPENED, lambda r: data_of(r).get("family_id") in families,
                                          timeout=30, settle=5, until=one_each)) == dict.fromkeys(families, 1)
    for family_id in families:
        view = family_view(outcomes, family_id)
        assert view is not None
        assert len(view["identified_on"]) == 1 and view["children"] == 1 and view["adults"] == 1
        assert [p["case_id"] for p in view["plans"]] == [cases[family_id]]
        assert {"crime_asb", "health"} <= set(view["plans"][0]["problems"])
        seen = Counter(e["event_id"] for e in view["events"])
        assert max(seen.values()) == 1  # the republished fact was not applied twice
