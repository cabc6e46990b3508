"""The demo's case worker: beside the demo stream, an asyncio task that works
the Early Help cases the allocation service opens, through its HTTP API with
the stack's coordinator key (`coordinator` may make every agency's moves).
Each round it reads the allocations meeting's agenda (`GET /v1/agenda`:
the cases not yet allocated) and the board (`GET /v1/cases`: every open
case), and moves some cases on one step: allocate to one of the demo's
agencies (`POST /v1/cases/{id}/allocation`), record the offer (`/offer`),
the family's answer (`/answer`: mostly accepted), and close the case with an
outcome category (`/closure`); a declined offer is closed at once with one
of the categories a declined case allows.

The categories follow Wokingham's 2015 Early Help closures (positive 61%,
no change 10%, deterioration 7%, too early to say 20%, resolved by
information and advice 5%, escalated 3%, per child: they add up to 106%
because some children had two closures in the period), per case as
`PER_CASE_SPLIT`. A declined case may close only as no change, resolved by
information and advice or escalated: the accepted cases' weights give up
what the declined ones take (`closure_weights`), so all closures together
keep the split.

What happens to a case (agency, lead professional, answer, outcome) is
drawn from the seed and the case id: the same case gets the same plan every
time. Which round a case moves in is not (it depends on when the services
open it). Nothing about a family is printed or logged: counts only."""

from __future__ import annotations

import asyncio
import math
import random
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from frontdoor_contracts.vocabulary import AgencyKind, CaseStatus, ClosureOutcome, OfferAnswer

from .demo import DEMO_AGENCIES

# Wokingham, 2015: Early Help closures per child (adding up to 106%: some children closed twice in the year).
WOKINGHAM_2015_PER_CHILD: dict[ClosureOutcome, int] = {
    ClosureOutcome.POSITIVE_OUTCOME: 61,
    ClosureOutcome.NO_CHANGE: 10,
    ClosureOutcome.DETERIORATION: 7,
    ClosureOutcome.TOO_EARLY_TO_SAY: 20,
    ClosureOutcome.RESOLVED_BY_INFORMATION_AND_ADVICE: 5,
    ClosureOutcome.ESCALATED_TO_HIGHER_LEVEL_SERVICES: 3,
}
# The same, per case (each case closed once).
PER_CASE_SPLIT: dict[ClosureOutcome, int] = {
    ClosureOutcome.POSITIVE_OUTCOME: 57,
    ClosureOutcome.NO_CHANGE: 10,
    ClosureOutcome.DETERIORATION: 7,
    ClosureOutcome.TOO_EARLY_TO_SAY: 19,
    ClosureOutcome.RESOLVED_BY_INFORMATION_AND_ADVICE: 5,
    ClosureOutcome.ESCALATED_TO_HIGHER_LEVEL_SERVICES: 3,
}
# What the allocation service lets a declined case close as.
DECLINED_MAY_CLOSE_AS = (ClosureOutcome.NO_CHANGE, ClosureOutcome.RESOLVED_BY_INFORMATION_AND_ADVICE,
                         ClosureOutcome.ESCALATED_TO_HIGHER_LEVEL_SERVICES)
DECLINE_SHARE = 0.12  # Early Help is consensual: most families accept
CLOSE_PACE = 0.5  # an accepted case closes at this fraction of the pace (the work takes longer)


def closure_weights(decline_share: float = DECLINE_SHARE, split: dict[ClosureOutcome, int] | None = None
                    ) -> tuple[dict[ClosureOutcome, float], dict[ClosureOutcome, float]]:
    """(accepted, declined) category weights, each summing to 1, such that
    `decline_share` of the cases drawn from `declined` and the rest from
    `accepted` give `split` overall."""
    split = split or PER_CASE_SPLIT
    total = sum(split.values())
    pool = sum(split[o] for o in DECLINED_MAY_CLOSE_AS)
    taken = decline_share * total  # what the declined cases take, in the split's units
    if not 0 <= taken <= pool:
        raise ValueError(f"a decline share of {decline_share:.0%} cannot keep the split: declined cases can close "
                         f"only as {', '.join(o.value for o in DECLINED_MAY_CLOSE_AS)}")
    declined = {o: split[o] / pool for o in DECLINED_MAY_CLOSE_AS}
    accepted = {o: (w - taken * declined.get(o, 0.0)) / (total - taken) for o, w in split.items()}
    return accepted, declined


@dataclass(frozen=True)
class CasePlan:
    """What will happen to one case."""

    lead_agency_id: str
    agency_kind: AgencyKind
    lead_professional_ref: str
    at_meeting: bool
    answer: OfferAnswer
    outcome: ClosureOutcome


def plan_case(case_id: str, seed: int | None = None, decline_share: float = DECLINE_SHARE) -> CasePlan:
    """The plan for `case_id`: the same for the same seed and case."""
    rng = random.Random(f"case:{seed}:{case_id}") if seed is not None else random.Random()
    agency_id, _, kind = rng.choice(DEMO_AGENCIES)
    professional = f"{agency_id}.lp-{rng.randint(1, 6)}"
    at_meeting = rng.random() < 0.8
    answer = OfferAnswer.DECLINED if rng.random() < decline_share else OfferAnswer.ACCEPTED
    accepted, declined = closure_weights(decline_share)
    weights = declined if answer is OfferAnswer.DECLINED else accepted
    outcome = rng.choices(list(weights), weights=list(weights.values()))[0]
    return CasePlan(agency_id, kind, professional, at_meeting, answer, outcome)


