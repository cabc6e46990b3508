"""Every Kafka topic, declared once: name, partitions, cleanup policy,
replication, the event it carries, its key, who produces and who consumes
it; its retention is the retention schedule's (`retention.toml`: the class
naming the topic). The broker runner, the tests, the compose file and the
AsyncAPI document all read this declaration."""

from __future__ import annotations

from dataclasses import dataclass, field

from .allocation import (
    CaseAllocated,
    CaseClosed,
    CaseOpened,
    OfferAnswered,
    OfferDueSoon,
    OfferMade,
    OfferOverdue,
    StepDownRequested,
    SteppedUp,
)
from .audit import (
    AllocationAuditRecorded,
    ContactsAuditRecorded,
    NotificationsAuditRecorded,
    OutcomesAuditRecorded,
)
from .contacts import (
    ContactDecided,
    ContactRecorded,
    ContactSubmitted,
    DAIncidentReported,
    DecisionSubmitted,
    FamiliesMerged,
    ReReferralCorrected,
)
from .envelope import EventData
from .limits import MAX_RECORD_BYTES
from .notifications import (
    DeliveryFailed,
    NotificationAcknowledged,
    NotificationDelivered,
    NotificationUnacknowledged,
    SchoolUnknown,
)
from .outcomes import ClaimEligible, FamilyIdentified, OutcomeAchieved
from .partners import (
    AttendanceRecorded,
    EmploymentRecorded,
    HealthNeedRecorded,
    OffendingRecorded,
    PartnerFactMatched,
)
from .personal import PersonKeyIssued
from .privacy import PrivacyAnswered, PrivacyRequested
from .schools import PupilEnrolled

DAY_MS = 24 * 60 * 60 * 1000
DLQ_SUFFIX = ".dlq"

CONTACTS = "contacts"
ALLOCATION = "allocation"
NOTIFICATIONS = "notifications"
OUTCOMES = "outcomes"
FRONT_DOOR_SYSTEMS = "front-door-systems"
CASE_SYSTEMS = "case-systems"
SCHOOLS_MIS = "schools-mis"
PARTNERS = "partners-data"  # the local authority's data team and partner agencies
SERVICES = (CONTACTS, ALLOCATION, NOTIFICATIONS, OUTCOMES)


@dataclass(frozen=True)
class TopicSpec:
    name: str
    event: type[EventData] | None
    key: str
    producers: tuple[str, ...]
    consumers: tuple[str, ...]
    partitions: int = 3
    cleanup_policy: str = "delete"
    replication_factor: int = 1
    description: str = ""
    configs: dict[str, str] = field(default_factory=dict)

    def topic_configs(self, retention_ms: int, min_insync_replicas: int = 1) -> dict[str, str]:
        """The topic's configs at creation, kept `retention_ms` (the retention schedule's figure for it:
        `retention.Schedule.topic_configs`, which the stack tool calls).
        `max.message.bytes` is set on every topic, equal to the broker's `message.max.bytes` and the
        producers' `max_request_size` (`limits.MAX_RECORD_BYTES`): a record one producer takes, every topic
        and broker take."""
        return {
            "cleanup.policy": self.cleanup_policy,
            "retention.ms": str(retention_ms),
            "min.insync.replicas": str(min_insync_replicas),
            **self.configs,
            "max.message.bytes": str(MAX_RECORD_BYTES),  # after `configs`: no topic differs
        }


def dead_letter_topic(topic: str) -> str:
    return topic + DLQ_SUFFIX


