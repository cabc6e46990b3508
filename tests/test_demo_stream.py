"""The demo stream is valid, realistic in shape, and synthetic; so are its
partner data (about the demo's own people, by the identifiers its contacts
gave, and about families known only from data), the case worker's moves and
closure categories, the notifications directory the stack seeds for it and
the demo school system that receives its webhooks. All without a broker
(tests/e2e/stack/ runs them on the real stack)."""

from __future__ import annotations

import asyncio
import base64
import io
import itertools
import json
import os
import stat
import time
import uuid
from collections import Counter, defaultdict
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import TypeAdapter
from standardwebhooks.webhooks import Webhook

from allocation.api import AllocationRequest, AnswerRequest, ClosureRequest, OfferRequest
from allocation.domain.cases import CLOSE_AS
from contacts.domain.partner_facts import measure_day, under_18_on
from frontdoor_contracts.allocation import AgencyId
from frontdoor_contracts.contacts import ContactSubmitted, DecisionSubmitted, contact_id_for
from frontdoor_contracts.envelope import CloudEvent
from frontdoor_contracts.errors import parse_event
from frontdoor_contracts.identifiers import is_valid_nhs_number, is_valid_upn
from frontdoor_contracts.partners import (
    AttendanceMeasure,
    AttendanceRecorded,
    EmploymentRecorded,
    HealthNeedRecorded,
    OffendingRecorded,
    PartnerFactMatched,
)
from frontdoor_contracts.topics import (
    ALLOCATION_CASE_CLOSED,
    ALLOCATION_CASE_OPENED,
    CONTACTS_DECIDED,
    CONTACTS_RECORDED,
    PARTNERS_ATTENDANCE,
    PARTNERS_EMPLOYMENT,
    PARTNERS_HEALTH,
    PARTNERS_OFFENDING,
)
from frontdoor_contracts.vocabulary import CaseStatus, ClosureOutcome, OfferAnswer, ReferrerSource, SchoolTerm
from frontdoor_platform.staff.accounts import check_password_policy
from frontdoor_stack.bench.context import Sizes
from frontdoor_stack.bench.da_webhook import background_contacts, da_contact, percentile
from frontdoor_stack.bench.outcomes_rebuild import RebuildResult, synthetic_events
from frontdoor_stack.bench.report import ONE_MILLION_LINE, Results, record_one_million, write
from frontdoor_stack.case_worker import (
    DECLINED_MAY_CLOSE_AS,
    PER_CASE_SPLIT,
    WOKINGHAM_2015_PER_CHILD,
    CaseTally,
    CaseWorker,
    CaseWorkerSettings,
    closure_weights,
    plan_case,
)
from frontdoor_stack.demo import (
    ADULT_GIVEN,
    DEMO_AGENCIES,
    EARLY_HELP_MANAGER,
    FAMILY_NAMES,
    GIVEN_NAMES,
    SCHOOL_URNS,
    DemoStream,
)
from frontdoor_stack.demo_feed import Kind, Outgoing, demo_batches
from frontdoor_stack.demo_partners import DATA_ONLY_EVERY, DATA_ONLY_LA_CODE, PartnerFeed, recent_terms
from frontdoor_stack.school_receiver import SchoolSystem, Secrets, read_secrets, write_secrets
from frontdoor_stack.seed import EMAIL, INBOX, WEBHOOK, agency_plan, new_password, school_plan
from notifications.responses import AgencyRequest, SchoolRequest
from outcomes.domain import outputs, updates
from outcomes.domain.family import Family as OutcomesFamily
from outcomes.domain.problems import headline_problems
from outcomes.stream.processor import INPUT_TOPICS
from outcomes.stream.processor import MODELS as STREAM_MODELS
from outcomes.thresholds_loader import load_thresholds


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
    for password in passwords:
        check_password_policy(password)  # raises naming the rule a password breaks


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


# --- partner data in the demo stream ------------------------------------------------------------------------------

