"""A privacy request (`POST /v1/privacy/requests`, the data protection officer's `privacy` role) made into
one `PrivacyRequested`: the person named by NHS number, UPN, or given name + family name + date of birth +
postcode, found on the people index (an erased person is found by nothing: their identifiers are blank),
with their families (the families merged into them too) and the contacts that named them.

- An erasure is refused for every class (`erasure_refused`, in the request: every service keeps and says
  why) when a child named has a safeguarding referral or any contact naming them (a father on a police DA
  contact, an adult sibling) was decided as one: it would blank the child's statutory record.
- An erasure not refused is audited per person (`privacy.erasure_requested`, target `person:<id>`): a
  rectify of someone whose erasure is not applied yet is 409 (read after it, it would write their details
  back); once applied, nobody finds them (404).
- A miss is audited (who, when, the kind, how the person was named, never the values); a key's misses
  beyond `MISSES_ALLOWED` a minute are 429 before anything is looked up.
- `reply_key` must be a usable X25519 public key (a low-order point would be dead-lettered everywhere).

Each service that needs more than ids gets its share sealed with its own wrapping key: notifications the
people's UPNs (its enrolments) and a rectify's corrections; contacts itself a rectify's corrections. The
event goes through the outbox, with the audit entries (ids only), in one transaction.

Errors name the field and the rule, never what was sent."""

from __future__ import annotations

import base64
import math
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic_core import PydanticCustomError
from sqlalchemy import or_
from sqlmodel import Session, col, select

from frontdoor_contracts.caps import Name
from frontdoor_contracts.contacts import DateOfBirth, Postcode
from frontdoor_contracts.envelope import new_event
from frontdoor_contracts.errors import FieldError, InvalidEvent
from frontdoor_contracts.identifiers import NhsNumber, Upn
from frontdoor_contracts.personal import BASE64, seal
from frontdoor_contracts.privacy import MAX_PEOPLE, PrivacyKind, PrivacyRequested, sealed_context
from frontdoor_contracts.topics import CONTACTS, NOTIFICATIONS, PRIVACY_REQUESTS
from frontdoor_contracts.vocabulary import REFERRAL_DECISIONS
from frontdoor_platform import outbox
from frontdoor_platform.apikeys import Caller
from frontdoor_platform.audit import Entry, client_actor
from frontdoor_platform.problems import ProblemError

from .. import store
from ..access import audit_trail
from ..domain.people import PersonFacts, demographic_key
from ..models import AuditEntry, ChildReferral, ContactPerson, MashDecision, OutboxEvent, Person
from ..person_keys import Sealing

MAX_CONTACTS = 10_000  # PrivacyRequested.contact_ids' cap
NO_PERSON = "nobody on the people index matches the person named"
ERASURE_REFUSED = (
    "A child named has a safeguarding referral, or a contact that names them was decided as one (a statutory "
    "social care decision about a child): the case records of that referral are kept for their period (UK GDPR "
    "Art. 17(3)(b), a legal obligation; Children Act 1989 s.17 and s.47), and with them the personal data every "
    "service holds about the people they name. The authority's records manager decides when that record may go.")
ERASURE_PENDING = ("an erasure of the person named is waiting to be applied: a correction now could write their "
                   "details back; ask again once the erasure is answered (they are then found by nothing)")
ERASURE_REQUESTED = "privacy.erasure_requested"  # audited per person: target person:<id>
UNMATCHED, UNMATCHED_TARGET = "privacy.unmatched", "privacy-request:unmatched"
MISSES_ALLOWED, MISS_WINDOW = 10, timedelta(minutes=1)  # a key's unmatched requests, then 429
TOO_MANY_MISSES = ("too many requests from this key matched nobody in the last minute: nothing was looked up; "
                   "retry after Retry-After")
IN_CHUNK = 1000  # ids in one IN (...) list
DEMOGRAPHICS = ("given_name", "family_name", "date_of_birth", "postcode")
IDENTIFIERS = ("nhs_number", "upn")


