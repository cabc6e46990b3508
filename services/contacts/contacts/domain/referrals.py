"""Referrals and re-referrals, counted per child.

A decision of S47 strategy discussion or social care assessment makes a
contact a referral. A referral for a child who had a referral in the 12
months before it is a re-referral (the DfE definition).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from frontdoor_contracts.vocabulary import REFERRAL_DECISIONS, Decision

RE_REFERRAL_WINDOW_MONTHS = 12


def is_referral(decision: Decision) -> bool:
    return decision in REFERRAL_DECISIONS


def months_before(moment: datetime, months: int) -> datetime:
    """The same wall-clock moment `months` earlier; the 29th-31st fall back
    to the last day of a shorter month."""
    total = moment.year * 12 + (moment.month - 1) - months
    year, month = divmod(total, 12)
    month += 1
    day = moment.day
    while True:
        try:
            return moment.replace(year=year, month=month, day=day)
        except ValueError:
            day -= 1


def is_re_referral(decided_at: datetime, previous_referrals: Iterable[datetime],
                   window_months: int = RE_REFERRAL_WINDOW_MONTHS) -> bool:
    window_start = months_before(decided_at, window_months)
    return any(window_start <= earlier < decided_at for earlier in previous_referrals)


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