NOW = datetime(2026, 11, 20, 10, 30, tzinfo=UTC)
PARTNER_EVENTS: dict[str, type[AttendanceRecorded | OffendingRecorded | EmploymentRecorded | HealthNeedRecorded]] = {
    PARTNERS_ATTENDANCE.name: AttendanceRecorded, PARTNERS_OFFENDING.name: OffendingRecorded,
    PARTNERS_EMPLOYMENT.name: EmploymentRecorded, PARTNERS_HEALTH.name: HealthNeedRecorded,
}
Record = AttendanceRecorded | OffendingRecorded | EmploymentRecorded | HealthNeedRecorded


def stream_items(count: int = 300, seed: int = 11, partners: bool = True) -> list[Outgoing]:
    batches = demo_batches(DemoStream(seed), PartnerFeed(seed) if partners else None, count, clock=lambda: NOW)
    return list(itertools.chain.from_iterable(batches))


def partner_records(items: list[Outgoing], *kinds: Kind) -> list[tuple[Outgoing, CloudEvent[Record]]]:
    found = []
    for item in items:
        if item.kind in kinds:
            model: Any = CloudEvent[PARTNER_EVENTS[item.topic]]  # type: ignore[valid-type,name-defined]
            found.append((item, model.model_validate_json(item.value)))
    return found


def who(person: Any) -> tuple[str, str, date]:
    return person.given_name, person.family_name, person.date_of_birth


def test_partner_data_leaves_the_contacts_and_decisions_as_they_were_for_a_seed() -> None:
    def without_ids(item: Outgoing) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(item.value)["data"]
        data.pop("contact_id", None)
        return data

    with_partners = [without_ids(i) for i in stream_items() if i.kind in (Kind.CONTACT, Kind.DECISION)]
    alone = [without_ids(i) for i in stream_items(partners=False)]
    assert with_partners == alone


def test_the_partner_data_is_the_same_for_the_same_seed_and_differs_for_another() -> None:
    def partner_values(seed: int) -> list[str]:
        return [i.value for i in stream_items(120, seed) if i.kind in (Kind.PARTNER, Kind.DATA_ONLY)]

    assert partner_values(4) == partner_values(4)
    assert partner_values(4) != partner_values(5)


def test_every_partner_record_is_valid_synthetic_and_on_its_dataset_topic() -> None:
    items = stream_items()
    records = partner_records(items, Kind.PARTNER, Kind.DATA_ONLY)
    assert {item.topic for item, _ in records} == set(PARTNER_EVENTS)
    refs = [event.data.record_ref for _, event in records]
    assert len(set(refs)) == len(refs) and len({event.id for _, event in records}) == len(records)
    for item, event in records:
        data = event.data
        assert item.key == data.record_ref and event.type == type(data).EVENT_TYPE
        assert event.source.startswith("urn:frontdoor:demo:") and data.measure.dataset.value in item.topic
        person = data.person
        assert person.given_name in GIVEN_NAMES + ADULT_GIVEN and person.family_name in FAMILY_NAMES
        assert person.nhs_number is None or (person.nhs_number.startswith("999")
                                             and is_valid_nhs_number(person.nhs_number))
        assert person.upn is None or is_valid_upn(person.upn)
        assert person.postcode is not None and person.postcode.startswith("ZZ99")
        assert person.uprn is not None and person.uprn.isdigit() and len(person.uprn) <= 12
        _, day = measure_day(data.measure)
        assert person.date_of_birth <= day <= NOW.date()  # never before birth (contacts refuses those), never ahead


def test_records_about_the_demo_families_name_people_exactly_as_their_contacts_did() -> None:
    items = stream_items()
    named: dict[tuple[str, str, date], tuple[str | None, str | None, str | None]] = {}
    checked = 0
    for item in items:
        if item.kind is Kind.CONTACT:
            contact = CloudEvent[ContactSubmitted].model_validate_json(item.value).data
            for child in contact.children:
                named[who(child)] = (child.nhs_number, child.upn, child.postcode)
            for adult in contact.adults:
                named[who(adult)] = (adult.nhs_number, None, adult.postcode)
        elif item.kind is Kind.PARTNER:
            person = partner_records([item], Kind.PARTNER)[0][1].data.person
            # an earlier contact named this person, with these very identifiers
            assert named[who(person)] == (person.nhs_number, person.upn, person.postcode)
            checked += 1
    assert checked > 100


