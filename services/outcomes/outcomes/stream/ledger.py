"""The SQL side of a batch of steps, in one transaction: the read model's
facts and the families' chronologies, the outputs into the outbox (each once: its event id is unique), the
family views for the API, the dead letters, and the answers to privacy
requests (the kit's responder: once per request, its id the request's and
the service's). Everything here is idempotent, so a replayed record changes
nothing."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from frontdoor_contracts.errors import InvalidEvent
from frontdoor_contracts.privacy import PrivacyRequested
from frontdoor_contracts.topics import PRIVACY_REQUESTS
from frontdoor_platform import outbox
from frontdoor_platform.privacy import Responder, answer_id
from frontdoor_platform.routes import Incoming, add_dead_letter, dead_letter_id

from ..domain.days import day_of
from ..domain.family import Family
from ..domain.thresholds import Thresholds
from ..domain.view import family_view
from ..models import FamilyAliasRow, FamilyViewRow, OutboxEvent
from ..readmodel import chronology
from ..readmodel.apply import apply as apply_fact
from .processor import Step


def _published_already(session: Session, event_id: str) -> bool:
    return session.exec(select(OutboxEvent.id).where(col(OutboxEvent.event_id) == event_id)).first() is not None


def record(session: Session, steps: Iterable[Step], th: Thresholds, now: datetime, *,
           publish: bool = True, views: bool = True, privacy: Responder | None = None) -> set[str]:
    """Write the steps; the ids of the outputs, answers and dead letters newly added to the outbox.
    A rebuild passes `publish=False` (the outputs go to the read model only)
    and `views=False` (it writes every family's view once, at the end); the
    live stream passes its `privacy` responder (a rebuild reads no requests)."""
    added: set[str] = set()
    for step in steps:
        if step.error is not None and step.incoming is not None:
            if add_dead_letter(session, OutboxEvent, step.incoming, step.error, now):
                added.add(dead_letter_id(step.incoming))
            continue
        if step.event is not None and step.incoming is not None and step.incoming.topic == PRIVACY_REQUESTS.name:
            if privacy is not None:
                added |= _answer(session, privacy, step, step.event.data, step.incoming, now)
            continue
        if step.event is not None and step.incoming is not None:
            apply_fact(session, step.incoming.topic, step.event)
            chronology.apply(session, step.incoming.topic, step.event)
        for topic, event in step.outputs:
            chronology.apply(session, topic, event)
            # Published once: its KPI fact row (kept as long as the read model, not purged like the outbox's
            # rows after 7 days) says whether this output was ever made, whatever a deep replay brings back.
            new = apply_fact(session, topic, event)
            if publish and new and not _published_already(session, event.id):
                outbox.add_event(session, OutboxEvent, topic, str(event.data.family_id), event, now)
                added.add(event.id)
        for key, target in step.aliases.items():
            session.merge(FamilyAliasRow(family_id=uuid.UUID(key), now_family_id=uuid.UUID(target)))
        for key, family in step.families.items() if views else ():
            if family is None:
                row = session.get(FamilyViewRow, uuid.UUID(key))
                if row is not None:
                    session.delete(row)
                continue
            write_view(session, family, th, now)
    return added


def _answer(session: Session, privacy: Responder, step: Step, request: PrivacyRequested, incoming: Incoming,
            now: datetime) -> set[str]:
    """The request answered once (nothing on a replay); a request the responder refuses (a share sealed for
    this service that does not open) is dead-lettered instead (the step carries the error, to be counted),
    whatever it staged undone."""
    try:
        with session.begin_nested():
            answered = privacy.answer(session, request, now)
    except InvalidEvent as error:
        step.error = error
        return {dead_letter_id(incoming)} if add_dead_letter(session, OutboxEvent, incoming, error, now) else set()
    return {answer_id(answered.request_id, privacy.service)} if answered is not None else set()


def view_row(family: Family, th: Thresholds, now: datetime) -> dict[str, Any]:
    """The family's `FamilyViewRow` as of `now` (the day in England, not in UTC), as column values."""
    return {"family_id": family.family_id, "document": family_view(family, day_of(now), th).model_dump_json(),
            "updated_at": now}


def write_view(session: Session, family: Family, th: Thresholds, now: datetime) -> None:
    session.merge(FamilyViewRow(**view_row(family, th, now)))
