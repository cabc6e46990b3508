"""MASH decisions on a real database: referrals, re-referrals, rejections."""

from __future__ import annotations

import json
import uuid

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from contacts_testkit import NOW, SEALING, ContactFactory, child, decision_event, nhs_number
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from contacts import handlers
from contacts.models import Contact, ContactsTable, OutboxEvent, PendingDecision
from frontdoor_contracts.contacts import contact_id_for
from frontdoor_contracts.vocabulary import Channel, Decision
from frontdoor_platform.outbox import stored_headers

SOURCE = "urn:frontdoor:contacts"


def record(engine: Engine, event: object) -> uuid.UUID:
    with Session(engine) as session:
        outcome = handlers.record_contact(session, event, Channel.KAFKA, SOURCE, NOW, sealing=SEALING)  # type: ignore[arg-type]
        session.commit()
    return outcome.contact_id


def decide(engine: Engine, event: object) -> handlers.Outcome:
    with Session(engine) as session:
        outcome = handlers.record_decision(session, event, SOURCE, NOW)  # type: ignore[arg-type]
        session.commit()
    return outcome


def decided_events(engine: Engine) -> list[dict[str, object]]:
    with Session(engine) as session:
        rows = session.exec(select(OutboxEvent).where(OutboxEvent.topic == "contacts.decided.v1")).all()
        return [json.loads(r.payload)["data"] for r in rows]


def test_a_second_referral_within_twelve_months_is_a_re_referral(engine: Engine, make_contact: ContactFactory
                                                                  ) -> None:
    nhs, sibling = nhs_number(4242), nhs_number(5353)
    first = record(engine, make_contact(children=[child(nhs_number=nhs)]))
    decide(engine, decision_event(first, "social_care_assessment", "2025-09-01T10:00:00+00:00"))
    second = record(engine, make_contact(children=[child("a", nhs_number=nhs), child("b", nhs_number=sibling)]))
    outcome = decide(engine, decision_event(second, "s47_strategy_discussion", "2026-03-02T10:00:00+00:00"))
    assert (outcome.referrals, outcome.re_referrals) == (2, 1)
    latest = decided_events(engine)[-1]
    assert latest["referral"] is True and latest["re_referral"] is True
    flags = {c["re_referral"] for c in latest["children"]}  # type: ignore[attr-defined]
    assert flags == {True, False}
    assert "rationale" not in latest


def test_the_decision_tells_each_childs_age_on_its_day_never_the_date_of_birth(
    engine: Engine, make_contact: ContactFactory
) -> None:
    children = [child("a", nhs_number=nhs_number(6161), date_of_birth="2016-04-01"),
                child("b", nhs_number=nhs_number(6262), date_of_birth="2021-11-30")]
    contact = record(engine, make_contact(children=children))
    decide(engine, decision_event(contact, "early_help", "2026-03-02T10:00:00+00:00"))
    latest = decided_events(engine)[-1]
    assert sorted(c["age_years"] for c in latest["children"]) == [4, 9]  # type: ignore[attr-defined]
    assert "2016-04-01" not in json.dumps(latest) and "date_of_birth" not in json.dumps(latest)


def test_a_referral_after_twelve_months_is_not_a_re_referral(engine: Engine, make_contact: ContactFactory) -> None:
    nhs = nhs_number(777)
    first = record(engine, make_contact(children=[child(nhs_number=nhs)]))
    decide(engine, decision_event(first, "social_care_assessment", "2025-03-01T10:00:00+00:00"))
    second = record(engine, make_contact(children=[child(nhs_number=nhs)]))
    outcome = decide(engine, decision_event(second, "social_care_assessment", "2026-03-02T10:00:00+00:00"))
    assert (outcome.referrals, outcome.re_referrals) == (1, 0)