def test_one_household_one_uprn_and_demo_families_get_partner_data_in_the_share_planned() -> None:
    items = stream_items(400)
    records = partner_records(items, Kind.PARTNER)
    households: dict[str, set[tuple[str, str]]] = defaultdict(set)
    for _, event in records:
        assert event.data.person.uprn is not None
        households[event.data.person.uprn].add((event.data.person.family_name, event.data.person.postcode or ""))
    assert all(len(names) == 1 for names in households.values())  # a UPRN is one family's home
    stream = DemoStream(11)
    for _ in demo_batches(stream, PartnerFeed(11), 400, clock=lambda: NOW):
        pass
    assert 0.25 < len(households) / len(stream.families) < 0.55  # PARTNER_SHARE of the new families, about


def test_attendance_is_per_child_per_term_and_some_of_it_is_a_problem() -> None:
    records = [event.data for _, event in partner_records(stream_items(400), Kind.PARTNER)]
    attendance = [a for a in records if isinstance(a, AttendanceRecorded)]
    terms = Counter((who(r.person), r.measure.academic_year, r.measure.term) for r in attendance)
    assert terms and max(terms.values()) == 1  # one record per child per term
    assert {(r.measure.academic_year, r.measure.term) for r in attendance} == {
        ("2025/26", SchoolTerm.SPRING), ("2025/26", SchoolTerm.SUMMER), ("2026/27", SchoolTerm.AUTUMN)}
    assert all(r.measure.sessions_possible >= r.measure.unauthorised_absences for r in attendance)
    by_child: dict[tuple[str, str, date], list[AttendanceMeasure]] = defaultdict(list)
    for a in attendance:
        by_child[who(a.person)].append(a.measure)
    troubled = [m for m in by_child.values()
                if sum(t.unauthorised_absences for t in m) / sum(t.sessions_possible for t in m) >= 0.15
                or sum(t.fixed_term_exclusions for t in m) >= 3]
    assert 0.15 < len(troubled) / len(by_child) < 0.6
    assert any(isinstance(r, OffendingRecorded) and r.measure.youth for r in records)
    assert any(isinstance(r, EmploymentRecorded) and r.measure.out_of_work_benefit for r in records)
    assert any(isinstance(r, HealthNeedRecorded) for r in records)
    for r in records:
        if isinstance(r, EmploymentRecorded):  # adults' records: 18 or over on the day
            assert not under_18_on(r.person.date_of_birth, r.measure.starts_on)
        if isinstance(r, OffendingRecorded):
            assert r.measure.youth == under_18_on(r.person.date_of_birth, r.measure.occurred_on)


def _picture(records: list[Record], family_id: uuid.UUID) -> OutcomesFamily:
    """The family as the outcomes service would see it once contacts matched the records (person by name + date
    of birth, child when under 18 on the measure's day)."""
    family = OutcomesFamily(family_id=family_id)
    for record in records:
        _, day = measure_day(record.measure)
        person_id = uuid.uuid5(family_id, "|".join(map(str, who(record.person))))
        fact = PartnerFactMatched(fact_id=uuid.uuid4(), person_id=person_id, family_id=family_id,
                                  is_child=under_18_on(record.person.date_of_birth, day), person_created=True,
                                  matched_at=NOW, measure=record.measure)
        updates.on_fact(family, fact)
        family.saw(str(fact.fact_id), "partner-fact-matched", NOW, NOW.date())
    return family


def test_families_known_only_from_data_are_in_no_contact_and_are_identified_in_data() -> None:
    items = stream_items(300)
    in_contacts: set[str] = set()
    for item in items:
        if item.kind is Kind.CONTACT:
            contact = CloudEvent[ContactSubmitted].model_validate_json(item.value).data
            people: list[Any] = [*contact.children, *contact.adults]
            for person in people:
                in_contacts |= {person.nhs_number or "", getattr(person, "upn", None) or "",
                                "|".join(map(str, [*who(person), person.postcode]))} - {""}
    by_household: dict[str, list[Record]] = defaultdict(list)
    for _, event in partner_records(items, Kind.DATA_ONLY):
        person = event.data.person
        assert not {person.nhs_number or "", person.upn or "",
                    "|".join(map(str, [*who(person), person.postcode]))} & in_contacts
        assert person.upn is None or person.upn[1:4] == DATA_ONLY_LA_CODE
        assert person.uprn is not None
        by_household[person.uprn].append(event.data)
    assert len(by_household) == sum(item.starts_family for item in items) == 300 // DATA_ONLY_EVERY
    thresholds = load_thresholds()
    for records in by_household.values():
        family = _picture(records, uuid.uuid4())
        assert family.children
        assert len(headline_problems(family, NOW.date(), thresholds)) >= 2
        assert outputs.identification(family, NOW, thresholds) is not None