class Corrections(BaseModel):
    """What a rectification changes (only what is given)."""

    model_config = ConfigDict(extra="forbid")

    given_name: Name | None = None
    family_name: Name | None = None
    date_of_birth: DateOfBirth | None = None
    postcode: Postcode | None = None
    nhs_number: NhsNumber | None = None
    upn: Upn | None = None


class PrivacyRequestBody(BaseModel):
    """The person is named one way: `nhs_number`, or `upn`, or all of `given_name`, `family_name`,
    `date_of_birth` and `postcode`. `corrections` for a rectify, and only then."""

    model_config = ConfigDict(extra="forbid")

    kind: PrivacyKind
    reply_key: str = Field(min_length=44, max_length=44, pattern=BASE64,
                           description="The requester's one-off X25519 public key (base64 of 32 bytes): every "
                                       "service's part of an access export is sealed to it")
    nhs_number: NhsNumber | None = None
    upn: Upn | None = None
    given_name: Name | None = None
    family_name: Name | None = None
    date_of_birth: DateOfBirth | None = None
    postcode: Postcode | None = None
    corrections: Corrections | None = None

    @field_validator("reply_key")
    @classmethod
    def _usable_x25519_key(cls, value: str) -> str:
        if not usable_reply_key(value):
            raise PydanticCustomError("not_x25519_key", "is not a usable X25519 public key (32 bytes, not a "
                                                        "low-order point): every service's answer is sealed to it")
        return value


def usable_reply_key(text: str) -> bool:
    """An exchange with the key works: 32 bytes, and not a low-order point (whose shared secret is all zeros,
    refused by `cryptography`: every service sealing an answer to it would fail)."""
    try:
        public = X25519PublicKey.from_public_bytes(base64.b64decode(text, validate=True))
        X25519PrivateKey.generate().exchange(public)
    except ValueError:  # binascii.Error is one
        return False
    return True


class PrivacyAccepted(BaseModel):
    request_id: uuid.UUID
    kind: PrivacyKind
    people: int = Field(description="How many people on the index the request is about")
    services: list[str] = Field(description="The services that will answer on privacy.replies.v1")
    erasure_refused: str | None = Field(default=None, description="Why an erasure is refused for every class")


def _invalid(field: str, rule: str, message: str) -> InvalidEvent:
    return InvalidEvent("invalid_request", [FieldError(field, rule, message)])


def check(body: PrivacyRequestBody) -> None:
    """The rules across fields (422 naming the field and the rule)."""
    given = [name for name in (*IDENTIFIERS, *DEMOGRAPHICS) if getattr(body, name) is not None]
    demographics = [name for name in given if name in DEMOGRAPHICS]
    if demographics and len(demographics) < len(DEMOGRAPHICS):
        missing = next(name for name in DEMOGRAPHICS if name not in demographics)
        raise _invalid(missing, "missing", "a person named by name is named by given_name, family_name, "
                                           "date_of_birth and postcode together")
    ways = sum(1 for name in IDENTIFIERS if name in given) + (1 if demographics else 0)
    if ways != 1:
        raise _invalid("", "one_way", "name the person one way: nhs_number, or upn, or given_name, family_name, "
                                      "date_of_birth and postcode")
    if body.kind is PrivacyKind.RECTIFY:
        if body.corrections is None or not body.corrections.model_dump(exclude_none=True):
            raise _invalid("corrections", "missing", "a rectify says what to correct")
    elif body.corrections is not None:
        raise _invalid("corrections", "not_allowed", "corrections are for a rectify")


@dataclass(frozen=True)
class Found:
    people: list[Person]
    family_ids: list[uuid.UUID]
    contact_ids: list[uuid.UUID]
    referred: bool  # an erasure: a safeguarding referral among them or their contacts (`_safeguarding`)


