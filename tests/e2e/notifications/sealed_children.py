"""Test kit: DA incidents' children as the contacts service now publishes
them (the name, date of birth, UPN and police reference sealed with the
child's own data key, `frontdoor_contracts.personal`), and the key records
that open them (`PersonKeyIssued` on contacts.person-keys.v1, wrapped with the
notifications service's development wrapping key, which the service uses when
NOTIFICATIONS_WRAPPING_KEY is not set). One `ChildKeys` per test: a fresh
data key per child. Importable from any test (unique module name)."""

from __future__ import annotations

import base64
import json
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from frontdoor_contracts.contacts import DAIncidentReported, da_child_context
from frontdoor_contracts.envelope import CloudEvent, encode_event, new_event
from frontdoor_contracts.personal import PersonKeyIssued, new_data_key, new_reply_keys, seal, wrap_key
from frontdoor_contracts.privacy import PrivacyKind, PrivacyRequested, sealed_context
from frontdoor_platform.wrapping import development_key

SERVICE = "notifications"
CONTACTS = "urn:frontdoor:contacts"
PERSON_KEYS = "contacts.person-keys.v1"
DA = "contacts.da-incident-reported.v1"
PERSONAL = ("given_name", "family_name", "date_of_birth", "upn", "police_reference")
DEFAULTS: dict[str, Any] = {"given_name": "Testchild", "family_name": "Example", "date_of_birth": "2016-05-04",
                            "upn": None, "police_reference": "E2E/0000001/26"}


@dataclass
class ChildKeys:
    """Each child's data key (made on first use), its key record, and the children sealed with it."""

    keys: dict[uuid.UUID, bytes] = field(default_factory=dict)

    def key_of(self, child_id: uuid.UUID) -> bytes:
        return self.keys.setdefault(child_id, new_data_key())

    def child(self, contact_id: uuid.UUID, child_id: uuid.UUID | None = None, **fields: Any) -> dict[str, Any]:
        """A DAChildReported as JSON: `school_urn` and `present` in clear, the personal fields (given_name,
        family_name, date_of_birth, upn, police_reference; defaults for those not given) sealed."""
        child_id = child_id or uuid.uuid4()
        personal = {**DEFAULTS, **{k: v for k, v in fields.items() if k in PERSONAL}}
        sealed = seal(self.key_of(child_id), child_id, personal, da_child_context(contact_id, child_id))
        return {"child_id": str(child_id), "school_urn": fields.get("school_urn"),
                "present": fields.get("present", True), "personal": sealed.model_dump(mode="json")}

    def key_event(self, child_id: uuid.UUID, issued_at: datetime | None = None) -> CloudEvent[PersonKeyIssued]:
        """The child's key record, wrapped for the notifications service with its development key."""
        wrapping = development_key(SERVICE)
        data = PersonKeyIssued(person_id=child_id, issued_at=issued_at or datetime.now(UTC), wrapped={
            SERVICE: wrap_key(SERVICE, wrapping.key_id, wrapping.key, child_id, self.key_of(child_id))})
        return new_event(data, source=CONTACTS, subject=str(child_id), time=data.issued_at,
                         event_id=str(uuid.uuid5(child_id, "person-key")))

    def key_bytes(self, child_id: uuid.UUID) -> bytes:
        return encode_event(self.key_event(child_id))

    def children_of(self, incident: CloudEvent[DAIncidentReported] | dict[str, Any]) -> list[uuid.UUID]:
        data = incident.data.model_dump(mode="json") if isinstance(incident, CloudEvent) else incident
        return [uuid.UUID(str(child["child_id"])) for child in data["children"]]


def incident_data(contact_id: uuid.UUID, children: list[dict[str, Any]], occurred_at: datetime | str,
                  reported_at: datetime | str) -> dict[str, Any]:
    """A DAIncidentReported's data as JSON."""
    def text(moment: datetime | str) -> str:
        return moment.isoformat() if isinstance(moment, datetime) else moment

    return {"contact_id": str(contact_id), "occurred_at": text(occurred_at), "reported_at": text(reported_at),
            "children": children}


def incident_event(data: dict[str, Any], event_id: str | None = None) -> CloudEvent[DAIncidentReported]:
    parsed = DAIncidentReported.model_validate(data)
    return new_event(parsed, source=CONTACTS, subject=str(parsed.contact_id), time=parsed.reported_at,
                     event_id=event_id)


def tampered(child: dict[str, Any]) -> dict[str, Any]:
    """The child with its sealed fields altered (one ciphertext byte flipped): they no longer open."""
    personal = dict(child["personal"])
    raw = bytearray(base64.b64decode(personal["ciphertext"]))
    raw[0] ^= 0x01
    personal["ciphertext"] = base64.b64encode(bytes(raw)).decode()
    return {**child, "personal": personal}


def dumps(document: Any) -> bytes:
    return json.dumps(document).encode()


def applied(session: Any, rules: Any, keys: ChildKeys, children: list[dict[str, Any]], *, now: datetime,
            contact_id: uuid.UUID | None = None, occurred_at: str = "2026-11-13T21:50:00Z",
            reported_at: str = "2026-11-13T22:40:00Z", key_first: bool = True) -> Any:
    """A DA incident through the notifications service's handler, as its consumer applies it, in `session`
    (the caller commits): each child's key kept first (as contacts publishes it) unless `key_first` is False.
    `children` are the fields of each child (school_urn, present, given_name, ...). The Outcome."""
    from frontdoor_platform.routes import Consumed
    from notifications import handlers
    from notifications.domain.outcome import Outcome

    contact = contact_id or uuid.uuid4()
    sealed = [keys.child(contact, fields.pop("child_id", None), **fields) for fields in map(dict, children)]
    event = incident_event(incident_data(contact, sealed, occurred_at, reported_at))
    outcome = Outcome()
    if key_first:
        for child_id in keys.children_of(event):
            handlers.on_person_key(session, keys.key_event(child_id).data, rules, now, outcome)
    handlers.on_da_incident(session, event, Consumed(DA, 0, 0, now), rules, outcome)
    return outcome


def privacy_request(kind: str, person_ids: list[uuid.UUID], *, family_ids: list[uuid.UUID] | None = None,
                    contact_ids: list[uuid.UUID] | None = None, share: dict[str, Any] | None = None,
                    erasure_refused: str | None = None) -> tuple[CloudEvent[PrivacyRequested], X25519PrivateKey]:
    """A privacy request as contacts publishes it: notifications' share (`upns`, `corrections`) sealed with the
    notifications service's development wrapping key; with the requester's one-off private key."""
    private, public = new_reply_keys()
    request_id = uuid.uuid4()
    sealed_for = {} if share is None else {SERVICE: seal(development_key(SERVICE).key, request_id, share,
                                                         sealed_context(request_id, SERVICE))}
    data = PrivacyRequested(request_id=request_id, kind=PrivacyKind(kind), requested_by="dpo-admin",
                            requested_at=datetime.now(UTC), reply_key=public, person_ids=person_ids,
                            family_ids=family_ids or [], contact_ids=contact_ids or [], sealed_for=sealed_for,
                            erasure_refused=erasure_refused)
    return new_event(data, source=CONTACTS, subject=str(request_id), event_id=str(request_id)), private