FRONTDOOR_CONTACTS = TopicSpec(
    name="frontdoor.contacts.v1",
    event=ContactSubmitted,
    key="producer's contact reference (any stable string)",
    producers=(FRONT_DOOR_SYSTEMS, CONTACTS),
    consumers=(CONTACTS,),
    description="Contacts about children, as front-door systems submit them (and the contacts intake API).",
)
FRONTDOOR_DECISIONS = TopicSpec(
    name="frontdoor.decisions.v1",
    event=DecisionSubmitted,
    key="contact_id",
    producers=(CASE_SYSTEMS, CONTACTS),
    consumers=(CONTACTS,),
    description="MASH decisions on contacts, from a case system or the contacts decision API.",
)
CONTACTS_RECORDED = TopicSpec(
    name="contacts.recorded.v1",
    event=ContactRecorded,
    key="contact_id",
    producers=(CONTACTS,),
    consumers=(OUTCOMES,),
    description="A contact was recorded once, with its children matched to known people.",
)
CONTACTS_DECIDED = TopicSpec(
    name="contacts.decided.v1",
    event=ContactDecided,
    key="contact_id",
    producers=(CONTACTS,),
    consumers=(ALLOCATION, OUTCOMES),
    description="The MASH decision on a contact, with referral and re-referral flags per child.",
)
SCHOOLS_ENROLMENTS = TopicSpec(
    name="schools.enrolments.v1",
    event=PupilEnrolled,
    key="school_urn",
    producers=(SCHOOLS_MIS,),
    consumers=(NOTIFICATIONS,),
    description="Which pupil is on which school's roll, from when to when (schools' MIS, the school census).",
    cleanup_policy="delete",
)
CONTACTS_RE_REFERRAL_CORRECTED = TopicSpec(
    name="contacts.re-referral-corrected.v1",
    event=ReReferralCorrected,
    key="contact_id",
    producers=(CONTACTS,),
    consumers=(OUTCOMES,),
    description="A referral's re-referral flag corrected by an earlier decision that arrived late.",
)
CONTACTS_FAMILIES_MERGED = TopicSpec(
    name="contacts.families-merged.v1",
    event=FamiliesMerged,
    key="family_id",
    producers=(CONTACTS,),
    consumers=(ALLOCATION, OUTCOMES),
    description="Families found to be one (a contact linked their people); ids only.",
)
CONTACTS_DA_INCIDENT_REPORTED = TopicSpec(
    name="contacts.da-incident-reported.v1",
    event=DAIncidentReported,
    key="contact_id",
    producers=(CONTACTS,),
    consumers=(NOTIFICATIONS, OUTCOMES),
    description="A police domestic abuse incident, one entry per child present or normally resident.",
)
FRONTDOOR_STEP_DOWNS = TopicSpec(
    name="frontdoor.step-downs.v1",
    event=StepDownRequested,
    key="family_id",
    producers=(CASE_SYSTEMS,),
    consumers=(ALLOCATION,),
    description="Families stepped down from children's social care to Early Help, from a case system.",
)
OUTCOMES_FAMILY_IDENTIFIED = TopicSpec(
    name="outcomes.family-identified.v1",
    event=FamilyIdentified,
    key="family_id",
    producers=(OUTCOMES,),
    consumers=(ALLOCATION,),
    description="A family identified in data as meeting Troubled Families headline problems.",
)
ALLOCATION_CASE_OPENED = TopicSpec(
    name="allocation.case-opened.v1",
    event=CaseOpened,
    key="case_id",
    producers=(ALLOCATION,),
    consumers=(OUTCOMES,),
    description="An allocation case opened for a family (one open case per family), with its target date.",
)
ALLOCATION_CASE_ALLOCATED = TopicSpec(
    name="allocation.case-allocated.v1",
    event=CaseAllocated,
    key="case_id",
    producers=(ALLOCATION,),
    consumers=(NOTIFICATIONS, OUTCOMES),
    description="A lead agency and lead professional were allocated to a case.",
)
ALLOCATION_OFFER_MADE = TopicSpec(
    name="allocation.offer-made.v1",
    event=OfferMade,
    key="case_id",
    producers=(ALLOCATION,),
    consumers=(OUTCOMES,),
    description="The lead agency offered Early Help to the family, with the days taken from the SPA decision.",
)
ALLOCATION_OFFER_ANSWERED = TopicSpec(
    name="allocation.offer-answered.v1",
    event=OfferAnswered,
    key="case_id",
    producers=(ALLOCATION,),
    consumers=(OUTCOMES,),
    description="The family accepted or declined the offer of Early Help.",
)
ALLOCATION_STEPPED_UP = TopicSpec(
    name="allocation.stepped-up.v1",
    event=SteppedUp,
    key="case_id",
    producers=(ALLOCATION,),
    consumers=(OUTCOMES,),
    description="A case was stepped up to children's social care.",
)
ALLOCATION_OFFER_DUE_SOON = TopicSpec(
    name="allocation.offer-due-soon.v1",
    event=OfferDueSoon,
    key="case_id",
    producers=(ALLOCATION,),
    consumers=(OUTCOMES,),
    description="A case without an offer is near its target date (once per case).",
)
ALLOCATION_OFFER_OVERDUE = TopicSpec(
    name="allocation.offer-overdue.v1",
    event=OfferOverdue,
    key="case_id",
    producers=(ALLOCATION,),
    consumers=(NOTIFICATIONS, OUTCOMES),
    description="A case passed its target date without an offer (once per case).",
)
NOTIFICATIONS_DELIVERED = TopicSpec(
    name="notifications.delivered.v1",
    event=NotificationDelivered,
    key="notification_id",
    producers=(NOTIFICATIONS,),
    consumers=(OUTCOMES,),
    description="A notification reached its recipient (webhook accepted, alert sent, or in the inbox).",
)
NOTIFICATIONS_DELIVERY_FAILED = TopicSpec(
    name="notifications.delivery-failed.v1",
    event=DeliveryFailed,
    key="notification_id",
    producers=(NOTIFICATIONS,),
    consumers=(OUTCOMES,),
    description="A notification escalated to the MASH: not delivered by the margin or after repeated failures.",
)
NOTIFICATIONS_UNACKNOWLEDGED = TopicSpec(
    name="notifications.unacknowledged.v1",
    event=NotificationUnacknowledged,
    key="notification_id",
    producers=(NOTIFICATIONS,),
    consumers=(OUTCOMES,),
    description="A DA notification not acknowledged by the start of the school day.",
)
NOTIFICATIONS_ACKNOWLEDGED = TopicSpec(
    name="notifications.acknowledged.v1",
    event=NotificationAcknowledged,
    key="notification_id",
    producers=(NOTIFICATIONS,),
    consumers=(OUTCOMES,),
    description="A school's key adult acknowledged a notification: who (staff id) and when.",
)
NOTIFICATIONS_SCHOOL_UNKNOWN = TopicSpec(
    name="notifications.school-unknown.v1",
    event=SchoolUnknown,
    key="contact_id",
    producers=(NOTIFICATIONS,),
    consumers=(),
    description="A child in a DA incident whose school could not be found: on the MASH worklist. Ids only.",
)
PARTNERS_ATTENDANCE = TopicSpec(
    name="partners.attendance.v1",
    event=AttendanceRecorded,
    key="record_ref",
    producers=(PARTNERS,),
    consumers=(CONTACTS,),
    description="School attendance and exclusions per pupil per term, with the pupil's identifiers.",
)
PARTNERS_OFFENDING = TopicSpec(
    name="partners.offending.v1",
    event=OffendingRecorded,
    key="record_ref",
    producers=(PARTNERS,),
    consumers=(CONTACTS,),
    description="Proven offences and anti-social behaviour incidents (youth or adult), with identifiers.",
)
PARTNERS_EMPLOYMENT = TopicSpec(
    name="partners.employment.v1",
    event=EmploymentRecorded,
    key="record_ref",
    producers=(PARTNERS,),
    consumers=(CONTACTS,),
    description="Adults' employment status and out-of-work benefits, from when to when, with identifiers.",
)
PARTNERS_HEALTH = TopicSpec(
    name="partners.health.v1",
    event=HealthNeedRecorded,
    key="record_ref",
    producers=(PARTNERS,),
    consumers=(CONTACTS,),
    description="Health needs identified (category only), with identifiers.",
)
CONTACTS_PARTNER_FACT_MATCHED = TopicSpec(
    name="contacts.partner-fact-matched.v1",
    event=PartnerFactMatched,
    key="family_id",
    producers=(CONTACTS,),
    consumers=(OUTCOMES,),
    description="A partner record matched to a person and family, without identifiers or names.",
)
ALLOCATION_CASE_CLOSED = TopicSpec(
    name="allocation.case-closed.v1",
    event=CaseClosed,
    key="case_id",
    producers=(ALLOCATION,),
    consumers=(OUTCOMES,),
    description="The lead agency closed a case, with its outcome category.",
)
OUTCOMES_OUTCOME_ACHIEVED = TopicSpec(
    name="outcomes.outcome-achieved.v1",
    event=OutcomeAchieved,
    key="family_id",
    producers=(OUTCOMES,),
    consumers=(),
    description="A family met its outcome plan and the progress was sustained (once per plan).",
)
OUTCOMES_CLAIM_ELIGIBLE = TopicSpec(
    name="outcomes.claim-eligible.v1",
    event=ClaimEligible,
    key="family_id",
    producers=(OUTCOMES,),
    consumers=(),
    description="A family qualifies for a results claim (once per plan).",
)

