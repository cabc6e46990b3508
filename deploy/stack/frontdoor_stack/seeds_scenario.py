"""The seeds' closure figures as a scenario on a running stack
(`frontdoor-stack seeds`), for the outcomes service's KPI report to
reproduce to the percent:

- Wokingham's Early Help closures (June 2015 report): 1,464 child outcomes
  over 1,366 children, 61% positive, 10% no change, 7% deterioration, 20%
  too early to say, 5% resolved by information and advice, 3% escalated
  (the percentages add to 106%: the categories are not exclusive per child;
  98 children had a second case closed, see `wokingham_2015`). Placed in the
  financial year 2014/15.
- Reading's closures (April 2017 report): 96% of the cases closed were not
  re-referred to Early Help, 88% not to Children's Social Care, within 12
  months. 100 cases closed in 2015/16, followed up into 2017.

This is history imported, not demo traffic: the producers' own events
(`allocation.case-closed.v1`, `contacts.decided.v1`) as they would have been
published then, dated then, with ids derived from fixed names (`_id`), so a
second run publishes the same events and the outcomes service, which dedupes
on the event id, counts nothing twice. The four Early Help re-referrals are
Early Help decisions: the allocation service opens their cases (long
overdue, as history) like any other. `check` then reads `GET /v1/kpis` for
each period and sets each figure beside the printed one."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import httpx

from frontdoor_contracts.allocation import CaseClosed
from frontdoor_contracts.contacts import ContactDecided, DecidedChild
from frontdoor_contracts.envelope import EventData, encode_event, new_event
from frontdoor_contracts.topics import ALLOCATION_CASE_CLOSED, CONTACTS_DECIDED
from frontdoor_contracts.vocabulary import (
    REFERRAL_DECISIONS,
    AgencyKind,
    CaseSource,
    ClosureOutcome,
    Concern,
    Decision,
    LevelOfNeed,
    ReferrerSource,
)

from .kafka_access import KafkaAccess
from .kafka_clients import Producers

NAMESPACE = uuid.UUID("6f1d7c0e-2b1a-4c55-9a57-5eed5c3e2015")  # every id of the scenario derives from it
SOURCE = "urn:frontdoor:stack:seeds-scenario"

WOKINGHAM = (datetime(2014, 4, 1, tzinfo=UTC), datetime(2015, 4, 1, tzinfo=UTC))  # financial year 2014/15
READING = (datetime(2015, 4, 1, tzinfo=UTC), datetime(2016, 4, 1, tzinfo=UTC))  # 2015/16, followed up to 2017
EVERYTHING = (WOKINGHAM[0], datetime(2018, 1, 1, tzinfo=UTC))  # every event of the scenario

# The June 2015 table, in its order: category, children, the percentage printed.
WOKINGHAM_TABLE = (
    (ClosureOutcome.POSITIVE_OUTCOME, 833, 61),
    (ClosureOutcome.NO_CHANGE, 142, 10),
    (ClosureOutcome.DETERIORATION, 98, 7),
    (ClosureOutcome.TOO_EARLY_TO_SAY, 276, 20),
    (ClosureOutcome.RESOLVED_BY_INFORMATION_AND_ADVICE, 72, 5),
    (ClosureOutcome.ESCALATED_TO_HIGHER_LEVEL_SERVICES, 43, 3),
)
WOKINGHAM_CHILDREN, WOKINGHAM_OUTCOMES = 1366, 1464
READING_CASES, READING_BACK_TO_EARLY_HELP, READING_BACK_TO_SOCIAL_CARE = 100, 4, 12
READING_PRINTED = {"early_help": 96, "social_care": 88}
SIBLINGS = 3  # children closed together in one case, at most


def _id(*parts: object) -> uuid.UUID:
    return uuid.uuid5(NAMESPACE, "/".join(str(part) for part in parts))


@dataclass(frozen=True)
class Record:
    topic: str
    key: str
    value: bytes  # the CloudEvent, structured JSON


def _record(topic: str, key: uuid.UUID, data: EventData, at: datetime, *name: object) -> Record:
    event = new_event(data, source=SOURCE, time=at, event_id=str(_id("event", *name)))
    return Record(topic, str(key), encode_event(event))


def _closed(case: str, family: uuid.UUID, children: list[uuid.UUID], outcome: ClosureOutcome, at: datetime
            ) -> Record:
    case_id = _id("case", case)
    started = at - timedelta(days=120)
    return _record(ALLOCATION_CASE_CLOSED.name, case_id, CaseClosed(
        case_id=case_id, family_id=family, source=CaseSource.EARLY_HELP_DECISION, started_at=started,
        due_at=started + timedelta(days=14), closed_at=at, outcome=outcome, child_ids=children,
        lead_agency_id="early-help-hub", agency_kind=AgencyKind.LA_EARLY_HELP, closed_by="seeds-scenario"),
        at, "closed", case)


def _decided(name: str, family: uuid.UUID, decision: Decision, at: datetime) -> Record:
    contact_id = _id("contact", name)
    referral = decision in REFERRAL_DECISIONS
    return _record(CONTACTS_DECIDED.name, contact_id, ContactDecided(
        contact_id=contact_id, family_id=family, decision=decision, level_of_need=LevelOfNeed.TARGETED,
        decided_at=at, referrer_source=ReferrerSource.SCHOOL, concerns=[Concern.NEGLECT],
        children=[DecidedChild(child_id=_id("child", name), referral=referral, re_referral=False)],
        referral=referral, re_referral=False), at, "decided", name)


def wokingham_2015() -> list[Record]:
    """1,366 children, siblings closed together in cases of up to three,
    1,464 child outcomes. The 98 children counted twice had two cases closed
    in the year: the 43 escalated had first had a case closed as
    deterioration (the seed pairs "deterioration or escalation"), and 55 of
    the 72 resolved by advice had first had one closed positive. A child's
    cases are its family's."""
    first, second = WOKINGHAM[0] + timedelta(days=1), WOKINGHAM[0] + timedelta(days=280)
    children = {outcome: [_id("wokingham", outcome.value, n) for n in range(count)]
                for outcome, count, _ in WOKINGHAM_TABLE}
    positive, deteriorated = children[ClosureOutcome.POSITIVE_OUTCOME], children[ClosureOutcome.DETERIORATION]
    children[ClosureOutcome.RESOLVED_BY_INFORMATION_AND_ADVICE][:55] = positive[:55]
    children[ClosureOutcome.ESCALATED_TO_HIGHER_LEVEL_SERVICES] = deteriorated[:43]
    family_of: dict[uuid.UUID, uuid.UUID] = {}
    records = []
    for n, (outcome, ids) in enumerate(children.items()):
        again = outcome in (ClosureOutcome.RESOLVED_BY_INFORMATION_AND_ADVICE,
                            ClosureOutcome.ESCALATED_TO_HIGHER_LEVEL_SERVICES)
        for group in range(0, len(ids), SIBLINGS):
            siblings = ids[group:group + SIBLINGS]
            family = family_of.get(siblings[0]) or _id("wokingham-family", outcome.value, group)
            for child in siblings:
                family_of.setdefault(child, family)
            # first cases close from April to December 2014, second ones from January to March 2015
            days = (group * 7 + n * 13) % (80 if again else 270)
            at = (second if again else first) + timedelta(days=days, hours=9 + n)
            records.append(_closed(f"wokingham/{outcome.value}/{group}", family, siblings, outcome, at))
    return records


