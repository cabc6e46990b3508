"""Never late without anyone knowing: which offer-due-soon / offer-overdue
events a case owes at `now`.

A case waiting for an offer (open or allocated) owes `due_soon` from
`due_at - lead` and `overdue` from `due_at`, each exactly once. The answer
depends only on the case's state (`due_at`, whether it still awaits an offer,
which of the two it has already emitted) and `now`, never on a timer having
fired: a service that was stopped when a timer should have fired owes the
event on start and emits it then, once. When both are owed (a long outage),
due-soon comes first.

Record an event as emitted in the same durable step that publishes it, and
publish it with `sla_event_id()`, so a crash between the two at worst
re-publishes the same event id, which consumers deduplicate.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

DEFAULT_DUE_SOON_LEAD = timedelta(days=2)
SLA_EVENT_NAMESPACE = uuid.UUID("a3e91f0c-5b7d-4e28-9c61-0f2d8b4a7e53")


class SlaEvent(StrEnum):
    DUE_SOON = "offer-due-soon"
    OVERDUE = "offer-overdue"


@dataclass(frozen=True)
class SlaPolicy:
    due_soon_lead: timedelta = DEFAULT_DUE_SOON_LEAD

    def __post_init__(self) -> None:
        if self.due_soon_lead < timedelta(0):
            raise ValueError("the due-soon lead must not be negative")


DEFAULT_SLA = SlaPolicy()


def fires_at(kind: SlaEvent, due_at: datetime, policy: SlaPolicy = DEFAULT_SLA) -> datetime:
    """When `kind` becomes owed for a case due at `due_at`."""
    return due_at - policy.due_soon_lead if kind is SlaEvent.DUE_SOON else due_at


def owed_sla_events(
    due_at: datetime,
    now: datetime,
    *,
    awaiting_offer: bool,
    emitted: Iterable[SlaEvent] = (),
    policy: SlaPolicy = DEFAULT_SLA,
) -> tuple[SlaEvent, ...]:
    """The events owed at `now` and not yet emitted, in the order to emit them (due-soon before overdue)."""
    if not awaiting_offer:
        return ()
    done = frozenset(emitted)
    return tuple(kind for kind in SlaEvent if kind not in done and now >= fires_at(kind, due_at, policy))


def sla_event_id(case_id: uuid.UUID, kind: SlaEvent) -> str:
    """The stable CloudEvent id of a case's due-soon or overdue event: the same on every retry and restart."""
    return str(uuid.uuid5(SLA_EVENT_NAMESPACE, f"{case_id}\n{kind.value}"))
