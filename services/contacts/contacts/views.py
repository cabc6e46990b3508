"""JSON views of stored contacts for the read API (role `read` only)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .models import Contact, ContactPerson, MashDecision, Person


def _person(link: ContactPerson, person: Person) -> dict[str, Any]:
    view: dict[str, Any] = {
        "person_id": str(person.id), "ref": link.ref, "given_name": person.given_name,
        "family_name": person.family_name,
        "date_of_birth": person.date_of_birth.isoformat() if person.date_of_birth else None,
        "erased": person.erased_at is not None,
    }
    if link.role == "child":
        view |= {"school_urn": person.school_urn, "da_present": link.da_present}
    else:
        view["relationship"] = link.relationship
    return view


API_SOURCE_MARK = ":api:"


def recorded_by(event_source: str | None) -> str | None:
    """The API client that submitted it (its key's name), or None from Kafka."""
    if event_source is None or API_SOURCE_MARK not in event_source:
        return None
    return event_source.rsplit(API_SOURCE_MARK, 1)[1]


def _decision(decision: MashDecision | None) -> dict[str, Any] | None:
    if decision is None:
        return None
    return {
        "decision": decision.decision, "level_of_need": decision.level_of_need, "rationale": decision.rationale,
        "decided_by": decision.decided_by, "recorded_by": recorded_by(decision.event_source),
        "decided_at": decision.decided_at.isoformat(),
        "referral": decision.referral, "re_referral": decision.re_referral,
    }


def contact_summary(contact: Contact, decision: MashDecision | None) -> dict[str, Any]:
    return {
        "contact_id": str(contact.id), "referrer_source": contact.referrer_source, "channel": contact.channel,
        "recorded_by": recorded_by(contact.event_source),
        "received_at": contact.received_at.isoformat(), "concerns": contact.concerns,
        "decision": decision.decision if decision else None,
        "referral": decision.referral if decision else False,
        "re_referral": decision.re_referral if decision else False,
    }


def contact_view(
    contact: Contact, people: Sequence[tuple[ContactPerson, Person]], decision: MashDecision | None
) -> dict[str, Any]:
    return {
        **contact_summary(contact, decision),
        "family_id": str(contact.family_id),
        "recorded_at": contact.recorded_at.isoformat(),
        "children": [_person(link, p) for link, p in people if link.role == "child"],
        "adults": [_person(link, p) for link, p in people if link.role == "adult"],
        "da_incident": None if contact.police_reference is None and contact.incident_at is None else {
            "police_reference": contact.police_reference,
            "occurred_at": contact.incident_at.isoformat() if contact.incident_at else None,
        },
        "decision": _decision(decision),
    }
