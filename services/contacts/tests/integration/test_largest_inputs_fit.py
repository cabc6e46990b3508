"""Every event the contacts service derives from an accepted input fits on the
wire: the largest contact, decision and partner records the contracts accept
(`frontdoor_contracts.largest`), and contacts hypothesis draws, go through the
service's own handlers; each outbox row, with its key and headers, is
measured as the producer measures it (aiokafka's estimate, the one
max_request_size is checked against) and must be under MAX_RECORD_BYTES."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from aiokafka.record.default_records import DefaultRecordBatchBuilder
from contacts_testkit import SEALING
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, delete, select

from contacts import handlers, partner_data
from contacts.migrations import migrate
from contacts.models import OutboxEvent
from frontdoor_contracts import caps, largest
from frontdoor_contracts.contacts import ContactSubmitted, DecisionSubmitted
from frontdoor_contracts.envelope import EventData, new_event
from frontdoor_contracts.limits import MAX_RECORD_BYTES
from frontdoor_contracts.vocabulary import Channel, Concern, Decision, LevelOfNeed, ReferrerSource
from frontdoor_platform.database import build_engine
from frontdoor_platform.outbox import stored_headers

SOURCE = "urn:frontdoor:contacts"
NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)  # after largest.WHEN


def wire_bytes(row: OutboxEvent) -> int:
    """The record's size as the producer checks it against max_request_size: key, value and headers."""
    return int(DefaultRecordBatchBuilder.estimate_size_in_bytes(row.key.encode(), row.payload, stored_headers(row)))


def drain(engine: Engine) -> dict[str, int]:
    """The largest outbox row of each topic, in wire bytes; the outbox emptied for the next input."""
    with Session(engine) as session:
        rows = session.exec(select(OutboxEvent)).all()
        sizes: dict[str, int] = {}
        for row in rows:
            sizes[row.topic] = max(sizes.get(row.topic, 0), wire_bytes(row))
        session.execute(delete(OutboxEvent).where(col(OutboxEvent.id).is_not(None)))
        session.commit()
    return sizes


def apply(engine: Engine, handler: Any, data: EventData, variant: int, *args: Any, **kwargs: Any) -> Any:
    with Session(engine) as session:
        outcome = handler(session, largest.largest_event(data, variant), *args, **kwargs)
        session.commit()
    return outcome


def only_child(child: dict[str, Any]) -> ContactSubmitted:
    return ContactSubmitted.model_validate({"referrer_source": "school", "received_at": largest.WHEN,
                                            "children": [child], "concerns": ["neglect"]})


def largest_derivations(engine: Engine) -> dict[str, int]:
    """Everything the service derives from the largest inputs, in wire bytes per topic. Each child of the largest
    contact is first known in a family of its own, so the contact merges the most families it can."""
    contact = largest.largest_contact()
    for variant, child in enumerate(contact.model_dump(mode="json")["children"], start=1):
        apply(engine, handlers.record_contact, only_child(child), variant, Channel.API, SOURCE, NOW, sealing=SEALING)
    drain(engine)
    outcome = apply(engine, handlers.record_contact, contact, 0, Channel.KAFKA, SOURCE, NOW, sealing=SEALING)
    sizes = drain(engine)
    apply(engine, handlers.record_decision, largest.largest_decision(outcome.contact_id), 0, SOURCE, NOW)
    sizes |= drain(engine)
    for variant, record in enumerate(largest.largest_partner_records()):
        apply(engine, partner_data.record_partner_fact, record, variant, SOURCE, NOW)
    return sizes | drain(engine)


@pytest.fixture(scope="module")
def largest_sizes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, int]:
    engine = build_engine(f"sqlite:///{tmp_path_factory.mktemp('largest') / 'contacts.db'}")
    migrate(engine)
    try:
        return largest_derivations(engine)
    finally:
        engine.dispose()


def test_what_the_largest_inputs_derive_fits_a_record(engine: Engine) -> None:
    """On SQLite and PostgreSQL: every derived event, each under the record limit."""
    sizes = largest_derivations(engine)
    assert set(sizes) == {"contacts.recorded.v1", "contacts.families-merged.v1", "contacts.da-incident-reported.v1",
                          "contacts.person-keys.v1", "contacts.decided.v1", "contacts.partner-fact-matched.v1"}
    assert max(sizes.values()) <= MAX_RECORD_BYTES, sizes
    assert sizes["contacts.da-incident-reported.v1"] > 20_000  # the widest: every child's names, in wide characters


