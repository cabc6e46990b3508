"""The front door's KPIs: contacts by referrer source, the MASH decisions
(statutory threshold, conversion to Early Help), re-referrals per child with
the contacts service's corrections, and domestic abuse notifications
delivered before the school day. Each over the facts in [start, end)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlmodel import Session, col, distinct, select

from frontdoor_contracts.notifications import NotificationKind
from frontdoor_contracts.vocabulary import REFERRAL_DECISIONS, Decision, ReferrerSource

from .queries import count_by, every_category, shares, within
from .report_models import ContactsKpi, DaNotificationsKpi, DecisionsKpi, Figure, ReReferralKpi
from .tables import KpiContact, KpiDecision, KpiDelivery, KpiReferralChild, KpiReReferralCorrection

REFERRALS = sorted(d.value for d in REFERRAL_DECISIONS)


def contacts_kpi(session: Session, start: datetime, end: datetime) -> ContactsKpi:
    by_source = count_by(session, KpiContact.referrer_source, distinct(col(KpiContact.contact_id)),
                        within(KpiContact.received_at, start, end))
    total = sum(by_source.values())
    return ContactsKpi(total=total, by_source=shares((s.value for s in ReferrerSource), by_source, total))


def decisions_kpi(session: Session, start: datetime, end: datetime) -> DecisionsKpi:
    by_decision = count_by(session, KpiDecision.decision, distinct(col(KpiDecision.contact_id)),
                          within(KpiDecision.decided_at, start, end))
    total = sum(by_decision.values())
    statutory = sum(by_decision.get(d, 0) for d in REFERRALS)
    return DecisionsKpi(total=total, statutory_threshold=Figure.of(statutory, total),
                        early_help=Figure.of(by_decision.get(Decision.EARLY_HELP.value, 0), total),
                        by_decision={d: by_decision.get(d, 0) for d in every_category((d.value for d in Decision),
                                                                                 by_decision)})


def re_referrals_kpi(session: Session, start: datetime, end: datetime) -> ReReferralKpi:
    """Per child referral in the period; a correction's flag (the latest, by
    corrected_at) replaces the decision's."""
    period = within(KpiReferralChild.decided_at, start, end)
    flagged = count_by(session, KpiReferralChild.re_referral, KpiReferralChild.child_id, period,
                      col(KpiReferralChild.referral).is_(True))
    referrals = sum(flagged.values())
    re_referrals = flagged.get("True", 0)
    latest: dict[tuple[uuid.UUID, uuid.UUID], bool] = {}
    corrections = (select(KpiReReferralCorrection)
                   .where(within(KpiReReferralCorrection.decided_at, start, end))
                   .order_by(col(KpiReReferralCorrection.corrected_at), col(KpiReReferralCorrection.event_id)))
    for correction in session.exec(corrections).all():
        latest[(correction.contact_id, correction.child_id)] = correction.re_referral
    corrected = 0
    if latest:
        originals = select(KpiReferralChild.contact_id, KpiReferralChild.child_id, KpiReferralChild.re_referral).where(
            period, col(KpiReferralChild.referral),
            col(KpiReferralChild.contact_id).in_(select(KpiReReferralCorrection.contact_id).where(
                within(KpiReReferralCorrection.decided_at, start, end))))
        for contact_id, child_id, flag in session.exec(originals).all():
            now_flag = latest.get((contact_id, child_id))
            if now_flag is not None and now_flag != flag:
                corrected += 1
                re_referrals += 1 if now_flag else -1
    return ReReferralKpi(rate=Figure.of(re_referrals, referrals), corrected=corrected)


def da_notifications_kpi(session: Session, start: datetime, end: datetime) -> DaNotificationsKpi:
    found = count_by(session, KpiDelivery.before_deadline, distinct(col(KpiDelivery.notification_id)),
                    within(KpiDelivery.delivered_at, start, end),
                    col(KpiDelivery.kind) == NotificationKind.DA_INCIDENT.value)
    before, after = found.get("True", 0), found.get("False", 0)
    return DaNotificationsKpi(before_school_day=Figure.of(before, before + after),
                              without_deadline=found.get("None", 0))
