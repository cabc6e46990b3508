"""Allocation handlers on a real database (SQLite and PostgreSQL): cases
opened once, attached, allocated, offered, closed with an outcome, and
due-soon / overdue emitted exactly once."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError
from sqlmodel import Session, select

from allocation import handlers, store, subscriptions
from allocation.domain.calendar import DEFAULT_TARGET, england_and_wales_bank_holidays
from allocation.domain.families import TriggerOutcome
from allocation.domain.sla import DEFAULT_SLA, SlaEvent
from allocation.domain.transitions import IllegalTransition
from allocation.domain.triggers import NfaReviewPolicy, Trigger
from allocation.metrics import Metrics
from allocation.models import AllocationTable, CaseRow, OutboxEvent
from frontdoor_contracts import retention
from frontdoor_contracts.vocabulary import AgencyKind, CaseSource, ClosureOutcome, OfferAnswer
from frontdoor_platform.database import for_writing
from frontdoor_platform.routes import Routes

RULES = handlers.Rules(DEFAULT_TARGET, england_and_wales_bank_holidays(), DEFAULT_SLA, NfaReviewPolicy(),
                       "urn:frontdoor:allocation")
DECIDED = datetime(2026, 12, 24, 18, 30, tzinfo=UTC)  # Christmas Eve, evening


def routes() -> Routes:

    return subscriptions.routes(RULES, Metrics(), retention.default())


def trigger(family: uuid.UUID, event_id: str = "e1", at: datetime = DECIDED) -> Trigger:
    return Trigger(source=CaseSource.EARLY_HELP_DECISION, event_source="urn:test", event_id=event_id,
                   family_id=family, occurred_at=at, child_ids=(uuid.uuid4(),))


def topics(engine: Engine) -> list[str]:
    with Session(engine) as session:
        return [row.topic for row in session.exec(select(OutboxEvent).order_by(OutboxEvent.id)).all()]  # type: ignore[arg-type]


def run(engine: Engine, action, *args, **kwargs):  # type: ignore[no-untyped-def]
    with Session(for_writing(engine)) as session:
        result = action(session, *args, **kwargs)
        session.commit()
    return result


def test_one_case_per_family_opened_once(engine: Engine) -> None:
    family = uuid.uuid4()
    outcome, case = run(engine, handlers.on_trigger, trigger(family), RULES, DECIDED)
    assert outcome is TriggerOutcome.OPENED
    assert run(engine, handlers.on_trigger, trigger(family), RULES, DECIDED)[0] is TriggerOutcome.DUPLICATE
    second = trigger(family, "e2", DECIDED + timedelta(days=1))
    assert run(engine, handlers.on_trigger, second, RULES, DECIDED)[0] is TriggerOutcome.ATTACHED
    assert topics(engine) == ["allocation.case-opened.v1"]
    with Session(engine) as session:
        stored = store.get_case(session, case.case_id)
        assert stored is not None and len(stored.triggers) == 2 and stored.started_at == DECIDED
        assert [t.kind for t in store.timeline(session, case.case_id)] == ["opened", "trigger_attached"]


def test_allocation_and_offer_within_target(engine: Engine) -> None:
    _, case = run(engine, handlers.on_trigger, trigger(uuid.uuid4()), RULES, DECIDED)
    meeting = DECIDED + timedelta(days=5)
    run(engine, handlers.allocate, case.case_id, RULES, meeting, lead_agency_id="la-early-help-1",
        agency_kind=AgencyKind.LA_EARLY_HELP, lead_professional_ref="staff-42", allocated_by="coord-1",
        at_meeting=True)
    offered = run(engine, handlers.record_offer, case.case_id, RULES, meeting + timedelta(days=2),
                  meeting + timedelta(days=2))
    assert offered.within_target
    run(engine, handlers.record_answer, case.case_id, RULES, OfferAnswer.ACCEPTED, meeting + timedelta(days=3),
        meeting + timedelta(days=3))
    assert topics(engine)[1:] == ["allocation.case-allocated.v1", "allocation.offer-made.v1",
                                  "allocation.offer-answered.v1"]
    with Session(engine) as session:
        made = session.exec(select(OutboxEvent).where(OutboxEvent.topic == "allocation.offer-made.v1")).one()
        assert json.loads(made.payload)["data"]["days_taken"] == 7
    with pytest.raises(IllegalTransition):
        run(engine, handlers.record_offer, case.case_id, RULES, meeting, meeting)


def test_due_soon_and_overdue_exactly_once_even_after_downtime(engine: Engine) -> None:
    _, case = run(engine, handlers.on_trigger, trigger(uuid.uuid4()), RULES, DECIDED)
    assert run(engine, handlers.sla_sweep, RULES, DECIDED + timedelta(days=1)) == []
    # The service was down across both moments: on start it owes both, once.
    late = case.due_at + timedelta(days=3)
    swept = run(engine, handlers.sla_sweep, RULES, late)
    assert [kind.value for _, kind in swept] == ["offer-due-soon", "offer-overdue"]
    assert run(engine, handlers.sla_sweep, RULES, late + timedelta(hours=1)) == []
    assert topics(engine).count("allocation.offer-overdue.v1") == 1
    with Session(engine) as session:
        assert [c.case_id for c in store.open_cases(session)] == [case.case_id]  # overdue stays visible


def test_an_offer_before_the_warning_means_no_warning(engine: Engine) -> None:
    _, case = run(engine, handlers.on_trigger, trigger(uuid.uuid4()), RULES, DECIDED)
    run(engine, handlers.allocate, case.case_id, RULES, DECIDED + timedelta(days=1), lead_agency_id="school-100001",
        agency_kind=AgencyKind.SCHOOL, lead_professional_ref="staff-7", allocated_by="coord-1", at_meeting=False)
    run(engine, handlers.record_offer, case.case_id, RULES, DECIDED + timedelta(days=2), DECIDED + timedelta(days=2))
    assert run(engine, handlers.sla_sweep, RULES, case.due_at + timedelta(days=1)) == []


def test_a_concurrent_change_is_never_overwritten(engine: Engine) -> None:
    _, case = run(engine, handlers.on_trigger, trigger(uuid.uuid4()), RULES, DECIDED)
    with Session(engine) as sweeper:
        stale = store.get_case(sweeper, case.case_id)  # one writer reads the case ...
        assert stale is not None
        # ... meanwhile a coordinator allocates it and commits ...
        run(engine, handlers.allocate, case.case_id, RULES, DECIDED + timedelta(days=1), lead_agency_id="vs-1",
            agency_kind=AgencyKind.VOLUNTARY_SECTOR, lead_professional_ref="staff-1", allocated_by="coord-1",
            at_meeting=False)
        # ... and the first writer's save, from its stale read, is refused rather than undoing the allocation
        # (by the version check; on SQLite, whose snapshot is stale, the database refuses it first).
        with pytest.raises((store.StaleCase, OperationalError)):
            store.save_case(sweeper, stale.mark_sla_emitted(SlaEvent.DUE_SOON))
        sweeper.rollback()
    with Session(engine) as session:
        stored = store.get_case(session, case.case_id)
        assert stored is not None and stored.allocation is not None and not stored.sla_emitted
    swept = run(engine, handlers.sla_sweep, RULES, case.due_at + timedelta(days=1))
    assert [kind.value for _, kind in swept] == ["offer-due-soon", "offer-overdue"]


def test_migrations_match_the_models(engine: Engine) -> None:
    with engine.connect() as connection:
        context = MigrationContext.configure(connection)
        assert compare_metadata(context, AllocationTable.metadata) == []


def test_a_record_a_corrupt_stored_case_makes_fail_is_dead_lettered_loudly_and_the_consumer_goes_on(
        engine: Engine) -> None:
    """The record fails again when run again with the database answering: it is dead-lettered (its bytes
    kept, to replay once the row is mended) rather than stopping every other family's records behind it."""
    from aiokafka import ConsumerRecord

    from allocation.models import CaseRow
    from frontdoor_contracts.contacts import ContactDecided
    from frontdoor_contracts.envelope import encode_event, new_event
    from frontdoor_platform.consumer import BatchConsumer

    family = uuid.uuid4()
    _, case = run(engine, handlers.on_trigger, trigger(family), RULES, DECIDED)
    with Session(for_writing(engine)) as session:
        row = session.get(CaseRow, case.case_id)
        assert row is not None
        row.document = '{"case_id": "not a case"}'  # a stored row gone bad: not the next record's fault
        session.add(row)
        session.commit()
    decided = ContactDecided.model_validate({
        "contact_id": uuid.uuid4(), "family_id": family, "decision": "early_help", "level_of_need": 3,
        "decided_at": DECIDED, "referrer_source": "school", "concerns": [],
        "children": [{"child_id": uuid.uuid4(), "referral": False, "re_referral": False}],
        "referral": False, "re_referral": False})
    value = encode_event(new_event(decided, source="urn:frontdoor:contacts", time=DECIDED))
    record = ConsumerRecord("contacts.decided.v1", 0, 7, 0, 0, None, value, None, 0, len(value), [])
    consumer = BatchConsumer(bootstrap="unused:9092", group="g", client_id="t", routes=routes(), engine=engine,
                             outbox=OutboxEvent, metrics=Metrics())
    other = encode_event(new_event(decided.model_copy(update={"family_id": uuid.uuid4(),
                                                              "contact_id": uuid.uuid4()}),
                                   source="urn:frontdoor:contacts", time=DECIDED))
    after = ConsumerRecord("contacts.decided.v1", 0, 8, 0, 0, None, other, None, 0, len(other), [])
    result = consumer.apply_batch([record, after])
    assert result.dead_lettered == [("contacts.decided.v1", "handler_failed")]
    assert len(result.handled) == 1  # another family's decision behind it opened its case


