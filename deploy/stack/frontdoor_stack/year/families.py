"""A family in the generated year: its people, what the outcomes service
knows of it, its open case, and the draws the front door makes about its
contacts (who refers, for what, and what the MASH decides)."""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from frontdoor_contracts.vocabulary import REFERRAL_DECISIONS, Concern, Decision, LevelOfNeed, ReferrerSource

from .cases import Deck
from .events import CaseRef, PartnerRecordRef
from .identification import Picture
from .parameters import Parameters
from .wire import Household

NEEDS_HELP = REFERRAL_DECISIONS | {Decision.EARLY_HELP, Decision.ADVICE_EARLY_HELP_ASSESSMENT}


class Reason(StrEnum):
    """Why a family comes to the front door."""

    FIRST = "first"
    AGAIN_REFERRED = "again_referred"  # a referred child comes back and is referred again
    AGAIN = "again"  # advised, signposted or NFA'd, and back
    BACK_TO_EARLY_HELP = "back_to_early_help"  # after an Early Help case closed
    BACK_TO_SOCIAL_CARE = "back_to_social_care"


@dataclass
class FamilyState:
    household: Household
    picture: Picture = field(default_factory=Picture)
    open_case: CaseRef | None = None
    cases: int = 0
    last_contact_id: uuid.UUID | None = None
    last_referral_at: datetime | None = None
    quiet_until: datetime | None = None  # after a closure: only the planned returns come
    check_at: datetime | None = None
    returning: datetime | None = None  # a return after closure, planned for then
    partner_records: tuple[PartnerRecordRef, ...] = ()

    @property
    def key(self) -> str:
        return self.household.key

    def blocked(self, at: datetime) -> bool:
        return self.open_case is not None or (self.quiet_until is not None and at < self.quiet_until)


def pick(rng: random.Random, split: dict[str, float]) -> str:
    return rng.choices(list(split), weights=list(split.values()))[0]


class FrontDoor:
    """The draws about one contact."""

    def __init__(self, rng: random.Random, params: Parameters):
        self.rng, self.params = rng, params
        self.sources = params.split("referrer_source")
        self.family_sizes = Deck(rng, params.split("children_per_family"))
        self.concerns = {name: params.split(f"concerns_{name}") for name in ("police", "school", "health", "other")}

    def referrer(self) -> ReferrerSource:
        return ReferrerSource(pick(self.rng, self.sources))

    def da_incident(self, referrer: ReferrerSource) -> bool:
        return referrer is ReferrerSource.POLICE and self.rng.random() < self.params.share("police_da_incident_share")

    def concern_list(self, referrer: ReferrerSource, incident: bool) -> list[Concern]:
        group = referrer.value if referrer.value in self.concerns else "other"
        found = {Concern.DOMESTIC_ABUSE} if incident else {Concern(pick(self.rng, self.concerns[group]))}
        if self.rng.random() < self.params.share("second_concern_share"):
            found.add(Concern(pick(self.rng, self.concerns["other"])))
        return sorted(found, key=lambda c: c.value)

    def decision(self, reason: Reason, incident: bool) -> Decision:
        if reason is Reason.BACK_TO_EARLY_HELP:
            return Decision.EARLY_HELP
        if reason in (Reason.BACK_TO_SOCIAL_CARE, Reason.AGAIN_REFERRED):
            return Decision.S47_STRATEGY_DISCUSSION if self.rng.random() < 0.2 else Decision.SOCIAL_CARE_ASSESSMENT
        if reason is Reason.AGAIN:
            return Decision(pick(self.rng, self.params.split("decisions_return")))
        split = "decisions_da_incident" if incident else "decisions_first_contact"
        return Decision(pick(self.rng, self.params.split(split)))

    def level(self, decision: Decision) -> LevelOfNeed:
        rng = self.rng
        if decision is Decision.S47_STRATEGY_DISCUSSION:
            return LevelOfNeed.SPECIALIST
        if decision is Decision.SOCIAL_CARE_ASSESSMENT:
            return LevelOfNeed.SPECIALIST if rng.random() < 0.7 else LevelOfNeed.TARGETED
        if decision is Decision.EARLY_HELP:
            return LevelOfNeed.TARGETED
        if decision is Decision.ADVICE_EARLY_HELP_ASSESSMENT:
            return rng.choice((LevelOfNeed.UNIVERSAL_PLUS, LevelOfNeed.TARGETED))
        if decision is Decision.SIGNPOSTED:
            return rng.choice((LevelOfNeed.UNIVERSAL, LevelOfNeed.UNIVERSAL_PLUS))
        reviewed = rng.random() < self.params.share("nfa_reviewed_share")
        return LevelOfNeed.UNIVERSAL_PLUS if reviewed else LevelOfNeed.UNIVERSAL

    def children(self) -> int:
        return int(self.family_sizes.draw())