def find(session: Session, body: PrivacyRequestBody) -> Found | None:
    """The people the body names (never an erased one), their families and contacts; None: nobody."""
    if body.nhs_number is not None:
        people = [p for p in [store.person_by_nhs(session, body.nhs_number)] if p is not None]
    elif body.upn is not None:
        people = [p for p in [store.person_by_upn(session, body.upn)] if p is not None]
    else:
        assert body.given_name and body.family_name and body.postcode
        key = demographic_key(PersonFacts(body.given_name, body.family_name, body.date_of_birth,
                                          postcode=body.postcode))
        people = [*store.people_by_demographics(session, key, "child"),
                  *store.people_by_demographics(session, key, "adult")]
    people = [p for p in people if p.erased_at is None]
    if not people:
        return None
    ids = [p.id for p in people]
    families = store.families_with_merged(session, [p.family_id for p in people if p.family_id is not None])
    query = select(ContactPerson.contact_id).where(col(ContactPerson.person_id).in_(ids)).distinct()
    contacts = sorted(session.exec(query).all())
    referred = body.kind is PrivacyKind.ERASE and _safeguarding(session, ids, contacts)
    return Found(people, families, contacts, referred)


def _safeguarding(session: Session, person_ids: list[uuid.UUID], contact_ids: Sequence[uuid.UUID]) -> bool:
    """A child among the people has a safeguarding referral, or any contact that names them (whoever they are
    on it: a child, a parent, a sibling) is a referral: its decision was one, or a child on it was referred."""
    def any_row(query: Any) -> bool:
        return session.exec(query.limit(1)).first() is not None

    if any_row(select(ChildReferral.child_id).where(col(ChildReferral.child_id).in_(person_ids))):
        return True
    referrals = [decision.value for decision in REFERRAL_DECISIONS]
    for start in range(0, len(contact_ids), IN_CHUNK):
        chunk = list(contact_ids[start:start + IN_CHUNK])
        if any_row(select(ChildReferral.contact_id).where(col(ChildReferral.contact_id).in_(chunk))) or any_row(
                select(MashDecision.contact_id).where(col(MashDecision.contact_id).in_(chunk), or_(
                    col(MashDecision.referral).is_(True), col(MashDecision.decision).in_(referrals)))):
            return True
    return False


def _erasure_pending(session: Session, people: Sequence[Person]) -> bool:
    """An erasure not refused was asked for one of them (they are not erased: `find` finds nobody erased)."""
    targets = [f"person:{p.id}" for p in people]
    asked = select(AuditEntry.id).where(col(AuditEntry.target).in_(targets),
                                        col(AuditEntry.action) == ERASURE_REQUESTED)
    return session.exec(asked).first() is not None


def _check_corrections(session: Session, found: Found, corrections: Corrections) -> None:
    """An identifier is one person's: a correction that gives one to several people, or to a person while
    another holds it, is refused (naming the field)."""
    ids = {p.id for p in found.people}
    for name, lookup in (("nhs_number", store.person_by_nhs), ("upn", store.person_by_upn)):
        value = getattr(corrections, name)
        if value is None:
            continue
        if len(found.people) > 1:
            raise _invalid(f"corrections.{name}", "one_person", "an identifier is corrected for one person: "
                                                                "name them by NHS number or UPN")
        holder = lookup(session, value)
        if holder is not None and holder.id not in ids:
            raise ProblemError(409, "another person on the index holds this identifier", [FieldError(
                f"corrections.{name}", "held_by_another", "another person on the index holds it")])


def build(found: Found, body: PrivacyRequestBody, requested_by: str, sealing: Sealing,
          now: datetime) -> PrivacyRequested:
    request_id = uuid.uuid4()
    corrections = body.corrections.model_dump(mode="json", exclude_none=True) if body.corrections else None
    shares: dict[str, dict[str, Any]] = {
        NOTIFICATIONS: {"upns": sorted(p.upn for p in found.people if p.upn)}}
    if corrections is not None:
        shares[NOTIFICATIONS]["corrections"] = corrections
        shares[CONTACTS] = {"corrections": corrections}
    sealed_for = {service: seal(sealing.services[service].key, request_id, share,
                                sealed_context(request_id, service))
                  for service, share in shares.items()}
    refused = ERASURE_REFUSED if body.kind is PrivacyKind.ERASE and found.referred else None
    return PrivacyRequested(
        request_id=request_id, kind=body.kind, requested_by=requested_by[:100], requested_at=now,
        reply_key=body.reply_key, person_ids=[p.id for p in found.people], family_ids=found.family_ids,
        contact_ids=found.contact_ids, sealed_for=sealed_for, erasure_refused=refused)