@pytest.mark.parametrize("today", [date(2026, 9, 3), date(2026, 11, 20), date(2027, 1, 5), date(2027, 1, 6),
                                   date(2027, 4, 20), date(2027, 8, 1)])
def test_recent_terms_are_the_last_three_begun_with_the_sessions_so_far(today: date) -> None:
    terms = recent_terms(today)
    assert len(terms) == 3 and [t.starts_on for t in terms] == sorted(t.starts_on for t in terms)
    assert all(t.starts_on <= today and (today - t.starts_on).days < 365 for t in terms)
    assert all(1 <= t.sessions <= 140 for t in terms)
    latest = terms[-1]
    assert AttendanceMeasure(academic_year=latest.academic_year, term=latest.term, term_starts_on=latest.starts_on,
                             sessions_possible=latest.sessions, unauthorised_absences=0, fixed_term_exclusions=0)


# --- the case worker ----------------------------------------------------------------------------------------------

def test_the_2015_split_per_child_adds_up_to_106_and_per_case_to_about_100() -> None:
    assert sum(WOKINGHAM_2015_PER_CHILD.values()) == 106
    assert 100 <= sum(PER_CASE_SPLIT.values()) <= 101
    assert set(WOKINGHAM_2015_PER_CHILD) == set(PER_CASE_SPLIT) == set(ClosureOutcome)


@pytest.mark.parametrize("decline_share", [0.0, 0.12, 0.17])
def test_closure_weights_keep_the_split_overall_and_declined_cases_within_what_is_allowed(
        decline_share: float) -> None:
    accepted, declined = closure_weights(decline_share)
    assert sum(accepted.values()) == pytest.approx(1) and sum(declined.values()) == pytest.approx(1)
    assert all(w >= 0 for w in accepted.values())
    assert set(declined) == set(DECLINED_MAY_CLOSE_AS) == {o for o, allowed in CLOSE_AS.items()
                                                            if CaseStatus.DECLINED in allowed}
    total = sum(PER_CASE_SPLIT.values())
    for outcome, weight in PER_CASE_SPLIT.items():
        overall = (1 - decline_share) * accepted[outcome] + decline_share * declined.get(outcome, 0.0)
        assert overall == pytest.approx(weight / total)


def test_a_decline_share_the_split_cannot_absorb_is_refused() -> None:
    with pytest.raises(ValueError, match="cannot keep the split"):
        closure_weights(0.25)


def test_case_plans_are_valid_requests_deterministic_and_follow_the_split() -> None:
    plans = [plan_case(f"case-{n}", seed=9) for n in range(4000)]
    assert plans[:50] == [plan_case(f"case-{n}", seed=9) for n in range(50)]
    assert plans[:50] != [plan_case(f"case-{n}", seed=10) for n in range(50)]
    agencies = {agency_id: kind for agency_id, _, kind in DEMO_AGENCIES}
    for plan in plans[:200]:
        assert agencies[plan.lead_agency_id] is plan.agency_kind
        AllocationRequest.model_validate({"lead_agency_id": plan.lead_agency_id, "agency_kind": plan.agency_kind,
                                          "lead_professional_ref": plan.lead_professional_ref,
                                          "at_meeting": plan.at_meeting})
        AnswerRequest.model_validate({"answer": plan.answer})
        ClosureRequest.model_validate({"outcome": plan.outcome})
    declined = [p for p in plans if p.answer is OfferAnswer.DECLINED]
    assert 0.08 < len(declined) / len(plans) < 0.16  # mostly accepted
    assert all(p.outcome in DECLINED_MAY_CLOSE_AS for p in declined)
    shares = Counter(p.outcome for p in plans)
    total = sum(PER_CASE_SPLIT.values())
    for outcome, weight in PER_CASE_SPLIT.items():
        assert shares[outcome] / len(plans) == pytest.approx(weight / total, abs=0.025)