CONTACTS_PERSON_KEYS = TopicSpec(
    name="contacts.person-keys.v1",
    event=PersonKeyIssued,
    key="person_id",
    producers=(CONTACTS,),
    consumers=(NOTIFICATIONS,),
    partitions=3,
    cleanup_policy="compact",
    # A tombstone (an erased person) stays a week, so a reader that was down for days still sees it;
    # compaction runs on segments rolled daily.
    configs={"delete.retention.ms": str(7 * DAY_MS), "segment.ms": str(DAY_MS),
             "min.cleanable.dirty.ratio": "0.1"},
    description="Each person's data key, wrapped for each service that reads personal fields (frontdoor_"
    "contracts.personal); a null value under a person's id erases them: every sealed field about them "
    "becomes unreadable.",
)
PRIVACY_REQUESTS = TopicSpec(
    name="privacy.requests.v1",
    event=PrivacyRequested,
    key="request_id",
    producers=(CONTACTS,),
    consumers=(CONTACTS, ALLOCATION, NOTIFICATIONS, OUTCOMES),
    partitions=1,
    description="Subject access, erasure and rectification requests: the people by id only; each service's "
    "share of their identifiers sealed for it.",
)
PRIVACY_REPLIES = TopicSpec(
    name="privacy.replies.v1",
    event=PrivacyAnswered,
    key="request_id",
    producers=(CONTACTS, ALLOCATION, NOTIFICATIONS, OUTCOMES),
    consumers=(),
    partitions=1,
    description="Each service's answer to a privacy request, once: per retention class what it did; an "
    "access answer's export sealed to the requester's one-off key (read by frontdoor-stack privacy).",
)