def test_a_decision_with_a_new_referrer_source_opens_a_case_and_a_new_decision_is_dead_lettered(
        engine: Engine) -> None:
    import json

    from aiokafka import ConsumerRecord

    from frontdoor_platform.consumer import BatchConsumer

    def decided(**changes: object) -> bytes:
        document = {
            "specversion": "1.0", "id": str(uuid.uuid4()), "source": "urn:frontdoor:contacts",
            "type": "uk.gov.frontdoor.contacts.decided.v1", "time": DECIDED.isoformat(),
            "data": {"contact_id": str(uuid.uuid4()), "family_id": str(uuid.uuid4()), "decision": "early_help",
                     "level_of_need": 3, "decided_at": DECIDED.isoformat(), "referrer_source": "school",
                     "concerns": ["neglect"], "children": [{"child_id": str(uuid.uuid4()), "referral": False,
                                                             "re_referral": False}],
                     "referral": False, "re_referral": False, **changes}}
        return json.dumps(document).encode()

    records = [ConsumerRecord("contacts.decided.v1", 0, offset, 0, 0, None, value, None, 0, len(value), [])
               for offset, value in enumerate([decided(referrer_source="ambulance_service", concerns=["online_harm"]),
                                               decided(decision="family_group_conference")])]
    consumer = BatchConsumer(bootstrap="unused:9092", group="g", client_id="t", routes=routes(), engine=engine,
                             outbox=OutboxEvent, metrics=Metrics())
    result = consumer.apply_batch(records)
    assert result.dead_lettered == [("contacts.decided.v1", "invalid_data")]  # the decision it cannot act on
    assert sorted(topics(engine)) == ["allocation.case-opened.v1", "contacts.decided.v1.dlq"]  # the other opened one


