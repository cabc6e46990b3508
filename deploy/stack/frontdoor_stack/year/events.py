"""What the generated year asks the player to do, in business time order:
plain frozen dataclasses, the player's whole interface.

- `Publish`: send `value` (a CloudEvent, structured JSON, already encoded)
  with `key` to `topic` at the business instant `at`.
- `CaseMove`: `POST /v1/cases/{case}/{move.path}` on the allocation service
  with `body` at `at` (the body names its own time where the API takes one).
  The case is found through `CaseRef` (see there).
- `Acknowledge`: the school `school_urn`'s key adult acknowledges the DA
  notification about child `child_ref` of the incident `police_reference`
  (`POST /v1/inbox/{id}/acknowledgement` as that school, the id found in its
  inbox by the police reference and the child), at `at`.
- `Expect`: something the platform does by itself at `at` (a case opened by
  a decision or by an identification in data). Nothing to send; a player may
  wait for it before the moves on that case.

Every event carries `fact`: what it means for the KPIs, read by
`expected.py` only (ids of the generator's own people, no names). Nothing
here holds more personal data than the wire values themselves, which are
synthetic (999 NHS numbers, ZZ99 postcodes)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from frontdoor_contracts.vocabulary import CaseSource, ClosureOutcome, Decision


class Move(StrEnum):
    ALLOCATE = "allocation"
    OFFER = "offer"
    ANSWER = "answer"
    STEP_UP = "step-up"
    CLOSE = "closure"


@dataclass(frozen=True)
class PartnerRecordRef:
    """A partner record as published: its CloudEvent source, dataset and record_ref."""

    source: str
    dataset: str
    record_ref: str


@dataclass(frozen=True)
class CaseRef:
    """How the player finds a case on the live platform, first that applies:

    - `case_id`: known in advance (a case a MASH decision opened: the
      allocation service derives its id from the contacts service's
      `contacts.decided.v1` event, whose id derives from the contact);
    - `contact_id`: the open case of the family of this contact (read the
      family id from the contacts service's `GET /v1/contacts/{id}`; a
      family has at most one open case);
    - `partner_records`: the open case of the family these partner records
      were matched to (a family known only from data: its family id is on
      `contacts.partner-fact-matched.v1`, whose fact id derives from the
      record's source, dataset and record_ref).

    `key` names the case inside the generated year (stable for a seed)."""

    key: str
    source: CaseSource
    case_id: uuid.UUID | None = None
    contact_id: uuid.UUID | None = None
    partner_records: tuple[PartnerRecordRef, ...] = ()


# --- facts: what an event means, for expected.py ------------------------------------------------------------------

@dataclass(frozen=True)
class ContactFact:
    contact_id: uuid.UUID
    family: str
    children: tuple[str, ...]  # the generator's child keys
    received_at: datetime
    referrer_source: str
    da_incident: bool
    school_children: int = 0  # children of the incident with a school (a DA notification each)
    school_day_next: bool = False  # reported before a school day (False: in a holiday or weekend run)


@dataclass(frozen=True)
class DecisionFact:
    contact_id: uuid.UUID
    family: str
    children: tuple[str, ...]
    decision: Decision
    decided_at: datetime


@dataclass(frozen=True)
class CaseFact:
    case: str
    family: str
    children: tuple[str, ...]
    source: CaseSource
    started_at: datetime
    due_at: datetime
    offered_at: datetime | None = None
    closed_at: datetime | None = None
    outcome: ClosureOutcome | None = None
    stepped_up: bool = False


@dataclass(frozen=True)
class AchievedFact:
    """A family's plan met every target and held it (significant and sustained progress)."""

    family: str
    case: str
    achieved_at: datetime


@dataclass(frozen=True)
class AckFact:
    late: bool


Fact = ContactFact | DecisionFact | CaseFact | AchievedFact | AckFact | None


@dataclass(frozen=True)
class Publish:
    at: datetime
    topic: str
    key: str
    value: bytes
    fact: Fact = None


@dataclass(frozen=True)
class CaseMove:
    at: datetime
    case: CaseRef
    move: Move
    body: dict[str, Any]
    fact: Fact = None


@dataclass(frozen=True)
class Acknowledge:
    at: datetime
    school_urn: str
    police_reference: str
    child_ref: str
    fact: Fact = None


@dataclass(frozen=True)
class Expect:
    at: datetime
    what: str  # "case-opened"
    case: CaseRef
    fact: Fact = None


YearEvent = Publish | CaseMove | Acknowledge | Expect