def reading_2016() -> list[Record]:
    """100 cases closed in 2015/16 (a family, one child each). Within 12
    months 4 families came back to Early Help and 12 to social care (an
    assessment or an S47 strategy discussion). Decisions that must not
    count: before the closure, after the 12 months, of other kinds."""
    records = []
    for n in range(READING_CASES):
        family, at = _id("reading-family", n), READING[0] + timedelta(days=3 * n + 1, hours=10)
        records.append(_closed(f"reading/{n}", family, [_id("reading-child", n)], ClosureOutcome.POSITIVE_OUTCOME,
                               at))
        if n < READING_BACK_TO_EARLY_HELP:
            records.append(_decided(f"reading/{n}/back", family, Decision.EARLY_HELP, at + timedelta(days=40)))
        elif 10 <= n < 10 + READING_BACK_TO_SOCIAL_CARE:
            kind = Decision.S47_STRATEGY_DISCUSSION if n % 3 == 0 else Decision.SOCIAL_CARE_ASSESSMENT
            records.append(_decided(f"reading/{n}/back", family, kind, at + timedelta(days=200)))
        elif 30 <= n < 40:
            records += [
                _decided(f"reading/{n}/before", family, Decision.EARLY_HELP, at - timedelta(days=10)),
                _decided(f"reading/{n}/late", family, Decision.SOCIAL_CARE_ASSESSMENT, at + timedelta(days=366)),
                _decided(f"reading/{n}/advice", family, Decision.ADVICE_EARLY_HELP_ASSESSMENT,
                         at + timedelta(days=30)),
                _decided(f"reading/{n}/nfa", family, Decision.NO_FURTHER_ACTION, at + timedelta(days=30)),
            ]
    return records


