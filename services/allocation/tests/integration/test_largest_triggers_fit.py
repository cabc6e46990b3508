"""The case the allocation service opens from the largest step-down a case
system may send (`frontdoor_contracts.largest`: every child and concern at
its cap) fits on the wire: each outbox row, key and headers included, is
measured as the producer measures it and is under MAX_RECORD_BYTES."""

from __future__ import annotations

from datetime import UTC, datetime

from aiokafka.record.default_records import DefaultRecordBatchBuilder
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from allocation import handlers
from allocation.domain.calendar import DEFAULT_TARGET, england_and_wales_bank_holidays
from allocation.domain.sla import DEFAULT_SLA
from allocation.domain.triggers import NfaReviewPolicy
from allocation.incoming import trigger_from_step_down
from allocation.models import OutboxEvent
from frontdoor_contracts import largest
from frontdoor_contracts.caps import MAX_CHILDREN, MAX_CONCERNS
from frontdoor_contracts.limits import MAX_RECORD_BYTES
from frontdoor_platform.database import for_writing
from frontdoor_platform.outbox import stored_headers

RULES = handlers.Rules(DEFAULT_TARGET, england_and_wales_bank_holidays(), DEFAULT_SLA, NfaReviewPolicy(),
                       "urn:frontdoor:allocation")
NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


def test_the_case_opened_by_the_largest_step_down_fits_a_record(engine: Engine) -> None:
    event = largest.largest_event(largest.largest_step_down())
    with Session(for_writing(engine)) as session:
        handlers.on_trigger(session, trigger_from_step_down(event), RULES, NOW)
        session.commit()
    with Session(engine) as session:
        [row] = session.exec(select(OutboxEvent)).all()
    opened = row.payload.decode()
    assert row.topic == "allocation.case-opened.v1"
    assert opened.count('"concerns":[') == 1 and len(event.data.concerns) == MAX_CONCERNS
    assert all(str(child) in opened for child in event.data.child_ids) and len(event.data.child_ids) == MAX_CHILDREN
    size = DefaultRecordBatchBuilder.estimate_size_in_bytes(row.key.encode(), row.payload, stored_headers(row))
    assert size <= MAX_RECORD_BYTES
