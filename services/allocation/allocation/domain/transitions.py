"""Which move a case's status allows: the state machine of an allocation case.

    open ──allocate──▶ allocated ──record_offer──▶ offer_made ──record_answer──▶ accepted | declined
      │                   │                            │                            │          │
      └───────────────────┴────────step_up─────────────┴──▶ stepped_up              └──close───┴──▶ closed

    (allocated and offer_made may close too, as resolved by information and advice only)

`accepted` is open: the lead agency is working with the family, and a
further trigger for the family joins that case, until the lead agency closes
it with an outcome category. `declined`, `stepped_up`, `merged` and `closed`
are not open: a trigger for the family after them opens a new case (which is
how a re-referral after closure shows). Any other move raises
`IllegalTransition`, which names the case, the action, the current status and
the statuses the action is allowed from.

Closing (by the lead agency, so only a case with one) is allowed with:

    outcome                              from
    positive_outcome                     accepted
    deterioration                        accepted
    too_early_to_say                     accepted
    no_change                            accepted, declined
    escalated_to_higher_level_services   accepted, declined
    resolved_by_information_and_advice   allocated, offer_made, accepted, declined

An outcome is a judgement on Early Help work, so most need an accepted offer.
A declined offer may close as no change, as resolved by information and
advice, or as escalated (a declined case cannot be stepped up). Before the
family answers, the only closure is resolved by information and advice (the
lead professional's first contact settled it); escalating then is a step up,
and a family that will not engage is recorded as declining first. Closing
twice, or closing an open (unallocated), stepped-up or merged case, raises
`IllegalTransition`.
"""

from __future__ import annotations

import uuid

from frontdoor_contracts.vocabulary import CaseStatus, ClosureOutcome

NOT_OPEN = frozenset({CaseStatus.DECLINED, CaseStatus.STEPPED_UP, CaseStatus.MERGED, CaseStatus.CLOSED})
ALLOCATE = "allocate"
RECORD_OFFER = "record an offer on"
RECORD_ANSWER = "record an answer on"
STEP_UP = "step up"
ATTACH = "attach a trigger to"
MERGE = "merge into another case"
CLOSE = "close"
_ANSWERED = frozenset({CaseStatus.ACCEPTED, CaseStatus.DECLINED})
CLOSE_AS: dict[ClosureOutcome, frozenset[CaseStatus]] = {
    ClosureOutcome.POSITIVE_OUTCOME: frozenset({CaseStatus.ACCEPTED}),
    ClosureOutcome.DETERIORATION: frozenset({CaseStatus.ACCEPTED}),
    ClosureOutcome.TOO_EARLY_TO_SAY: frozenset({CaseStatus.ACCEPTED}),
    ClosureOutcome.NO_CHANGE: _ANSWERED,
    ClosureOutcome.ESCALATED_TO_HIGHER_LEVEL_SERVICES: _ANSWERED,
    ClosureOutcome.RESOLVED_BY_INFORMATION_AND_ADVICE: frozenset({CaseStatus.ALLOCATED, CaseStatus.OFFER_MADE})
    | _ANSWERED,
}
ALLOWED_FROM: dict[str, frozenset[CaseStatus]] = {
    ALLOCATE: frozenset({CaseStatus.OPEN}),
    RECORD_OFFER: frozenset({CaseStatus.ALLOCATED}),
    RECORD_ANSWER: frozenset({CaseStatus.OFFER_MADE}),
    STEP_UP: frozenset({CaseStatus.OPEN, CaseStatus.ALLOCATED, CaseStatus.OFFER_MADE}),
    ATTACH: frozenset({CaseStatus.OPEN, CaseStatus.ALLOCATED, CaseStatus.OFFER_MADE, CaseStatus.ACCEPTED}),
    MERGE: frozenset({CaseStatus.OPEN, CaseStatus.ALLOCATED, CaseStatus.OFFER_MADE, CaseStatus.ACCEPTED}),
    CLOSE: frozenset(status for statuses in CLOSE_AS.values() for status in statuses),
}
_ORDER = tuple(CaseStatus)


class IllegalTransition(ValueError):
    """A move the case's current status does not allow."""

    def __init__(self, case_id: uuid.UUID, action: str, status: CaseStatus, *,
                 allowed: frozenset[CaseStatus] | None = None, how: str = ""):
        self.case_id = case_id
        self.action = action
        self.status = status
        self.allowed = ALLOWED_FROM[action] if allowed is None else allowed
        names = " or ".join(s.value for s in sorted(self.allowed, key=_ORDER.index))
        super().__init__(
            f"cannot {action} case {case_id}{how}: it is {status.value}, and that is allowed only when {names}"
        )
