"""Shared vocabularies: bounded enums, safe to use as metric labels."""

from __future__ import annotations

from enum import IntEnum, StrEnum


class ReferrerSource(StrEnum):
    POLICE = "police"
    SCHOOL = "school"
    HEALTH = "health"
    GP = "gp"
    HEALTH_VISITOR = "health_visitor"
    LA_SERVICE = "la_service"
    VOLUNTARY_SECTOR = "voluntary_sector"
    FAMILY_SELF = "family_self"
    PUBLIC = "public"


class Concern(StrEnum):
    """DfE Children in Need census assessment factors (grouped codes)."""

    DOMESTIC_ABUSE = "domestic_abuse"
    NEGLECT = "neglect"
    EMOTIONAL_ABUSE = "emotional_abuse"
    PHYSICAL_ABUSE = "physical_abuse"
    SEXUAL_ABUSE = "sexual_abuse"
    MENTAL_HEALTH = "mental_health"
    ALCOHOL_MISUSE = "alcohol_misuse"
    DRUG_MISUSE = "drug_misuse"
    LEARNING_DISABILITY = "learning_disability"
    PHYSICAL_DISABILITY = "physical_disability"
    SELF_HARM = "self_harm"
    SCHOOL_ATTENDANCE = "school_attendance"
    EXCLUSION = "exclusion"
    CSE = "cse"
    CCE = "cce"
    MISSING = "missing"
    TRAFFICKING = "trafficking"
    GANGS = "gangs"
    RADICALISATION = "radicalisation"
    FGM = "fgm"
    YOUNG_CARER = "young_carer"
    PRIVATELY_FOSTERED = "privately_fostered"
    UNACCOMPANIED_ASYLUM_SEEKER = "unaccompanied_asylum_seeker"
    HOMELESSNESS = "homelessness"
    SOCIALLY_UNACCEPTABLE_BEHAVIOUR = "socially_unacceptable_behaviour"
    OTHER = "other"


class Decision(StrEnum):
    S47_STRATEGY_DISCUSSION = "s47_strategy_discussion"
    SOCIAL_CARE_ASSESSMENT = "social_care_assessment"
    EARLY_HELP = "early_help"
    ADVICE_EARLY_HELP_ASSESSMENT = "advice_early_help_assessment"
    SIGNPOSTED = "signposted"
    NO_FURTHER_ACTION = "no_further_action"


REFERRAL_DECISIONS = frozenset(
    {Decision.S47_STRATEGY_DISCUSSION, Decision.SOCIAL_CARE_ASSESSMENT}
)


class LevelOfNeed(IntEnum):
    UNIVERSAL = 1
    UNIVERSAL_PLUS = 2
    TARGETED = 3
    SPECIALIST = 4


class Channel(StrEnum):
    KAFKA = "kafka"
    API = "api"


class HeadlineProblem(StrEnum):
    """The six headline problems of the Troubled Families (Supporting Families) programme."""

    SCHOOL_ATTENDANCE = "school_attendance"
    CRIME_ASB = "crime_asb"
    CHILDREN_IN_NEED = "children_in_need"
    WORKLESSNESS = "worklessness"
    DOMESTIC_ABUSE = "domestic_abuse"
    HEALTH = "health"


class CaseSource(StrEnum):
    """What opened an allocation case."""

    EARLY_HELP_DECISION = "early_help_decision"
    NFA_REVIEW = "nfa_review"
    STEP_DOWN = "step_down"
    IDENTIFIED_IN_DATA = "identified_in_data"


class CaseStatus(StrEnum):
    OPEN = "open"
    ALLOCATED = "allocated"
    OFFER_MADE = "offer_made"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    STEPPED_UP = "stepped_up"
    MERGED = "merged"  # joined into the open case of the family it was found to be part of
    CLOSED = "closed"  # the lead agency closed the case, with an outcome category


class AgencyKind(StrEnum):
    """Kinds of organisation that can take the lead professional role."""

    SCHOOL = "school"
    HEALTH_VISITING = "health_visiting"
    SCHOOL_NURSING = "school_nursing"
    VOLUNTARY_SECTOR = "voluntary_sector"
    LA_EARLY_HELP = "la_early_help"
    POLICE = "police"
    HOUSING = "housing"
    OTHER = "other"


class OfferAnswer(StrEnum):
    """Early Help is consensual: the family accepts or declines the offer."""

    ACCEPTED = "accepted"
    DECLINED = "declined"


class TargetCalendar(StrEnum):
    """How the days of the SPA-to-offer target are counted."""

    CALENDAR_DAYS = "calendar_days"
    WORKING_DAYS = "working_days"


class ClosureOutcome(StrEnum):
    """Why an Early Help case closed (the categories the partnership reports)."""

    POSITIVE_OUTCOME = "positive_outcome"
    NO_CHANGE = "no_change"
    DETERIORATION = "deterioration"
    TOO_EARLY_TO_SAY = "too_early_to_say"
    RESOLVED_BY_INFORMATION_AND_ADVICE = "resolved_by_information_and_advice"
    ESCALATED_TO_HIGHER_LEVEL_SERVICES = "escalated_to_higher_level_services"


class PartnerDataset(StrEnum):
    """The partner datasets matched to people (partners.*.v1)."""

    ATTENDANCE = "attendance"
    OFFENDING = "offending"
    EMPLOYMENT = "employment"
    HEALTH = "health"


class SchoolTerm(StrEnum):
    AUTUMN = "autumn"
    SPRING = "spring"
    SUMMER = "summer"


class OffenceKind(StrEnum):
    PROVEN_OFFENCE = "proven_offence"
    ANTI_SOCIAL_BEHAVIOUR = "anti_social_behaviour"


class EmploymentStatus(StrEnum):
    EMPLOYED = "employed"  # in work (any hours), including self-employed
    UNEMPLOYED = "unemployed"
    ECONOMICALLY_INACTIVE = "economically_inactive"


class HealthNeed(StrEnum):
    MENTAL_HEALTH = "mental_health"
    SUBSTANCE_MISUSE = "substance_misuse"
    PHYSICAL_HEALTH = "physical_health"
    DISABILITY = "disability"
    PERINATAL = "perinatal"