def scenario() -> list[Record]:
    return [*wokingham_2015(), *reading_2016()]


async def publish(bootstrap: str, records: list[Record], on_progress: Callable[[int], None] = lambda _: None,
                  access: KafkaAccess | None = None) -> int:
    """Through idempotent producers (acks=all), on a secured broker (`access`) as the service that produced each
    topic; how many were acknowledged."""
    producers = Producers(bootstrap, access, linger_ms=5)
    try:
        sent = [await producers.send(r.topic, r.value, key=r.key.encode(),
                                     headers=[("content-type", b"application/cloudevents+json")])
                for r in records]
        for done, future in enumerate(sent, start=1):
            await future
            if done % 100 == 0 or done == len(sent):
                on_progress(done)
    finally:
        await producers.stop()
    return len(sent)


# --- the report beside the seeds ---------------------------------------------------------------------------------

def percent(numerator: int, denominator: int) -> int | None:
    """A share as the councils print it: to the whole percent, halves up."""
    if not denominator:
        return None
    return int((Decimal(numerator * 100) / Decimal(denominator)).quantize(Decimal(1), rounding=ROUND_HALF_UP))


@dataclass(frozen=True)
class Row:
    figure: str
    printed: str  # as the seed prints it
    numerator: int
    denominator: int | None  # None: a count
    expected: tuple[int, int | None]  # the count and denominator the seed implies

    @property
    def reported(self) -> str:
        if self.denominator is None:
            return f"{self.numerator:,}"
        return f"{self.numerator:,} / {self.denominator:,} = {percent(self.numerator, self.denominator)}%"

    @property
    def matches(self) -> bool:
        return (self.numerator, self.denominator) == self.expected