AUDIT_KEY = "target (<kind>:<id> of what changed)"
AUDIT_DESCRIPTION = ("Every change made through the {service} service's API or command line: who, what, when, "
                     "and a directory entry before and after (never a secret or password).")


def _audit_topic(service: str, event: type[EventData]) -> TopicSpec:
    """A service's audit topic: only it writes there, no service reads it."""
    return TopicSpec(name=f"{service}.audit.v1", event=event, key=AUDIT_KEY, producers=(service,), consumers=(),
                     description=AUDIT_DESCRIPTION.format(service=service))


CONTACTS_AUDIT = _audit_topic(CONTACTS, ContactsAuditRecorded)
ALLOCATION_AUDIT = _audit_topic(ALLOCATION, AllocationAuditRecorded)
NOTIFICATIONS_AUDIT = _audit_topic(NOTIFICATIONS, NotificationsAuditRecorded)
OUTCOMES_AUDIT = _audit_topic(OUTCOMES, OutcomesAuditRecorded)
AUDIT_TOPICS: dict[str, TopicSpec] = {CONTACTS: CONTACTS_AUDIT, ALLOCATION: ALLOCATION_AUDIT,
                                      NOTIFICATIONS: NOTIFICATIONS_AUDIT, OUTCOMES: OUTCOMES_AUDIT}

DOMAIN_TOPICS: tuple[TopicSpec, ...] = (
    FRONTDOOR_CONTACTS,
    FRONTDOOR_DECISIONS,
    CONTACTS_RECORDED,
    CONTACTS_DECIDED,
    CONTACTS_FAMILIES_MERGED,
    CONTACTS_RE_REFERRAL_CORRECTED,
    CONTACTS_DA_INCIDENT_REPORTED,
    SCHOOLS_ENROLMENTS,
    FRONTDOOR_STEP_DOWNS,
    OUTCOMES_FAMILY_IDENTIFIED,
    ALLOCATION_CASE_OPENED,
    ALLOCATION_CASE_ALLOCATED,
    ALLOCATION_OFFER_MADE,
    ALLOCATION_OFFER_ANSWERED,
    ALLOCATION_STEPPED_UP,
    ALLOCATION_OFFER_DUE_SOON,
    ALLOCATION_OFFER_OVERDUE,
    NOTIFICATIONS_DELIVERED,
    NOTIFICATIONS_DELIVERY_FAILED,
    NOTIFICATIONS_UNACKNOWLEDGED,
    NOTIFICATIONS_ACKNOWLEDGED,
    NOTIFICATIONS_SCHOOL_UNKNOWN,
    PARTNERS_ATTENDANCE,
    PARTNERS_OFFENDING,
    PARTNERS_EMPLOYMENT,
    PARTNERS_HEALTH,
    CONTACTS_PARTNER_FACT_MATCHED,
    ALLOCATION_CASE_CLOSED,
    OUTCOMES_OUTCOME_ACHIEVED,
    OUTCOMES_CLAIM_ELIGIBLE,
    CONTACTS_PERSON_KEYS,
    PRIVACY_REQUESTS,
    PRIVACY_REPLIES,
    CONTACTS_AUDIT,
    ALLOCATION_AUDIT,
    NOTIFICATIONS_AUDIT,
    OUTCOMES_AUDIT,
)


def _dead_letter_spec(spec: TopicSpec) -> TopicSpec:
    return TopicSpec(
        name=dead_letter_topic(spec.name),
        event=None,
        key="the original record's key",
        producers=spec.consumers,
        consumers=(),
        partitions=1,
        description=f"Records of {spec.name} that {' or '.join(spec.consumers)} could not accept: the original "
        "bytes and headers, plus dlq.reason, dlq.field, dlq.message, dlq.topic, dlq.partition and dlq.offset "
        "headers.",
    )


def all_topics() -> tuple[TopicSpec, ...]:
    """Every topic the platform needs: domain topics and one dead-letter
    topic per consumed topic (every consumer of the topic may write to it)."""
    dead_letters = tuple(_dead_letter_spec(spec) for spec in DOMAIN_TOPICS if spec.consumers)
    return DOMAIN_TOPICS + dead_letters


def topics_consumed_by(service: str) -> tuple[TopicSpec, ...]:
    return tuple(spec for spec in DOMAIN_TOPICS if service in spec.consumers)