def test_two_families_found_to_be_one_have_one_open_case(engine: Engine) -> None:
    from aiokafka import ConsumerRecord

    from allocation.models import CaseRow
    from frontdoor_contracts.contacts import FamiliesMerged
    from frontdoor_contracts.envelope import encode_event, new_event
    from frontdoor_platform.consumer import BatchConsumer

    kept, joined = uuid.uuid4(), uuid.uuid4()
    _, first = run(engine, handlers.on_trigger, trigger(joined, "j1", DECIDED), RULES, DECIDED)
    _, second = run(engine, handlers.on_trigger, trigger(kept, "k1", DECIDED + timedelta(days=2)), RULES,
                    DECIDED + timedelta(days=2))
    merged = FamiliesMerged(family_id=kept, merged_family_ids=[joined], contact_id=uuid.uuid4(),
                            merged_at=DECIDED + timedelta(days=3))
    value = encode_event(new_event(merged, source="urn:frontdoor:contacts", event_id="m1"))
    record = ConsumerRecord("contacts.families-merged.v1", 0, 1, 0, 0, None, value, None, 0, len(value), [])
    consumer = BatchConsumer(bootstrap="unused:9092", group="g", client_id="t", routes=routes(), engine=engine,
                             outbox=OutboxEvent, metrics=Metrics())
    consumer.apply_batch([record])
    consumer.apply_batch([record])  # redelivered: nothing more
    with Session(engine) as session:
        open_now = store.open_cases(session)
        rows = {row.case_id: row for row in session.exec(select(CaseRow)).all()}
        timeline_kinds = [e.kind for e in store.timeline(session, first.case_id)]
    assert [c.case_id for c in open_now] == [first.case_id]  # the earlier start keeps the clock
    assert open_now[0].family_id == kept and open_now[0].due_at == first.due_at
    assert {row.family_id for row in rows.values()} == {kept} and rows[second.case_id].status == "merged"
    assert timeline_kinds.count("family_merged") == 1 and timeline_kinds.count("case_joined") == 1