def test_early_help_is_not_a_referral_and_does_not_count_later(engine: Engine, make_contact: ContactFactory) -> None:
    nhs = nhs_number(888)
    first = record(engine, make_contact(children=[child(nhs_number=nhs)]))
    decide(engine, decision_event(first, "early_help", "2026-01-01T10:00:00+00:00"))
    second = record(engine, make_contact(children=[child(nhs_number=nhs)]))
    outcome = decide(engine, decision_event(second, "social_care_assessment", "2026-03-02T10:00:00+00:00"))
    assert (outcome.referrals, outcome.re_referrals) == (1, 0)


def test_replayed_decision_changes_nothing_and_a_second_one_is_refused(
    engine: Engine, make_contact: ContactFactory
) -> None:
    contact = record(engine, make_contact())
    event = decision_event(contact, "early_help", "2026-03-02T10:00:00+00:00")
    assert not decide(engine, event).duplicate
    assert decide(engine, event).duplicate
    with pytest.raises(handlers.DecisionRejected) as refused:
        decide(engine, decision_event(contact, "signposted", "2026-03-02T09:45:00+00:00"))
    assert refused.value.reason == "already_decided"
    assert len(decided_events(engine)) == 1


def test_a_decision_that_arrives_before_its_contact_waits_for_it(engine: Engine, make_contact: ContactFactory
                                                                  ) -> None:
    event = make_contact()
    contact_id = contact_id_for(event.source, event.id)
    early = decision_event(contact_id, "early_help", "2026-03-02T10:00:00+00:00")
    parked = decide(engine, early)
    assert parked.parked and decided_events(engine) == []
    assert decide(engine, early).duplicate  # a replay while waiting changes nothing
    with Session(engine) as session:
        outcome = handlers.record_contact(session, event, Channel.KAFKA, SOURCE, NOW, sealing=SEALING)
        session.commit()
    assert outcome.decisions == [Decision.EARLY_HELP]
    assert [e["contact_id"] for e in decided_events(engine)] == [str(contact_id)]
    with Session(engine) as session:
        assert session.exec(select(PendingDecision)).all() == []


def test_migrations_match_the_models(engine: Engine) -> None:
    with engine.connect() as connection:
        context = MigrationContext.configure(connection)
        assert compare_metadata(context, ContactsTable.metadata) == []


def test_of_two_decisions_waiting_for_a_contact_the_first_applies_and_the_second_is_dead_lettered(
    engine: Engine, make_contact: ContactFactory
) -> None:
    event = make_contact()
    contact_id = contact_id_for(event.source, event.id)
    decide(engine, decision_event(contact_id, "early_help", "2026-03-02T09:00:00+00:00"))
    decide(engine, decision_event(contact_id, "signposted", "2026-03-02T09:30:00+00:00"))
    with Session(engine) as session:
        outcome = handlers.record_contact(session, event, Channel.KAFKA, SOURCE, NOW, sealing=SEALING)
        session.commit()
    assert outcome.decisions == [Decision.EARLY_HELP] and outcome.dead_lettered == ["already_decided"]
    with Session(engine) as session:
        assert session.get(Contact, contact_id) is not None  # the contact itself is recorded
        dead = session.exec(select(OutboxEvent).where(OutboxEvent.topic == "frontdoor.decisions.v1.dlq")).all()
        assert len(dead) == 1
        headers = {name: value.decode() for name, value in stored_headers(dead[0])}
        assert headers["dlq.reason"] == "already_decided" and headers["dlq.field"] == "data.contact_id"
        assert json.loads(dead[0].payload)["data"]["decision"] == "signposted"  # the original event


def test_a_child_named_twice_in_one_contact_is_referred_once(engine: Engine, make_contact: ContactFactory) -> None:
    nhs = nhs_number(606060)
    contact = record(engine, make_contact(children=[child("a", nhs_number=nhs), child("b", nhs_number=nhs)]))
    outcome = decide(engine, decision_event(contact, "social_care_assessment", "2026-03-02T09:00:00+00:00"))
    assert outcome.referrals == 1
    assert len(decided_events(engine)[0]["children"]) == 1  # type: ignore[arg-type]


