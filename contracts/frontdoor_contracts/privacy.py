"""Subject access, erasure and rectification, as events.

An admin asks the contacts service (`POST /v1/privacy/requests`, the admin
role; `frontdoor-stack privacy access|erase|rectify` calls it), naming the
person by NHS number, UPN, or name + date of birth + postcode. The contacts
service owns the people index, so it finds the people meant and publishes
one `PrivacyRequested` on `privacy.requests.v1`: ids only in clear; each
service's share of the person's identifiers (what it needs to find its own
copies, e.g. UPNs for a school roll) and any corrections sealed with that
service's wrapping key. Every service, contacts included, answers once on
`privacy.replies.v1` (`PrivacyAnswered`): per class of the retention
schedule, what it did, with its part of the export sealed to the
requester's one-off public key. The command waits for all four answers.

Erasure is refused where the schedule keeps a class (`on_request = "keep"`,
with the reason), and for every class while a child has a safeguarding
referral (`erasure_refused`, set by contacts: a statutory referral is a
case record, kept for its period)."""

from __future__ import annotations

import uuid
from enum import StrEnum
from typing import ClassVar

from pydantic import AwareDatetime, Field

from .envelope import EventData
from .personal import BASE64, Sealed, SealedReply

MAX_PEOPLE = 50  # people one request may name (a family, at most)


class PrivacyKind(StrEnum):
    ACCESS = "access"
    ERASE = "erase"
    RECTIFY = "rectify"


class ClassAction(StrEnum):
    EXPORTED = "exported"  # access: the class's records are in the sealed part
    ERASED = "erased"  # erase: the person's data in the class is gone (or unreadable: its key destroyed)
    RECTIFIED = "rectified"
    KEPT = "kept"  # erase or rectify refused for this class: `reason` says why (the schedule's words)
    NONE_HELD = "none_held"  # the service holds nothing about the person in this class


class PrivacyRequested(EventData):
    """privacy.requests.v1 (keyed by request_id), published by the contacts service. No personal data in
    clear: the people are named by their ids; what a service needs beyond ids is in `sealed_for`."""

    EVENT_TYPE: ClassVar[str] = "uk.gov.frontdoor.privacy.requested.v1"

    request_id: uuid.UUID
    kind: PrivacyKind
    requested_by: str = Field(min_length=1, max_length=100, description="The admin API client's name")
    requested_at: AwareDatetime
    reply_key: str = Field(min_length=44, max_length=44, pattern=BASE64,
                           description="X25519 public key (base64): every answer's part is sealed to it")
    person_ids: list[uuid.UUID] = Field(max_length=MAX_PEOPLE, description="The people the request is about")
    family_ids: list[uuid.UUID] = Field(max_length=MAX_PEOPLE, description="Their families (merged ids too)")
    contact_ids: list[uuid.UUID] = Field(max_length=10_000, description="Contacts that named them")
    sealed_for: dict[str, Sealed] = Field(
        default_factory=dict,
        description="Per service: identifiers it needs to find its own copies, and corrections for a rectify, "
                    "sealed with that service's wrapping key (key_id is the request_id)")
    erasure_refused: str | None = Field(
        default=None, max_length=500,
        description="Erasure refused for every class, and why (a safeguarding referral keeps the records)")


class ClassAnswer(EventData):
    retention_class: str = Field(min_length=1, max_length=40, description="A class of the retention schedule")
    action: ClassAction
    records: int = Field(ge=0, description="How many records of the class were about the people")
    reason: str | None = Field(default=None, max_length=1000, description="Why kept (the schedule's words)")


class PrivacyAnswered(EventData):
    """privacy.replies.v1 (keyed by request_id): one service's answer to one request, once."""

    EVENT_TYPE: ClassVar[str] = "uk.gov.frontdoor.privacy.answered.v1"

    request_id: uuid.UUID
    service: str = Field(min_length=1, max_length=40)
    kind: PrivacyKind
    answered_at: AwareDatetime
    classes: list[ClassAnswer]
    part: SealedReply | None = Field(default=None, description="access: the service's part of the export "
                                                              "(its records and the reads of them), sealed to the "
                                                              "request's reply_key")


def sealed_context(request_id: uuid.UUID, service: str) -> str:
    """What a service's sealed share of a request is bound to."""
    return f"privacy-request/{request_id}/{service}"


def reply_context(request_id: uuid.UUID, service: str) -> str:
    """What a service's sealed part of the export is bound to."""
    return f"privacy-reply/{request_id}/{service}"