def test_a_trigger_naming_a_family_merged_before_it_arrived_joins_the_remaining_family(engine: Engine) -> None:
    kept, joined, earlier = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    _, case = run(engine, handlers.on_trigger, trigger(kept, "k1"), RULES, DECIDED)
    run(engine, handlers.on_families_merged, kept, [earlier], DECIDED)  # an earlier merge into `kept`
    run(engine, handlers.on_families_merged, earlier, [joined], DECIDED)  # stale: `earlier` is part of `kept` now
    outcome, attached = run(engine, handlers.on_trigger, trigger(joined, "j1"), RULES, DECIDED)
    assert outcome is TriggerOutcome.ATTACHED and attached.case_id == case.case_id
    with Session(engine) as session:
        assert [c.case_id for c in store.open_cases(session)] == [case.case_id]


# ---- closing a case


def accepted_case(engine: Engine, family: uuid.UUID, event_id: str = "e1") -> uuid.UUID:
    _, case = run(engine, handlers.on_trigger, trigger(family, event_id), RULES, DECIDED)
    meeting = DECIDED + timedelta(days=5)
    run(engine, handlers.allocate, case.case_id, RULES, meeting, lead_agency_id="hv-team-3",
        agency_kind=AgencyKind.HEALTH_VISITING, lead_professional_ref="hv-17", allocated_by="coord-1",
        at_meeting=True)
    run(engine, handlers.record_offer, case.case_id, RULES, meeting + timedelta(days=1), meeting + timedelta(days=1))
    run(engine, handlers.record_answer, case.case_id, RULES, OfferAnswer.ACCEPTED, meeting + timedelta(days=2),
        meeting + timedelta(days=2))
    return case.case_id