def rows(wokingham: dict[str, Any], reading: dict[str, Any]) -> list[Row]:
    """The report's figures beside the printed ones (`wokingham`, `reading`:
    the KPI report of each period, as `GET /v1/kpis` answers)."""
    closures = wokingham["closures"]
    found = [Row("Wokingham 2014/15: child outcomes recorded", f"{WOKINGHAM_OUTCOMES:,}",
                 closures["child_closures"], None, (WOKINGHAM_OUTCOMES, None)),
             Row("Wokingham 2014/15: children", f"{WOKINGHAM_CHILDREN:,} (833 is 61% of it)", closures["children"],
                 None, (WOKINGHAM_CHILDREN, None))]
    for outcome, count, share in WOKINGHAM_TABLE:
        figure = closures["by_category"][outcome.value]
        found.append(Row(f"Wokingham 2014/15: {outcome.value.replace('_', ' ')}", f"{count} ({share}%)",
                         figure["numerator"], figure["denominator"], (count, WOKINGHAM_CHILDREN)))
    closed = reading["closed_cases"]
    for kind, back in (("early_help", READING_BACK_TO_EARLY_HELP), ("social_care", READING_BACK_TO_SOCIAL_CARE)):
        figure = closed[f"not_re_referred_to_{kind}"]
        found.append(Row(f"Reading 2015/16: closed, not re-referred to {kind.replace('_', ' ')} in 12 months",
                         f"{READING_PRINTED[kind]}%", figure["numerator"], figure["denominator"],
                         (READING_CASES - back, READING_CASES)))
    return found


def printed_percents() -> list[int]:
    return [share for _, _, share in WOKINGHAM_TABLE] + list(READING_PRINTED.values())


def reported_percents(found: list[Row]) -> list[int | None]:
    """The report's shares, rounded as the seeds print them, in the seeds' order."""
    return [percent(row.numerator, row.denominator) for row in found if row.denominator is not None]


class ReportClient:
    """`GET /v1/kpis` of the outcomes service for a period."""

    def __init__(self, outcomes_url: str, api_key: str, timeout: float = 10.0):
        self._url = outcomes_url.rstrip("/") + "/v1/kpis"
        self._headers = {"Authorization": f"Bearer {api_key}"}
        self._timeout = timeout

    def report(self, period: tuple[datetime, datetime]) -> dict[str, Any]:
        answer = httpx.get(self._url, params={"start": period[0].isoformat(), "end": period[1].isoformat()},
                           headers=self._headers, timeout=self._timeout)
        answer.raise_for_status()
        report: dict[str, Any] = answer.json()
        return report


def caught_up(client: ReportClient, records: list[Record]) -> bool:
    """Has the service applied every closure and decision of the scenario?
    (Over a period holding all of them: the two topics arrive apart.)"""
    whole = client.report(EVERYTHING)
    closed = sum(1 for r in records if r.topic == ALLOCATION_CASE_CLOSED.name)
    decided = sum(1 for r in records if r.topic == CONTACTS_DECIDED.name)
    return bool(whole["closures"]["cases"] >= closed and whole["decisions"]["total"] >= decided)


def check(client: ReportClient, records: list[Record], timeout: float = 120.0, every: float = 1.0) -> list[Row]:
    """The report beside the seeds, once the service has applied `records`
    (or after `timeout` seconds, as it stands then)."""
    deadline = time.monotonic() + timeout
    while not caught_up(client, records) and time.monotonic() < deadline:
        time.sleep(every)
    return rows(client.report(WOKINGHAM), client.report(READING))


def run(bootstrap: str, client: ReportClient, say: Callable[[str], None] = print,
        access: KafkaAccess | None = None) -> bool:
    """Publish the scenario, wait for the report, print it beside the seeds;
    True when every figure matches."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
    from rich.table import Table

    records = scenario()
    console = Console()
    with Progress(TextColumn("publishing the seeds' scenario"), BarColumn(), MofNCompleteColumn(),
                  console=console, transient=True) as progress:
        task = progress.add_task("publish", total=len(records))
        asyncio.run(publish(bootstrap, records, lambda done: progress.update(task, completed=done), access))
    say(f"published {len(records)} events; waiting for the outcomes service's report")
    found = check(client, records)
    table = Table(title="The seeds' closure figures, and the KPI report's")
    for column in ("figure", "the seed", "the report", ""):
        table.add_column(column)
    for row in found:
        table.add_row(row.figure, row.printed, row.reported, "yes" if row.matches else "NO")
    console.print(table)
    return all(row.matches for row in found) and reported_percents(found) == printed_percents()

