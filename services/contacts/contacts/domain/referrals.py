"""Referrals and re-referrals, counted per child.

A decision of S47 strategy discussion or social care assessment makes a
contact a referral. A referral for a child who had a referral in the 12
months before it is a re-referral (the DfE definition): 12 calendar months
of dates in England, as `frontdoor_contracts.periods` defines them for
every service (the outcomes service's "not re-referred within 12 months"
is the same rule).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from frontdoor_contracts.periods import TWELVE_MONTHS, within_months
from frontdoor_contracts.vocabulary import REFERRAL_DECISIONS, Decision

RE_REFERRAL_WINDOW_MONTHS = TWELVE_MONTHS


def is_referral(decision: Decision) -> bool:
    return decision in REFERRAL_DECISIONS


def is_re_referral(decided_at: datetime, previous_referrals: Iterable[datetime],
                   window_months: int = RE_REFERRAL_WINDOW_MONTHS) -> bool:
    """Was any of the child's earlier referrals (strictly before this one)
    within `window_months` calendar months before it?"""
    return any(earlier < decided_at and within_months(earlier, decided_at, window_months)
               for earlier in previous_referrals)


@dataclass(frozen=True)
class ChildReferral:
    child_id: uuid.UUID
    referral: bool
    re_referral: bool


def referral_flags(
    decision: Decision,
    decided_at: datetime,
    children: Iterable[uuid.UUID],
    previous_referrals: Mapping[uuid.UUID, Iterable[datetime]],
    window_months: int = RE_REFERRAL_WINDOW_MONTHS,
) -> list[ChildReferral]:
    referral = is_referral(decision)
    return [
        ChildReferral(
            child_id=child,
            referral=referral,
            re_referral=referral and is_re_referral(decided_at, previous_referrals.get(child, ()), window_months),
        )
        for child in children
    ]