# -- hypothesis: contacts of any shape the contracts accept --------------------------------------------------------
LETTERS = st.characters(codec="utf-8", exclude_categories=("Cc", "Cs", "Z"))


def text(cap: int) -> st.SearchStrategy[str]:
    return st.text(LETTERS, min_size=1, max_size=cap)


def person() -> st.SearchStrategy[dict[str, Any]]:
    """Identifiers from a small pool, so that people of one contact and of earlier ones meet."""
    seeds = st.integers(0, 40)
    return st.fixed_dictionaries({
        "given_name": text(caps.NAME_MAX), "family_name": text(caps.NAME_MAX),
        "date_of_birth": st.dates(date(2008, 1, 1), date(2025, 12, 31)),
        "nhs_number": st.none() | seeds.map(lambda s: largest.nhs_number(500_000_000 + 11 * s)),
        "postcode": st.none() | st.sampled_from(["RG1 1AA", "EC1A 1BB", "M1 1AE"]),
    })


@st.composite
def contacts(draw: st.DrawFn) -> ContactSubmitted:
    refs = draw(st.lists(text(caps.REF_MAX), min_size=1, max_size=caps.MAX_CHILDREN + caps.MAX_ADULTS, unique=True))
    split = draw(st.integers(max(1, len(refs) - caps.MAX_ADULTS), min(len(refs), caps.MAX_CHILDREN)))
    children = [{**draw(person()), "ref": ref, "upn": draw(st.none() | st.integers(0, 40).map(largest.upn)),
                 "school_urn": draw(st.none() | st.sampled_from(["100023", "999999"]))} for ref in refs[:split]]
    adults = [{**draw(person()), "ref": ref, "relationship": draw(st.none() | text(caps.RELATIONSHIP_MAX))}
              for ref in refs[split:]]
    police = draw(st.booleans())
    incident = {"occurred_at": largest.WHEN, "police_reference": draw(text(caps.POLICE_REFERENCE_MAX).filter(
        lambda r: len(r) >= 3)), "children": [{"child_ref": r, "present": draw(st.booleans())} for r in draw(
            st.lists(st.sampled_from(refs[:split]), min_size=1, unique=True))]} if police else None
    return ContactSubmitted.model_validate({
        "referrer_source": ReferrerSource.POLICE if police else draw(st.sampled_from(ReferrerSource)),
        "received_at": largest.WHEN, "children": children, "adults": adults, "da_incident": incident,
        "concerns": draw(st.lists(st.sampled_from(Concern), min_size=1, max_size=caps.MAX_CONCERNS, unique=True))})


@pytest.fixture
def sqlite_engine(tmp_path: Path) -> Iterator[Engine]:
    engine = build_engine(f"sqlite:///{tmp_path / 'contacts.db'}")
    migrate(engine)
    yield engine
    engine.dispose()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow, HealthCheck.data_too_large])
@given(contact=contacts(), decision=st.sampled_from(Decision), rationale=text(caps.RATIONALE_MAX))
def test_no_contact_derives_more_than_the_largest(sqlite_engine: Engine, largest_sizes: dict[str, int],
                                                  contact: ContactSubmitted, decision: Decision,
                                                  rationale: str) -> None:
    """Each example is recorded on top of the ones before (people meet again); every event it derives is under
    the record limit, and no larger than what the largest inputs derive on the same topic."""
    with Session(sqlite_engine) as session:
        outcome = handlers.record_contact(session, new_event(contact, source="urn:test", event_id=str(uuid.uuid4())),
                                          Channel.KAFKA, SOURCE, NOW, sealing=SEALING)
        session.commit()
    decided = DecisionSubmitted(contact_id=outcome.contact_id, decision=decision, level_of_need=LevelOfNeed.TARGETED,
                                rationale=rationale, decided_by="sw-1", decided_at=NOW)
    with Session(sqlite_engine) as session:
        handlers.record_decision(session, new_event(decided, source="urn:test"), SOURCE, NOW)
        session.commit()
    for topic, size in drain(sqlite_engine).items():
        assert size <= MAX_RECORD_BYTES
        assert size <= largest_sizes.get(topic, MAX_RECORD_BYTES), topic
