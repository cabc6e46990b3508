"""The pure rules of partner data: which fact and which delivery a record
is, the day its measure is about, under 18 on that day, and when a
record's person is refused instead of matched or created."""

from __future__ import annotations

import uuid
from datetime import date

from contacts_testkit import MEASURES, partner_record
from prometheus_client import CollectorRegistry

from contacts.domain.partner_facts import (
    birthday,
    delivery_key,
    fact_id_for,
    measure_day,
    person_facts,
    under_18_on,
)
from contacts.domain.people import KnownPerson, PersonFacts, choose_match, demographic_fits, refusal
from contacts.metrics import Metrics
from frontdoor_contracts.vocabulary import PartnerDataset

NHS, OTHER_NHS, UPN = "9434765919", "9434765870", "H801200001001"
SAM = PersonFacts("Sam", "Example", date(1988, 5, 14), nhs_number=NHS, upn=UPN, postcode="RG1 1AA")


def known(nhs: str | None = None, upn: str | None = None) -> KnownPerson:
    return KnownPerson(uuid.uuid4(), nhs, upn)


def test_a_fact_id_is_the_source_dataset_and_ref_and_a_delivery_is_source_and_id() -> None:
    first = fact_id_for("urn:la:data-team", PartnerDataset.ATTENDANCE, "ATT-1")
    assert first == fact_id_for("urn:la:data-team", PartnerDataset.ATTENDANCE, "ATT-1")  # a replacement
    assert first != fact_id_for("urn:la:other-team", PartnerDataset.ATTENDANCE, "ATT-1")
    assert first != fact_id_for("urn:la:data-team", PartnerDataset.HEALTH, "ATT-1")  # refs of two datasets
    assert first != fact_id_for("urn:la:data-team", PartnerDataset.ATTENDANCE, "ATT-2")
    assert delivery_key("urn:s", "e1") == delivery_key("urn:s", "e1") != delivery_key("urn:s", "e2")
    assert delivery_key("urn:s", "e1") != delivery_key("urn:t", "e1")


def test_the_measure_day_is_the_day_each_dataset_is_about() -> None:
    days = {topic: measure_day(partner_record(topic).data.measure) for topic in MEASURES}
    assert days == {
        "partners.attendance.v1": ("term_starts_on", date(2025, 9, 3)),
        "partners.offending.v1": ("occurred_on", date(2026, 1, 10)),
        "partners.employment.v1": ("starts_on", date(2025, 3, 1)),
        "partners.health.v1": ("identified_on", date(2026, 2, 11)),
    }


def test_under_18_until_the_eighteenth_birthday() -> None:
    born = date(2008, 3, 2)
    assert under_18_on(born, date(2026, 3, 1))
    assert not under_18_on(born, date(2026, 3, 2))  # an adult on the birthday itself
    assert under_18_on(born, born)


def test_a_leap_day_birthday_falls_on_the_first_of_march() -> None:
    assert birthday(date(2008, 2, 29), 18) == date(2026, 3, 1)
    assert birthday(date(2008, 2, 29), 16) == date(2024, 2, 29)
    assert under_18_on(date(2008, 2, 29), date(2026, 2, 28))
    assert not under_18_on(date(2008, 2, 29), date(2026, 3, 1))


def test_a_partner_person_gives_the_facts_contacts_match_on() -> None:
    event = partner_record(person={"nhs_number": NHS, "upn": UPN, "given_name": "Sam", "family_name": "Example",
                                   "date_of_birth": "1988-05-14", "postcode": "rg1 1aa", "uprn": "100012345678"})
    assert person_facts(event.data.person) == PersonFacts("Sam", "Example", date(1988, 5, 14), NHS, UPN, "RG1 1AA")


def test_a_upn_of_another_person_than_the_nhs_number_is_refused_naming_the_field() -> None:
    by_nhs, by_upn = known(nhs=NHS), known(nhs=None, upn=UPN)
    refused = refusal(SAM, by_nhs, by_upn, [])
    assert refused is not None and (refused.reason, refused.field) == ("identifiers_conflict", "upn")
    assert NHS not in refused.message and UPN not in refused.message
    # A contact takes the NHS number's person in the same case (the rule partner data is stricter than).
    assert choose_match(SAM, by_nhs, by_upn, []) is by_nhs


def test_a_upn_whose_holder_has_another_nhs_number_is_refused() -> None:
    holder = known(nhs=OTHER_NHS, upn=UPN)
    refused = refusal(SAM, None, holder, [])
    assert refused is not None and refused.reason == "identifiers_conflict"


def test_the_same_person_by_both_identifiers_or_an_nhs_match_with_another_upn_is_taken() -> None:
    sam = known(nhs=NHS, upn=UPN)
    assert refusal(SAM, sam, sam, []) is None
    assert refusal(SAM, known(nhs=NHS, upn="H801200001002"), None, []) is None  # the NHS number wins, as for contacts
    assert refusal(SAM, None, known(nhs=None, upn=UPN), []) is None  # a UPN match that nothing contradicts


def test_nothing_to_match_on_is_unmatchable() -> None:
    bare = PersonFacts("Sam", "Example", date(1988, 5, 14))
    refused = refusal(bare, None, None, [])
    assert refused is not None and (refused.reason, refused.field) == ("unmatchable", "")
    assert refusal(PersonFacts("Sam", "Example", date(1988, 5, 14), nhs_number=NHS), None, None, []) is None
    assert refusal(PersonFacts("Sam", "Example", date(1988, 5, 14), postcode="RG1 1AA"), None, None, []) is None


def test_a_tie_on_name_date_of_birth_and_postcode_is_ambiguous_and_one_fit_is_not() -> None:
    facts = PersonFacts("Sam", "Example", date(1988, 5, 14), postcode="RG1 1AA")
    refused = refusal(facts, None, None, [known(), known()])
    assert refused is not None and refused.reason == "ambiguous_match"
    # A candidate whose NHS number contradicts does not fit, so one fit remains.
    with_nhs = PersonFacts("Sam", "Example", date(1988, 5, 14), nhs_number=NHS, postcode="RG1 1AA")
    fits = demographic_fits(with_nhs, [known(nhs=OTHER_NHS), only := known()])
    assert fits == [only] and refusal(with_nhs, None, None, [known(nhs=OTHER_NHS), only]) is None


def test_partner_dead_letters_are_counted_by_dataset_and_others_are_not() -> None:
    metrics = Metrics(CollectorRegistry())
    metrics.dead_lettered.labels("partners.health.v1", "identifiers_conflict").inc()
    metrics.dead_lettered.labels("frontdoor.contacts.v1", "not_json").inc()
    sample = metrics.registry.get_sample_value
    assert sample("frontdoor_contacts_dead_lettered_total",
                  {"topic": "partners.health.v1", "reason": "identifiers_conflict"}) == 1
    assert sample("frontdoor_contacts_partner_records_total", {"dataset": "health", "outcome": "dead_lettered"}) == 1
    assert sample("frontdoor_contacts_dead_lettered_total",
                  {"topic": "frontdoor.contacts.v1", "reason": "not_json"}) == 1
    assert sample("frontdoor_contacts_partner_records_total",
                  {"dataset": "attendance", "outcome": "dead_lettered"}) is None