def _within_caps(found: Found) -> None:
    if len(found.people) > MAX_PEOPLE or len(found.family_ids) > MAX_PEOPLE or len(found.contact_ids) > MAX_CONTACTS:
        raise _invalid("", "too_many", "the person named matches more records than one request carries: name them "
                                       "by NHS number or UPN")


class NobodyMatched(ProblemError):
    """404: nobody matched. Its audit entry is in the session: the caller commits it, then answers."""


def submit(session: Session, body: PrivacyRequestBody, who: Caller, sealing: Sealing, source_uri: str,
           now: datetime) -> PrivacyAccepted:
    """Check, find, build and put the request in the outbox with its audit entries; the caller commits
    (on `NobodyMatched` too: the miss is audited)."""
    check(body)
    actor = client_actor(who)
    _within_misses(session, actor, now)
    found = find(session, body)
    if found is None:
        audit_trail(source_uri).record(session, actor, UNMATCHED, UNMATCHED_TARGET, None,
                                       {"kind": body.kind.value, "named_by": _named_by(body), "matched": 0}, now)
        raise NobodyMatched(404, NO_PERSON)
    _within_caps(found)
    if body.kind is PrivacyKind.RECTIFY and _erasure_pending(session, found.people):
        raise ProblemError(409, ERASURE_PENDING, [FieldError("kind", "erasure_pending", ERASURE_PENDING)])
    if body.corrections is not None:
        _check_corrections(session, found, body.corrections)
    request = build(found, body, who.name, sealing, now)
    event = new_event(request, source=source_uri, event_id=f"privacy-request:{request.request_id}", time=now)
    outbox.add_event(session, OutboxEvent, PRIVACY_REQUESTS.name, str(request.request_id), event, now)
    entries = [Entry(actor, "privacy.requested", f"privacy-request:{request.request_id}", None, _audited(request), now)]
    if request.kind is PrivacyKind.ERASE and request.erasure_refused is None:
        entries += [Entry(actor, ERASURE_REQUESTED, f"person:{person_id}", None,
                          {"request_id": str(request.request_id)}, now) for person_id in request.person_ids]
    audit_trail(source_uri).record_all(session, entries)
    return PrivacyAccepted(request_id=request.request_id, kind=request.kind, people=len(request.person_ids),
                           services=list(PRIVACY_REQUESTS.consumers), erasure_refused=request.erasure_refused)


def _within_misses(session: Session, actor: str, now: datetime) -> None:
    """429 (Retry-After: until the oldest miss in the window leaves it) when the key's requests matched nobody
    `MISSES_ALLOWED` times in the last `MISS_WINDOW`; counted from the audit, so every worker agrees."""
    recent = session.exec(select(AuditEntry.at).where(
        col(AuditEntry.target) == UNMATCHED_TARGET, col(AuditEntry.actor) == actor,
        col(AuditEntry.at) > now - MISS_WINDOW).order_by(col(AuditEntry.at)).limit(MISSES_ALLOWED)).all()
    if len(recent) >= MISSES_ALLOWED:
        wait = math.ceil((recent[0] + MISS_WINDOW - now).total_seconds())
        raise ProblemError(429, TOO_MANY_MISSES, headers={"Retry-After": str(max(1, wait))})


def _named_by(body: PrivacyRequestBody) -> str:
    """How the person was named (the field, never its value)."""
    return next((name for name in IDENTIFIERS if getattr(body, name) is not None), "name")


def _audited(request: PrivacyRequested) -> dict[str, Any]:
    """Ids and counts only: who the request is about, never how they were named."""
    return {"kind": request.kind.value, "person_ids": [str(i) for i in request.person_ids],
            "family_ids": [str(i) for i in request.family_ids], "contacts": len(request.contact_ids),
            "erasure_refused": request.erasure_refused is not None}
