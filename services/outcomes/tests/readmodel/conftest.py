"""The KPI read model on a real database (SQLite file and PostgreSQL, the
`database_url` fixture of the frontdoor-stack pytest plugin), migrated the
service's way, and a kit that builds the consumed events with `new_event`
and applies them."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

from frontdoor_contracts import retention
from frontdoor_contracts.allocation import CaseAllocated, CaseClosed, CaseOpened, OfferMade
from frontdoor_contracts.contacts import (
    ContactDecided,
    ContactRecorded,
    DecidedChild,
    FamiliesMerged,
    RecordedChild,
    ReReferralCorrected,
)
from frontdoor_contracts.envelope import CloudEvent, EventData, new_event
from frontdoor_contracts.notifications import Channel as DeliveryChannel
from frontdoor_contracts.notifications import NotificationDelivered, NotificationKind
from frontdoor_contracts.outcomes import ClaimEligible, FamilyIdentified, OutcomeAchieved
from frontdoor_contracts.topics import (
    ALLOCATION_CASE_ALLOCATED,
    ALLOCATION_CASE_CLOSED,
    ALLOCATION_CASE_OPENED,
    ALLOCATION_OFFER_MADE,
    CONTACTS_DECIDED,
    CONTACTS_FAMILIES_MERGED,
    CONTACTS_RE_REFERRAL_CORRECTED,
    CONTACTS_RECORDED,
    NOTIFICATIONS_DELIVERED,
    OUTCOMES_CLAIM_ELIGIBLE,
    OUTCOMES_FAMILY_IDENTIFIED,
    OUTCOMES_OUTCOME_ACHIEVED,
)
from frontdoor_contracts.vocabulary import (
    REFERRAL_DECISIONS,
    AgencyKind,
    CaseSource,
    Channel,
    ClosureOutcome,
    Concern,
    Decision,
    HeadlineProblem,
    LevelOfNeed,
    ReferrerSource,
    TargetCalendar,
)
from frontdoor_platform.database import build_engine, for_writing
from outcomes.domain.thresholds import Thresholds
from outcomes.metrics import Metrics
from outcomes.migrations import migrate
from outcomes.readmodel import privacy
from outcomes.readmodel.apply import apply
from outcomes.readmodel.report import kpi_report
from outcomes.readmodel.report_models import KpiReport
from outcomes.settings import Settings
from outcomes.stream.agents import FaustStream
from outcomes.stream.processor import Processor

Item = tuple[str, CloudEvent[Any]]
STREAM_NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)  # the `stream` fixture's clock


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    built = build_engine(database_url)
    migrate(built)
    yield built
    built.dispose()


def _event(topic: str, data: EventData, at: datetime, event_id: str | None) -> Item:
    return topic, new_event(data, source=f"urn:test:{topic}", time=at, event_id=event_id)


class Kit:
    """Builds each consumed event (ids only, as the producers publish them) and applies them."""

    def __init__(self, engine: Engine):
        self.engine = engine

    def apply(self, items: Iterable[Item]) -> list[bool]:
        with Session(for_writing(self.engine)) as session:
            changed = [apply(session, topic, event) for topic, event in items]
            session.commit()
        return changed

    def report(self, start: datetime, end: datetime, now: datetime) -> KpiReport:
        with Session(self.engine) as session:
            return kpi_report(session, start, end, now)

    @staticmethod
    def recorded(contact_id: uuid.UUID, family_id: uuid.UUID, source: ReferrerSource, at: datetime,
                 children: list[uuid.UUID], event_id: str | None = None) -> Item:
        return _event(CONTACTS_RECORDED.name, ContactRecorded(
            contact_id=contact_id, family_id=family_id, referrer_source=source, channel=Channel.KAFKA,
            received_at=at, children=[RecordedChild(child_id=c) for c in children], adult_count=1,
            concerns=[Concern.NEGLECT], da_incident=False), at, event_id)

    @staticmethod
    def decided(contact_id: uuid.UUID, family_id: uuid.UUID, decision: Decision, at: datetime,
                children: list[tuple[uuid.UUID, bool]], event_id: str | None = None) -> Item:
        """`children`: (child id, re-referral flag); the referral flag follows the decision."""
        referral = decision in REFERRAL_DECISIONS
        flags = [DecidedChild(child_id=c, referral=referral, re_referral=referral and again) for c, again in children]
        return _event(CONTACTS_DECIDED.name, ContactDecided(
            contact_id=contact_id, family_id=family_id, decision=decision, level_of_need=LevelOfNeed.TARGETED,
            decided_at=at, referrer_source=ReferrerSource.SCHOOL, concerns=[Concern.NEGLECT], children=flags,
            referral=referral, re_referral=any(f.re_referral for f in flags)), at, event_id)

    @staticmethod
    def corrected(contact_id: uuid.UUID, child_id: uuid.UUID, decided_at: datetime, at: datetime,
                  event_id: str | None = None) -> Item:
        return _event(CONTACTS_RE_REFERRAL_CORRECTED.name, ReReferralCorrected(
            contact_id=contact_id, child_id=child_id, re_referral=True, decided_at=decided_at,
            because_of_contact_id=uuid.uuid4(), corrected_at=at), at, event_id)

    @staticmethod
    def merged(family_id: uuid.UUID, merged: list[uuid.UUID], at: datetime, event_id: str | None = None) -> Item:
        return _event(CONTACTS_FAMILIES_MERGED.name, FamiliesMerged(
            family_id=family_id, merged_family_ids=merged, contact_id=uuid.uuid4(), merged_at=at), at, event_id)

    @staticmethod
    def _case(case_id: uuid.UUID, family_id: uuid.UUID, source: CaseSource, started: datetime) -> dict[str, Any]:
        return dict(case_id=case_id, family_id=family_id, source=source, started_at=started,
                    due_at=started + timedelta(days=14))

    @classmethod
    def opened(cls, case_id: uuid.UUID, family_id: uuid.UUID, source: CaseSource, at: datetime,
               children: list[uuid.UUID], problems: list[HeadlineProblem] | None = None,
               event_id: str | None = None) -> Item:
        return _event(ALLOCATION_CASE_OPENED.name, CaseOpened(
            **cls._case(case_id, family_id, source, at), opened_at=at, child_ids=children,
            headline_problems=problems or [], target_days=10, target_calendar=TargetCalendar.WORKING_DAYS),
            at, event_id)

    @classmethod
    def allocated(cls, case_id: uuid.UUID, family_id: uuid.UUID, at: datetime, agency_id: str, kind: AgencyKind,
                  event_id: str | None = None) -> Item:
        return _event(ALLOCATION_CASE_ALLOCATED.name, CaseAllocated(
            **cls._case(case_id, family_id, CaseSource.EARLY_HELP_DECISION, at - timedelta(days=3)),
            allocated_at=at, lead_agency_id=agency_id, agency_kind=kind, lead_professional_ref="staff-1",
            allocated_by="coord-1", at_meeting=True), at, event_id)

    @classmethod
    def offered(cls, case_id: uuid.UUID, family_id: uuid.UUID, at: datetime, days: int, within: bool,
                kind: AgencyKind = AgencyKind.SCHOOL, event_id: str | None = None) -> Item:
        return _event(ALLOCATION_OFFER_MADE.name, OfferMade(
            **cls._case(case_id, family_id, CaseSource.EARLY_HELP_DECISION, at - timedelta(days=days)),
            offered_at=at, lead_agency_id="agency-1", agency_kind=kind, days_taken=days,
            target_calendar=TargetCalendar.WORKING_DAYS, within_target=within), at, event_id)

    @classmethod
    def closed(cls, case_id: uuid.UUID, family_id: uuid.UUID, at: datetime, outcome: ClosureOutcome,
               children: list[uuid.UUID], event_id: str | None = None) -> Item:
        return _event(ALLOCATION_CASE_CLOSED.name, CaseClosed(
            **cls._case(case_id, family_id, CaseSource.EARLY_HELP_DECISION, at - timedelta(days=90)),
            closed_at=at, outcome=outcome, child_ids=children, lead_agency_id="agency-1",
            agency_kind=AgencyKind.LA_EARLY_HELP, closed_by="staff-1"), at, event_id)

    @staticmethod
    def delivered(notification_id: uuid.UUID, kind: NotificationKind, at: datetime, before: bool | None,
                  event_id: str | None = None) -> Item:
        return _event(NOTIFICATIONS_DELIVERED.name, NotificationDelivered(
            notification_id=notification_id, kind=kind, recipient="100000", channel=DeliveryChannel.WEBHOOK,
            delivered_at=at, deadline=None if before is None else at + timedelta(hours=1 if before else -1),
            before_deadline=before, attempts=1), at, event_id)

    @staticmethod
    def identified(family_id: uuid.UUID, children: list[uuid.UUID], problems: list[HeadlineProblem], at: datetime,
                   event_id: str | None = None) -> Item:
        return _event(OUTCOMES_FAMILY_IDENTIFIED.name, FamilyIdentified(
            family_id=family_id, child_ids=children, headline_problems=problems, identified_at=at), at, event_id)

    @staticmethod
    def achieved(family_id: uuid.UUID, case_id: uuid.UUID, at: datetime, event_id: str | None = None) -> Item:
        return _event(OUTCOMES_OUTCOME_ACHIEVED.name, OutcomeAchieved(
            family_id=family_id, case_id=case_id, plan=[HeadlineProblem.SCHOOL_ATTENDANCE],
            progress_since=(at - timedelta(days=180)).date(), achieved_at=at), at, event_id)

    @staticmethod
    def claim(family_id: uuid.UUID, case_id: uuid.UUID, basis: str, at: datetime, event_id: str | None = None) -> Item:
        return _event(OUTCOMES_CLAIM_ELIGIBLE.name, ClaimEligible(
            family_id=family_id, case_id=case_id, basis=basis, eligible_at=at), at, event_id)


@pytest.fixture
def kit(engine: Engine) -> Kit:
    return Kit(engine)


class _Relay:
    def wake(self) -> None:
        pass


@pytest.fixture
def stream(engine: Engine, tmp_path: Path) -> Iterator[FaustStream]:
    """The live stream's batch logic (`FaustStream._handle`) on the test's database, its faust tables plain dicts
    (a table needs a running app only to write its changelog), its clock fixed at STREAM_NOW, privacy requests
    answered as the service does."""
    built = FaustStream(Settings(stream_data_dir=tmp_path / "stream"), engine, _Relay(),  # type: ignore[arg-type]
                        Metrics(), lambda: STREAM_NOW, Thresholds(),
                        privacy=privacy.responder("urn:frontdoor:outcomes", retention.default()))
    built.families, built.aliases, built.counts = {}, {}, defaultdict(int)  # type: ignore[assignment]
    built.processor = Processor(built.families, built.aliases, Thresholds(), "urn:frontdoor:outcomes")
    yield built
