"""The allocation service's answer to a privacy request (`privacy.requests.v1`,
answered by the kit's `Responder` on the kit consumer: once per request, in
the consumer's transaction; a record that is not a valid request is
dead-lettered).

What it holds about the request's people is their families' cases: the
families the request names, followed through `family_aliases` both ways
(the families merged into them and those they were merged into), each case
whole with its timeline (`views.case_export`: ids, statuses, agencies, staff
references, times) and the merges themselves. All of it is the schedule's
`case_records` class. An access export also carries the read log's reads of
those cases (`case:<id>`) and families (`family:<id>`), beside the reads of
the request's own people, families and contacts the kit adds.

Erasure and rectification change nothing here: the cases, the timeline and
the aliases hold ids, codes, staff references and times, no name, date of
birth, identifier or free text (no route or event gives this service any),
so `erase` and `rectify` report no records changed and the kit answers the
class KEPT with its "ids only" reason (or the schedule's, or the request's
`erasure_refused`)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlmodel import Session

from frontdoor_contracts.privacy import PrivacyRequested
from frontdoor_contracts.retention import Schedule
from frontdoor_contracts.topics import ALLOCATION
from frontdoor_platform.privacy import Holding, Responder
from frontdoor_platform.reads import record_of

from . import store, views
from .models import READ_LOG, OutboxEvent

CASE_RECORDS = "case_records"


class AllocationPrivacy:
    """`PrivacyHooks` for the allocation service."""

    def held(self, session: Session, request: PrivacyRequested, shared: Mapping[str, Any] | None) -> Holding:
        families = store.related_families(session, request.family_ids)
        if not families:
            return Holding(classes={CASE_RECORDS: []})
        cases = store.cases_of_families(session, families)
        records = [views.case_export(case, store.timeline(session, case.case_id)) for case in cases]
        records += [views.alias_export(alias) for alias in store.aliases_of(session, families)]
        reads = [*(record_of("case", case.case_id) for case in cases), *(record_of("family", f) for f in families)]
        return Holding(classes={CASE_RECORDS: records}, read_records=reads)

    def erase(self, session: Session, request: PrivacyRequested, shared: Mapping[str, Any] | None,
              classes: frozenset[str], now: datetime) -> dict[str, int]:
        return {}  # nothing personal to erase (the module's docstring)

    def rectify(self, session: Session, request: PrivacyRequested, shared: Mapping[str, Any] | None,
                classes: frozenset[str], now: datetime) -> dict[str, int]:
        return {}  # nothing personal to correct


def responder(source_uri: str, schedule: Schedule) -> Responder:
    """The service's responder: no wrapping key, since it needs no share of a request's identifiers (the ids
    in clear find everything it holds)."""
    return Responder(service=ALLOCATION, source=source_uri, hooks=AllocationPrivacy(), schedule=schedule,
                     reads=READ_LOG, outbox=OutboxEvent)