def test_closing_an_accepted_case_stores_it_and_announces_it_once(engine: Engine) -> None:
    family = uuid.uuid4()
    case_id = accepted_case(engine, family)
    with Session(engine) as session:
        assert [c.case_id for c in store.open_cases(session)] == [case_id]  # accepted: open, being worked with
    closed_at, now = DECIDED + timedelta(days=60), DECIDED + timedelta(days=61)
    closed = run(engine, handlers.close, case_id, RULES, ClosureOutcome.POSITIVE_OUTCOME, closed_at, now, "hv-key")
    assert closed.closure is not None and closed.closure.closed_at == closed_at
    with pytest.raises(IllegalTransition, match="it is closed"):
        run(engine, handlers.close, case_id, RULES, ClosureOutcome.NO_CHANGE, now, now, "hv-key")
    assert topics(engine).count("allocation.case-closed.v1") == 1
    with Session(engine) as session:
        row = session.exec(select(OutboxEvent).where(OutboxEvent.topic == "allocation.case-closed.v1")).one()
        event = json.loads(row.payload)
        stored = store.get_case(session, case_id)
        kinds = [(e.kind, e.detail) for e in store.timeline(session, case_id)]
        assert store.open_cases(session) == [] and store.awaiting_offer_starts(session) == []
        case_row = session.get(CaseRow, case_id)
        assert case_row is not None and (case_row.status, case_row.is_open) == ("closed", False)
    assert row.key == str(case_id) and event["id"] == str(uuid.uuid5(case_id, "closed"))
    assert event["type"] == "uk.gov.frontdoor.allocation.case-closed.v1" and event["subject"] == str(case_id)
    data = event["data"]
    assert (data["outcome"], data["closed_by"], data["lead_agency_id"], data["agency_kind"]) == (
        "positive_outcome", "hv-key", "hv-team-3", "health_visiting")
    assert data["family_id"] == str(family) and len(data["child_ids"]) == 1
    assert stored is not None and stored == closed  # the closure round-trips through the stored document
    assert kinds[-1] == ("closed", {"outcome": "positive_outcome", "status_before": "accepted",
                                    "closed_at": closed_at.isoformat(), "by": "hv-key"})


def test_one_open_case_per_family_across_a_closure(engine: Engine) -> None:
    family = uuid.uuid4()
    first = accepted_case(engine, family)
    during = run(engine, handlers.on_trigger, trigger(family, "e2", DECIDED + timedelta(days=20)), RULES,
                 DECIDED + timedelta(days=20))
    assert during[0] is TriggerOutcome.ATTACHED and during[1].case_id == first  # joins the case under way
    run(engine, handlers.close, first, RULES, ClosureOutcome.NO_CHANGE, DECIDED + timedelta(days=40),
        DECIDED + timedelta(days=40), "hv-key")
    replay = run(engine, handlers.on_trigger, trigger(family, "e2", DECIDED + timedelta(days=20)), RULES,
                 DECIDED + timedelta(days=50))
    assert replay[0] is TriggerOutcome.DUPLICATE  # a redelivery after closure opens nothing
    outcome, again = run(engine, handlers.on_trigger, trigger(family, "e3", DECIDED + timedelta(days=90)), RULES,
                         DECIDED + timedelta(days=90))
    assert outcome is TriggerOutcome.OPENED and again.case_id != first
    assert topics(engine).count("allocation.case-opened.v1") == 2
    with Session(engine) as session:
        assert [c.case_id for c in store.open_cases(session)] == [again.case_id]
        assert {c.case_id for c in store.family_cases(session, family)} == {first, again.case_id}


def test_a_case_closed_before_its_offer_is_owed_no_warning(engine: Engine) -> None:
    _, case = run(engine, handlers.on_trigger, trigger(uuid.uuid4()), RULES, DECIDED)
    run(engine, handlers.allocate, case.case_id, RULES, DECIDED + timedelta(days=1), lead_agency_id="school-100001",
        agency_kind=AgencyKind.SCHOOL, lead_professional_ref="staff-7", allocated_by="coord-1", at_meeting=False)
    run(engine, handlers.close, case.case_id, RULES, ClosureOutcome.RESOLVED_BY_INFORMATION_AND_ADVICE,
        DECIDED + timedelta(days=2), DECIDED + timedelta(days=2), "school-key")
    assert run(engine, handlers.sla_sweep, RULES, case.due_at + timedelta(days=1)) == []
    with Session(engine) as session:
        assert store.overdue_count(session, case.due_at + timedelta(days=1)) == 0