class FakeAllocation:
    """The allocation API as far as the case worker uses it, with the service's own closure rules (CLOSE_AS)."""

    def __init__(self, cases: int) -> None:
        self.status = {f"00000000-0000-4000-8000-{n:012d}": CaseStatus.OPEN for n in range(cases)}
        self.outcomes: dict[str, ClosureOutcome] = {}
        self.answers: dict[str, OfferAnswer] = {}
        self.refused = 0

    def handle(self, request: httpx.Request) -> httpx.Response:
        assert request.headers["authorization"] == "Bearer fda_test"
        path = request.url.path
        if request.method == "GET":
            wanted = {"/v1/agenda": {CaseStatus.OPEN}, "/v1/cases": {CaseStatus.OPEN, CaseStatus.ALLOCATED,
                                                                      CaseStatus.OFFER_MADE, CaseStatus.ACCEPTED}}
            return httpx.Response(200, json={"cases": [{"case_id": c, "status": s.value}
                                                       for c, s in self.status.items() if s in wanted[path]]})
        _, _, _, case_id, move = path.split("/")
        body = json.loads(request.content)
        status = self.status[case_id]
        moves = {"allocation": (CaseStatus.OPEN, CaseStatus.ALLOCATED),
                 "offer": (CaseStatus.ALLOCATED, CaseStatus.OFFER_MADE)}
        if move in moves and status is moves[move][0]:
            AllocationRequest.model_validate(body) if move == "allocation" else OfferRequest.model_validate(body)
            self.status[case_id] = moves[move][1]
        elif move == "answer" and status is CaseStatus.OFFER_MADE:
            answer = AnswerRequest.model_validate(body).answer
            self.answers[case_id] = answer
            self.status[case_id] = CaseStatus.ACCEPTED if answer is OfferAnswer.ACCEPTED else CaseStatus.DECLINED
        elif move == "closure" and status in CLOSE_AS[ClosureRequest.model_validate(body).outcome]:
            self.outcomes[case_id] = ClosureOutcome(body["outcome"])
            self.status[case_id] = CaseStatus.CLOSED
        else:
            self.refused += 1
            return httpx.Response(409, json={"title": "illegal transition"})
        return httpx.Response(200, json={"case_id": case_id, "status": self.status[case_id].value})


def test_the_case_worker_takes_every_case_to_a_closure_the_service_allows() -> None:
    fake = FakeAllocation(60)
    settings = CaseWorkerSettings("http://allocation.test", "fda_test", every=0.0, pace=1.0, quiet_seconds=0.0,
                                  drain_seconds=30.0)
    changes: list[int] = []
    worker = CaseWorker(settings, seed=3, on_change=lambda: changes.append(1),
                        transport=httpx.MockTransport(fake.handle))

    async def run() -> CaseTally:
        done = asyncio.Event()
        done.set()  # the stream is over: work what is open, then stop
        return await worker.run(done)

    tally = asyncio.run(run())
    assert fake.refused == 0 and tally.refused == 0 and tally.failed == 0
    assert set(fake.status.values()) == {CaseStatus.CLOSED} and tally.finished and changes
    assert tally.allocated == tally.offered == tally.accepted + tally.declined == 60 == tally.closed_total
    assert tally.declined == sum(a is OfferAnswer.DECLINED for a in fake.answers.values())
    for case_id, outcome in fake.outcomes.items():
        assert outcome is plan_case(case_id, seed=3).outcome
    assert "Pixel" not in tally.line() and tally.line().startswith("cases: 60 allocated")


def test_the_case_worker_counts_what_the_service_refuses_or_fails_and_goes_on() -> None:
    answers = iter([httpx.Response(503), httpx.Response(200, json={"cases": []})])

    def flaky(request: httpx.Request) -> httpx.Response:
        if request.method == "POST":
            return httpx.Response(404)
        try:
            return next(answers)
        except StopIteration:
            return httpx.Response(200, json={"cases": [{"case_id": "c-1", "status": "open"}]})

    worker = CaseWorker(CaseWorkerSettings("http://allocation.test", "k", every=0.0, pace=1.0, quiet_seconds=0.0,
                                           drain_seconds=0.2), transport=httpx.MockTransport(flaky))

    async def run() -> CaseTally:
        done = asyncio.Event()
        done.set()
        return await worker.run(done)

    tally = asyncio.run(run())
    assert tally.failed >= 1 and tally.refused >= 1 and tally.allocated == 0 and tally.finished