@dataclass(frozen=True)
class CaseWorkerSettings:
    allocation_url: str
    api_key: str = field(repr=False)
    every: float = 2.0  # seconds between rounds
    pace: float = 0.4  # the chance that a case moves on one step in a round
    drain_seconds: float = 120.0  # after the stream ends, the longest the worker goes on closing cases
    quiet_seconds: float = 10.0  # after the stream, it stops once no case has been open for this long
    decline_share: float = DECLINE_SHARE
    timeout: float = 10.0


@dataclass
class CaseTally:
    """What the case worker did (counts only)."""

    allocated: int = 0
    offered: int = 0
    accepted: int = 0
    declined: int = 0
    closed: Counter[str] = field(default_factory=Counter)
    refused: int = 0  # 404 / 409: the case moved on meanwhile (merged into another, closed)
    failed: int = 0  # the service did not answer or answered 5xx: tried again next round
    open_now: int = 0  # open cases on the board at the last round
    finished: bool = False

    @property
    def closed_total(self) -> int:
        return sum(self.closed.values())

    def short(self) -> str:
        return f"cases: {self.allocated} allocated, {self.closed_total} closed, {self.open_now} open"

    def line(self) -> str:
        return (f"cases: {self.allocated} allocated, {self.offered} offered, {self.accepted} accepted, "
                f"{self.declined} declined, {self.closed_total} closed, {self.open_now} open")


class CaseWorker:
    def __init__(self, settings: CaseWorkerSettings, seed: int | None = None,
                 on_change: Callable[[], None] | None = None, transport: httpx.AsyncBaseTransport | None = None):
        self.settings = settings
        self._transport = transport
        self.seed = seed
        self.tally = CaseTally()
        self.plans: dict[str, CasePlan] = {}
        self._pace = random.Random(None if seed is None else f"pace:{seed}")
        self._on_change = on_change or (lambda: None)

    def plan(self, case_id: str) -> CasePlan:
        if case_id not in self.plans:
            self.plans[case_id] = plan_case(case_id, self.seed, self.settings.decline_share)
        return self.plans[case_id]

    async def run(self, stream_done: asyncio.Event) -> CaseTally:
        """Rounds until the stream is done and no case has been open for
        `quiet_seconds`, or `drain_seconds` after the stream ended."""
        s = self.settings
        quiet_rounds = max(1, math.ceil(s.quiet_seconds / s.every)) if s.every > 0 else 1
        quiet, drain_until = 0, None
        async with httpx.AsyncClient(base_url=s.allocation_url, timeout=s.timeout, transport=self._transport,
                                     headers={"Authorization": f"Bearer {s.api_key}"}) as client:
            while True:
                seen = await self.round(client)
                self._on_change()
                if stream_done.is_set():
                    drain_until = drain_until or time.monotonic() + s.drain_seconds
                    quiet = quiet + 1 if seen == 0 else 0
                    if quiet >= quiet_rounds or time.monotonic() >= drain_until:
                        break
                await asyncio.sleep(s.every)
        self.tally.finished = True
        self._on_change()
        return self.tally

    async def _get(self, client: httpx.AsyncClient, path: str) -> list[dict[str, Any]] | None:
        try:
            response = await client.get(path)
        except httpx.HTTPError:
            self.tally.failed += 1
            return None
        if response.status_code != 200:
            self.tally.failed += 1
            return None
        cases: list[dict[str, Any]] = response.json().get("cases", [])
        return cases

    async def _post(self, client: httpx.AsyncClient, case_id: str, move: str, body: dict[str, Any]) -> bool:
        try:
            response = await client.post(f"/v1/cases/{case_id}/{move}", json=body)
        except httpx.HTTPError:
            self.tally.failed += 1
            return False
        if response.status_code == 200:
            return True
        if response.status_code in (404, 409):
            self.tally.refused += 1
        else:
            self.tally.failed += 1
        return False

    async def round(self, client: httpx.AsyncClient) -> int:
        """One look at the agenda and the board, and a step for some cases:
        the number of open cases seen (-1 when the service did not answer)."""
        agenda = await self._get(client, "/v1/agenda")
        board = await self._get(client, "/v1/cases")
        if agenda is None or board is None:
            return -1
        cases = {str(c["case_id"]): str(c["status"]) for c in [*agenda, *board]}
        self.tally.open_now = len(cases)
        for case_id, status in cases.items():
            pace = self.settings.pace * (CLOSE_PACE if status == CaseStatus.ACCEPTED.value else 1.0)
            if self._pace.random() < pace:
                await self.step(client, case_id, status)
        return len(cases)

    async def step(self, client: httpx.AsyncClient, case_id: str, status: str) -> None:
        plan = self.plan(case_id)
        tally = self.tally
        if status == CaseStatus.OPEN.value:
            if await self._post(client, case_id, "allocation", {
                    "lead_agency_id": plan.lead_agency_id, "agency_kind": plan.agency_kind.value,
                    "lead_professional_ref": plan.lead_professional_ref, "at_meeting": plan.at_meeting}):
                tally.allocated += 1
        elif status == CaseStatus.ALLOCATED.value:
            if await self._post(client, case_id, "offer", {}):
                tally.offered += 1
        elif status == CaseStatus.OFFER_MADE.value:
            if await self._post(client, case_id, "answer", {"answer": plan.answer.value}):
                if plan.answer is OfferAnswer.DECLINED:
                    tally.declined += 1
                    await self._close(client, case_id, plan)  # not open any more: off the board, closed now
                else:
                    tally.accepted += 1
        elif status == CaseStatus.ACCEPTED.value:
            await self._close(client, case_id, plan)

    async def _close(self, client: httpx.AsyncClient, case_id: str, plan: CasePlan) -> None:
        if await self._post(client, case_id, "closure", {"outcome": plan.outcome.value}):
            self.tally.closed[plan.outcome.value] += 1
            self.plans.pop(case_id, None)
