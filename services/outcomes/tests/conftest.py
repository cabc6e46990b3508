"""A family's story across the platform, as the producers publish it (ids,
categories and times), for the chronology's tests: the stream's, the API's
and the page's."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, ClassVar

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

from frontdoor_contracts.allocation import CaseAllocated, CaseClosed, CaseOpened, OfferAnswered, OfferMade
from frontdoor_contracts.contacts import (
    ContactDecided,
    ContactRecorded,
    DecidedChild,
    FamiliesMerged,
    RecordedChild,
    ReReferralCorrected,
)
from frontdoor_contracts.envelope import CloudEvent, EventData, encode_event, new_event
from frontdoor_contracts.notifications import Channel as NotificationChannel
from frontdoor_contracts.notifications import NotificationAcknowledged, NotificationDelivered, NotificationKind
from frontdoor_contracts.partners import AttendanceMeasure, PartnerFactMatched
from frontdoor_contracts.topics import (
    ALLOCATION_CASE_ALLOCATED,
    ALLOCATION_CASE_CLOSED,
    ALLOCATION_CASE_OPENED,
    ALLOCATION_OFFER_ANSWERED,
    ALLOCATION_OFFER_MADE,
    CONTACTS_DECIDED,
    CONTACTS_FAMILIES_MERGED,
    CONTACTS_PARTNER_FACT_MATCHED,
    CONTACTS_RE_REFERRAL_CORRECTED,
    CONTACTS_RECORDED,
    NOTIFICATIONS_ACKNOWLEDGED,
    NOTIFICATIONS_DELIVERED,
)
from frontdoor_contracts.vocabulary import (
    AgencyKind,
    CaseSource,
    Channel,
    ClosureOutcome,
    Concern,
    Decision,
    HeadlineProblem,
    LevelOfNeed,
    OfferAnswer,
    ReferrerSource,
    SchoolTerm,
    TargetCalendar,
)
from frontdoor_platform.database import for_writing
from frontdoor_platform.routes import Incoming
from outcomes.domain.thresholds import Thresholds
from outcomes.stream import ledger
from outcomes.stream.processor import Processor

Item = tuple[str, CloudEvent[Any]]
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
HOUR, DAY = timedelta(hours=1), timedelta(days=1)


def _event(topic: str, data: EventData, at: datetime) -> Item:
    return topic, new_event(data, source=f"urn:test:{topic.split('.')[0]}", time=at)


@dataclass
class Story:
    """One family: a school's contact about two children, Early Help decided, a case opened, allocated to
    `agency`, offered, accepted and closed, a partner's attendance fact, a re-referral flag corrected."""

    # In the order the family's chronology shows them (the plan from the family's picture, at the case's opening).
    KINDS: ClassVar[list[str]] = [
        "contact_recorded", "contact_decided", "case_opened", "plan_made", "partner_fact", "case_allocated",
        "offer_made", "offer_answered", "re_referral_corrected", "case_closed"]
    # With the school told of a DA incident (`school_told`): notified the evening of the contact, acknowledged
    # the next morning.
    TOLD_KINDS: ClassVar[list[str]] = [
        "contact_recorded", "school_notified", "contact_decided", "case_opened", "plan_made", "school_acknowledged",
        *KINDS[4:]]

    agency: str = "agency-1"
    start: datetime = T0
    family_id: uuid.UUID = field(default_factory=uuid.uuid4)
    contact_id: uuid.UUID = field(default_factory=uuid.uuid4)
    case_id: uuid.UUID = field(default_factory=uuid.uuid4)
    children: list[uuid.UUID] = field(default_factory=lambda: [uuid.uuid4(), uuid.uuid4()])
    offsets: dict[str, int] = field(default_factory=dict)  # each topic's next offset (`records`)
    pictures: dict[str, Any] = field(default_factory=dict)  # the families' pictures (`fed`)
    aliases: dict[str, str] = field(default_factory=dict)

    def case(self, started: datetime) -> dict[str, Any]:
        return dict(case_id=self.case_id, family_id=self.family_id, source=CaseSource.EARLY_HELP_DECISION,
                    started_at=started, due_at=started + 14 * DAY)

    def events(self) -> list[Item]:
        t, decided_at = self.start, self.start + 2 * HOUR
        case = self.case(decided_at)
        return [
            _event(CONTACTS_RECORDED.name, ContactRecorded(
                contact_id=self.contact_id, family_id=self.family_id, referrer_source=ReferrerSource.SCHOOL,
                channel=Channel.KAFKA, received_at=t, children=[RecordedChild(child_id=c) for c in self.children],
                adult_count=1, concerns=[Concern.NEGLECT, Concern.SCHOOL_ATTENDANCE], da_incident=False), t),
            _event(CONTACTS_DECIDED.name, ContactDecided(
                contact_id=self.contact_id, family_id=self.family_id, decision=Decision.EARLY_HELP,
                level_of_need=LevelOfNeed.TARGETED, decided_at=decided_at, referrer_source=ReferrerSource.SCHOOL,
                concerns=[Concern.NEGLECT], referral=False, re_referral=False,
                children=[DecidedChild(child_id=c, referral=False, re_referral=False) for c in self.children]),
                decided_at),
            _event(ALLOCATION_CASE_OPENED.name, CaseOpened(
                **case, opened_at=decided_at, child_ids=self.children, contact_id=self.contact_id,
                decision=Decision.EARLY_HELP, level_of_need=LevelOfNeed.TARGETED, concerns=[Concern.NEGLECT],
                headline_problems=[HeadlineProblem.SCHOOL_ATTENDANCE], target_days=10,
                target_calendar=TargetCalendar.WORKING_DAYS), decided_at),
            _event(CONTACTS_PARTNER_FACT_MATCHED.name, PartnerFactMatched(
                fact_id=uuid.uuid4(), person_id=self.children[0], family_id=self.family_id, is_child=True,
                person_created=False, matched_at=t + DAY, measure=AttendanceMeasure(
                    academic_year="2025/26", term=SchoolTerm.SPRING, term_starts_on=date(2026, 1, 5),
                    sessions_possible=100, unauthorised_absences=20, fixed_term_exclusions=0)), t + DAY),
            _event(ALLOCATION_CASE_ALLOCATED.name, CaseAllocated(
                **case, allocated_at=t + 3 * DAY, lead_agency_id=self.agency, agency_kind=AgencyKind.SCHOOL,
                lead_professional_ref="lp-7", allocated_by="coordinator-1", at_meeting=True), t + 3 * DAY),
            _event(ALLOCATION_OFFER_MADE.name, OfferMade(
                **case, offered_at=t + 5 * DAY, lead_agency_id=self.agency, agency_kind=AgencyKind.SCHOOL,
                days_taken=4, target_calendar=TargetCalendar.WORKING_DAYS, within_target=True), t + 5 * DAY),
            _event(ALLOCATION_OFFER_ANSWERED.name, OfferAnswered(
                **case, answer=OfferAnswer.ACCEPTED, offered_at=t + 5 * DAY, answered_at=t + 6 * DAY,
                lead_agency_id=self.agency, agency_kind=AgencyKind.SCHOOL), t + 6 * DAY),
            _event(CONTACTS_RE_REFERRAL_CORRECTED.name, ReReferralCorrected(
                contact_id=self.contact_id, child_id=self.children[1], re_referral=True, decided_at=decided_at,
                because_of_contact_id=uuid.uuid4(), corrected_at=t + 7 * DAY), t + 7 * DAY),
            _event(ALLOCATION_CASE_CLOSED.name, CaseClosed(
                **case, closed_at=t + 90 * DAY, outcome=ClosureOutcome.POSITIVE_OUTCOME, child_ids=self.children,
                lead_agency_id=self.agency, agency_kind=AgencyKind.SCHOOL, closed_by="lp-7"), t + 90 * DAY),
        ]

    def reallocated(self, agency: str, at: datetime) -> Item:
        return _event(ALLOCATION_CASE_ALLOCATED.name, CaseAllocated(
            **self.case(self.start + 2 * HOUR), allocated_at=at, lead_agency_id=agency,
            agency_kind=AgencyKind.VOLUNTARY_SECTOR, lead_professional_ref="lp-8", allocated_by="coordinator-1",
            at_meeting=False), at)

    def school_told(self, *, ids: bool = True) -> list[Item]:
        """The first child's school notified of a DA incident the evening of the contact and acknowledging it
        the next morning, as notifications publishes them (`ids=False`: an older producer's, naming no contact
        or child)."""
        delivered_at, acknowledged_at = self.start + 1 * HOUR, self.start + 22 * HOUR
        deadline, notification_id = self.start + 23 * HOUR, uuid.uuid4()
        about: dict[str, Any] = dict(contact_id=self.contact_id, child_id=self.children[0]) if ids else {}
        common = dict(notification_id=notification_id, kind=NotificationKind.DA_INCIDENT, recipient="100001",
                      deadline=deadline, before_deadline=True, **about)
        return [
            _event(NOTIFICATIONS_DELIVERED.name, NotificationDelivered(
                **common, channel=NotificationChannel.WEBHOOK, delivered_at=delivered_at, attempts=1), delivered_at),
            _event(NOTIFICATIONS_ACKNOWLEDGED.name, NotificationAcknowledged(
                **common, acknowledged_by="DSL-0042", acknowledged_at=acknowledged_at), acknowledged_at),
        ]

    def merged_into(self, family_id: uuid.UUID, at: datetime) -> Item:
        return _event(CONTACTS_FAMILIES_MERGED.name, FamiliesMerged(
            family_id=family_id, merged_family_ids=[self.family_id], contact_id=uuid.uuid4(), merged_at=at), at)


    def records(self, items: list[Item], *, replay: bool = False) -> list[Incoming]:
        """The events as the stream reads them: partition 0 of each topic, at the topic's next offsets (the
        stream reads a gap above its offsets from the broker); `replay`: at the offsets from 0 again, as faust
        hands a batch over again after a crash."""
        offsets: dict[str, int] = {} if replay else self.offsets
        found = []
        for topic, event in items:
            offset = offsets.get(topic, 0)
            offsets[topic] = offset + 1
            found.append(Incoming(topic, 0, offset, b"k", encode_event(event)))
        return found


def feed(engine: Engine, story: Story, items: list[Item], now: datetime) -> None:
    """The events through the stream's logic and its SQL side (`ledger.record`: facts, chronology, views), as
    one batch; the pictures held by the story between batches."""
    processor = Processor(story.pictures, story.aliases, Thresholds(), "urn:frontdoor:outcomes", objects=True)
    steps = [processor.step(incoming) for incoming in story.records(items)]
    with Session(for_writing(engine)) as session:
        ledger.record(session, steps, Thresholds(), now)
        session.commit()
    processor.commit()


@pytest.fixture
def fed() -> Any:
    """`fed(engine, story, items, now)`: the events applied as the live stream applies them."""
    return feed


@pytest.fixture
def story() -> Story:
    return Story()


@pytest.fixture
def new_story() -> type[Story]:
    """Another family's story: `new_story(agency="agency-2")`."""
    return Story