# --- the bench's outcomes rebuild ---------------------------------------------------------------------------------

def test_the_rebuild_bench_events_are_what_the_outcomes_stream_reads() -> None:
    made = list(synthetic_events(3000, seed=1, now=NOW))
    assert len(made) == 3000 and made == list(synthetic_events(3000, seed=1, now=NOW))
    topics = Counter(topic for topic, _, _ in made)
    assert set(topics) <= set(INPUT_TOPICS) and len(topics) == 8
    assert topics[CONTACTS_RECORDED.name] > topics[CONTACTS_DECIDED.name] > topics[ALLOCATION_CASE_OPENED.name]
    for topic, key, value in made:
        event = parse_event(value, STREAM_MODELS[topic])  # as the rebuild decodes them
        assert event.time is not None and event.time <= NOW
        assert key.decode() in value.decode()
    closed = [json.loads(v)["data"]["outcome"] for t, _, v in made if t == ALLOCATION_CASE_CLOSED.name]
    assert Counter(closed).most_common(1)[0][0] == ClosureOutcome.POSITIVE_OUTCOME.value


def rebuild_result(events: int) -> RebuildResult:
    return RebuildResult(events=events, by_topic={CONTACTS_RECORDED.name: events}, publish_seconds=2.0,
                         records=events, families=events // 10, seconds=events / 4000 + 3.0,
                         read_seconds=events / 40_000, apply_seconds=events / 4444, report_contacts=events,
                         report_closures=1, report_identified=1)


def test_the_rebuild_figure_extrapolates_to_1m_and_the_results_keep_a_measured_one(tmp_path: Path) -> None:
    result = rebuild_result(100_000)
    assert result.extrapolated_seconds == pytest.approx(result.overhead_seconds
                                                        + 10 * (result.read_seconds + result.apply_seconds))
    path = tmp_path / "results.md"
    sizes = Sizes(contacts=1, decisions=1, duration=1.0, time_cap=1.0)
    write(Results(sizes, outcomes_rebuild=result), path)
    text = path.read_text()
    assert "outcomes rebuild (`frontdoor-outcomes rebuild`), 100,000 records" in text and "1M extrapolated" in text
    assert f"{ONE_MILLION_LINE} … (not yet" in text
    measured = f"{ONE_MILLION_LINE} 1,000,000 records rebuilt in 240 s (by hand)"
    path.write_text(text.replace(next(line for line in text.splitlines() if line.startswith(ONE_MILLION_LINE)),
                                 measured))
    write(Results(sizes, outcomes_rebuild=result), path)  # a run that extrapolates keeps the measured figure
    assert measured in path.read_text().splitlines()
    write(Results(sizes, outcomes_rebuild=rebuild_result(1_000_000)), path)  # a run that measured it says so
    assert "in this run" in next(line for line in path.read_text().splitlines() if line.startswith(ONE_MILLION_LINE))


def test_a_1m_rebuild_measured_on_its_own_goes_onto_that_one_line_of_the_main_results(tmp_path: Path) -> None:
    main = tmp_path / "results.md"
    sizes = Sizes(contacts=1, decisions=1, duration=1.0, time_cap=1.0)
    write(Results(sizes, outcomes_rebuild=rebuild_result(100_000)), main)
    before = main.read_text().splitlines()
    assert not record_one_million(Results(sizes, outcomes_rebuild=rebuild_result(100_000)), main)
    assert record_one_million(Results(sizes, outcomes_rebuild=rebuild_result(1_000_000)), main)
    after = main.read_text().splitlines()
    changed = [(old, new) for old, new in zip(before, after, strict=True) if old != new]
    assert len(changed) == 1 and changed[0][1].startswith(ONE_MILLION_LINE) and "in this run" in changed[0][1]