def test_a_decision_in_the_future_is_refused(engine: Engine, make_contact: ContactFactory) -> None:
    contact = record(engine, make_contact())
    with pytest.raises(handlers.DecisionRejected) as refused:
        decide(engine, decision_event(contact, "early_help", "2026-03-03T10:00:00+00:00"))
    assert refused.value.field == "data.decided_at"


def test_flags_follow_decision_times_and_a_late_earlier_referral_corrects_by_an_event(
        engine: Engine, make_contact: ContactFactory) -> None:
    from contacts.models import ChildReferral, MashDecision

    nhs = nhs_number(9090)
    later = record(engine, make_contact(children=[child(nhs_number=nhs)]))
    earlier = record(engine, make_contact(children=[child(nhs_number=nhs)]))
    first_to_arrive = decide(engine, decision_event(later, "s47_strategy_discussion", "2026-03-01T10:00:00+00:00"))
    assert first_to_arrive.re_referrals == 0  # nothing known before it yet
    late = decide(engine, decision_event(earlier, "social_care_assessment", "2025-10-01T10:00:00+00:00"))
    assert late.re_referrals == 1  # the correction of the later one (the late one itself has nothing before it)
    with Session(engine) as session:
        rows = {r.contact_id: r.re_referral for r in session.exec(select(ChildReferral)).all()}
        decision = session.get(MashDecision, later)
        corrections = [json.loads(r.payload) for r in session.exec(select(OutboxEvent).where(
            OutboxEvent.topic == "contacts.re-referral-corrected.v1")).all()]
    assert rows == {later: True, earlier: False} and decision is not None and decision.re_referral
    assert len(corrections) == 1 and corrections[0]["data"]["contact_id"] == str(later)
    assert corrections[0]["data"]["because_of_contact_id"] == str(earlier) and corrections[0]["data"]["re_referral"]
    # Outside the window, a late earlier referral corrects nothing.
    other = nhs_number(9191)
    recent = record(engine, make_contact(children=[child(nhs_number=other)]))
    old = record(engine, make_contact(children=[child(nhs_number=other)]))
    decide(engine, decision_event(recent, "social_care_assessment", "2026-03-01T10:00:00+00:00"))
    assert decide(engine, decision_event(old, "social_care_assessment", "2024-12-01T10:00:00+00:00")).re_referrals == 0


def test_a_decision_ahead_of_its_contact_in_one_consumed_batch_is_applied(engine: Engine,
                                                                          make_contact: ContactFactory) -> None:
    from aiokafka import ConsumerRecord

    from contacts import subscriptions
    from contacts.metrics import Metrics
    from contacts.settings import Settings
    from frontdoor_contracts.envelope import encode_event
    from frontdoor_platform.consumer import BatchConsumer

    contact = make_contact()
    contact_id = contact_id_for(contact.source, contact.id)
    decision = decision_event(contact_id, "early_help", "2026-03-02T09:00:00+00:00")
    records = [ConsumerRecord(topic, 0, offset, 0, 0, None, encode_event(event), None, 0, 0, [])
               for offset, (topic, event) in enumerate([("frontdoor.decisions.v1", decision),
                                                        ("frontdoor.contacts.v1", contact)])]
    metrics = Metrics()
    consumer = BatchConsumer(bootstrap="unused:9092", group="g", client_id="t",
                             routes=subscriptions.routes(Settings(), metrics), engine=engine, outbox=OutboxEvent,
                             metrics=metrics)
    result = consumer.apply_batch(records)
    assert result.dead_lettered == [] and result.wrote
    assert [e["contact_id"] for e in decided_events(engine)] == [str(contact_id)]
    with Session(engine) as session:
        assert session.exec(select(PendingDecision)).all() == []
