"""One record in, what it changes out, computed without writing anything:
the family pictures to store (faust tables in the live stream, plain dicts
in a rebuild), the outputs to publish and the record to dead-letter. The
caller commits the SQL side first, then the pictures, so a crash in between
replays the record onto the old picture and gives the same outputs again
(deduplicated by their ids)."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, MutableMapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from opentelemetry.trace import SpanKind

from frontdoor_contracts.allocation import CaseClosed, CaseOpened, OfferAnswered, SteppedUp
from frontdoor_contracts.contacts import ContactDecided, ContactRecorded, FamiliesMerged
from frontdoor_contracts.envelope import CloudEvent, EventData, new_event
from frontdoor_contracts.errors import InvalidEvent, parse_event
from frontdoor_contracts.outcomes import ClaimEligible, FamilyIdentified, OutcomeAchieved
from frontdoor_contracts.partners import PartnerFactMatched
from frontdoor_contracts.privacy import PrivacyRequested
from frontdoor_contracts.sources import check_source
from frontdoor_contracts.topics import (
    ALLOCATION_CASE_CLOSED,
    ALLOCATION_CASE_OPENED,
    ALLOCATION_OFFER_ANSWERED,
    ALLOCATION_STEPPED_UP,
    CONTACTS_DECIDED,
    CONTACTS_FAMILIES_MERGED,
    CONTACTS_PARTNER_FACT_MATCHED,
    CONTACTS_RECORDED,
    OUTCOMES_CLAIM_ELIGIBLE,
    OUTCOMES_FAMILY_IDENTIFIED,
    OUTCOMES_OUTCOME_ACHIEVED,
    PRIVACY_REQUESTS,
    topics_consumed_by,
)
from frontdoor_platform.poison import decode_record, handler_failed, is_infrastructure
from frontdoor_platform.routes import Incoming
from frontdoor_platform.tracing import span

from ..domain import outputs, updates
from ..domain.days import day_of
from ..domain.family import Family
from ..domain.thresholds import Thresholds
from ..readmodel.apply import MODELS as READ_MODEL_TOPICS
from ..readmodel.chronology import MODELS as CHRONOLOGY_TOPICS

Apply = Callable[[Family, Any], None]


@dataclass(frozen=True)
class FamilyTopic:
    model: type[EventData]
    family_of: Callable[[Any], uuid.UUID]
    time_of: Callable[[Any], datetime]
    apply: Apply


FAMILY_TOPICS: dict[str, FamilyTopic] = {
    CONTACTS_RECORDED.name: FamilyTopic(ContactRecorded, lambda d: d.family_id, lambda d: d.received_at,
                                        updates.on_recorded),
    CONTACTS_DECIDED.name: FamilyTopic(ContactDecided, lambda d: d.family_id, lambda d: d.decided_at,
                                       updates.on_decided),
    CONTACTS_PARTNER_FACT_MATCHED.name: FamilyTopic(PartnerFactMatched, lambda d: d.family_id,
                                                    lambda d: d.matched_at, updates.on_fact),
    ALLOCATION_CASE_OPENED.name: FamilyTopic(CaseOpened, lambda d: d.family_id, lambda d: d.opened_at,
                                             updates.on_case_opened),
    ALLOCATION_CASE_CLOSED.name: FamilyTopic(CaseClosed, lambda d: d.family_id, lambda d: d.closed_at,
                                             updates.on_case_closed),
    ALLOCATION_STEPPED_UP.name: FamilyTopic(SteppedUp, lambda d: d.family_id, lambda d: d.stepped_up_at,
                                            updates.on_stepped_up),
    ALLOCATION_OFFER_ANSWERED.name: FamilyTopic(OfferAnswered, lambda d: d.family_id, lambda d: d.answered_at,
                                                updates.on_answered),
}
MODELS: dict[str, type[EventData]] = {**READ_MODEL_TOPICS, **{t: f.model for t, f in FAMILY_TOPICS.items()},
                                      **CHRONOLOGY_TOPICS, CONTACTS_FAMILIES_MERGED.name: FamiliesMerged}
# What the stream reads: every topic the outcomes service consumes that a rule, the read model or the
# chronology uses.
INPUT_TOPICS = tuple(sorted(spec.name for spec in topics_consumed_by("outcomes") if spec.name in MODELS))
# What the live stream also reads and a rebuild never does: privacy requests, answered in the batch's transaction
# (stream/ledger.py), changing no picture and no fact.
REQUESTS: dict[str, type[EventData]] = {PRIVACY_REQUESTS.name: PrivacyRequested}
OUTPUT_TOPICS = {outputs.Identified: OUTCOMES_FAMILY_IDENTIFIED.name, outputs.Achieved: OUTCOMES_OUTCOME_ACHIEVED.name,
                 outputs.ClaimMade: OUTCOMES_CLAIM_ELIGIBLE.name}


@dataclass
class Step:
    """What one record (or one review) changes."""

    incoming: Incoming | None = None
    event: CloudEvent[Any] | None = None
    error: InvalidEvent | None = None
    families: dict[str, Family | None] = field(default_factory=dict)  # None: merged away
    aliases: dict[str, str] = field(default_factory=dict)
    outputs: list[tuple[str, CloudEvent[Any]]] = field(default_factory=list)
    duplicate: bool = False


def output_event(output: outputs.Output, source_uri: str) -> tuple[str, CloudEvent[Any]]:
    data: EventData
    if isinstance(output, outputs.Identified):
        data = FamilyIdentified(family_id=output.family_id, child_ids=output.child_ids[:30],
                                headline_problems=output.problems, identified_at=output.at)
    elif isinstance(output, outputs.Achieved):
        data = OutcomeAchieved(family_id=output.family_id, case_id=output.case_id, plan=output.plan,
                               progress_since=output.since, achieved_at=output.at)
    else:
        data = ClaimEligible(family_id=output.family_id, case_id=output.case_id, basis=output.basis,
                             eligible_at=output.at)
    event = new_event(data, source=source_uri, subject=str(output.family_id), time=output.at,
                      event_id=outputs.output_id(output))
    return OUTPUT_TOPICS[type(output)], event


class Processor:
    """The stream's logic over two mappings: family id → picture (as JSON-able
    dicts) and merged family id → the family it is part of now."""

    def __init__(self, families: MutableMapping[str, Any], aliases: MutableMapping[str, str], th: Thresholds,
                 source_uri: str, *, objects: bool = False):
        """`objects`: the mapping holds the Family objects themselves (a
        rebuild's plain dict), not their JSON (faust tables)."""
        self.families, self.aliases, self.th, self.source_uri = families, aliases, th, source_uri
        self.objects = objects
        # What the steps not yet committed changed: later steps of the same batch read through it.
        self._pending: dict[str, Family | None] = {}
        self._pending_aliases: dict[str, str] = {}

    def _alias(self, key: str) -> str | None:
        return self._pending_aliases.get(key) or self.aliases.get(key)

    def resolve(self, family_id: uuid.UUID) -> str:
        key = str(family_id)
        seen = {key}
        while (target := self._alias(key)) is not None and target not in seen:
            key = target
            seen.add(key)
        return key

    def load(self, key: str) -> Family:
        if key in self._pending:
            pending = self._pending[key]
            if pending is None:
                return Family(family_id=uuid.UUID(key))
            return pending if self.objects else pending.model_copy(deep=True)
        stored = self.families.get(key)
        if not stored:
            return Family(family_id=uuid.UUID(key))
        return stored if self.objects else Family.model_validate(stored)

    def _stage(self, step: Step) -> Step:
        self._pending.update(step.families)
        self._pending_aliases.update(step.aliases)
        return step

    def step(self, incoming: Incoming) -> Step:
        """What the record changes, staged; a record whose rules raise anything is the record's fault (its
        step carries the error and changes nothing), the rules being pure functions of the pictures."""
        try:
            return self._stage(self._step(incoming))
        except Exception as exc:
            if is_infrastructure(exc):
                raise
            return Step(incoming=incoming, error=handler_failed(exc))

    def mark(self) -> tuple[dict[str, Family | None], dict[str, str]]:
        """What is staged now, to go back to if the next step's SQL side is refused."""
        return dict(self._pending), dict(self._pending_aliases)

    def rewind(self, mark: tuple[dict[str, Family | None], dict[str, str]]) -> None:
        self._pending, self._pending_aliases = dict(mark[0]), dict(mark[1])

    def _step(self, incoming: Incoming) -> Step:
        step = Step(incoming=incoming)
        model = MODELS.get(incoming.topic) or REQUESTS.get(incoming.topic)
        if model is None:
            return step
        try:
            step.event = decode_record(lambda raw: parse_event(raw, model, lenient=True), incoming.value)
            check_source(incoming.topic, step.event.source)  # a producer the topic does not declare: dead letter
        except InvalidEvent as error:
            step.error = error
            return step
        if self.objects:  # a rebuild: no spans (it replays the log, it is not part of any request's trace)
            return self._apply(step, incoming, step.event)
        with span(f"consume {incoming.topic}", "outcomes", parent=step.event.traceparent, kind=SpanKind.CONSUMER,
                  attributes={"messaging.system": "kafka", "messaging.destination.name": incoming.topic,
                              "messaging.kafka.partition": incoming.partition,
                              "messaging.kafka.offset": incoming.offset, "messaging.message.id": step.event.id}):
            return self._apply(step, incoming, step.event)

    def _apply(self, step: Step, incoming: Incoming, event: CloudEvent[Any]) -> Step:
        """What a decoded record changes (its outputs carry the trace in hand)."""
        if incoming.topic == CONTACTS_FAMILIES_MERGED.name:
            self._merge(step, event)
            return step
        spec = FAMILY_TOPICS.get(incoming.topic)
        if spec is None:
            return step  # the read model's alone, or a privacy request (the ledger answers it)
        key = self.resolve(spec.family_of(event.data))
        family = self.load(key)
        if event.id in family.seen:
            step.duplicate = True
            return step
        at = spec.time_of(event.data)
        spec.apply(family, event.data)
        family.saw(event.id, incoming.topic.split(".", 1)[1].rsplit(".", 1)[0], at, day_of(at))
        step.outputs = [output_event(o, self.source_uri) for o in outputs.review(family, at, self.th)]
        step.families[key] = family
        return step

    def _merge(self, step: Step, event: CloudEvent[Any]) -> None:
        """Fold the merged families into the family. The two tables (pictures, aliases) have a changelog each,
        so a SIGKILL can leave one without the merge: a replay puts back an alias lost and folds a picture
        still held under a merged id, whichever table kept the merge."""
        data: FamiliesMerged = event.data
        key = self.resolve(data.family_id)
        family = self.load(key)
        if event.id in family.seen:  # the picture has the merge: only what the other table lost
            step.duplicate = True
            for merged_id in data.merged_family_ids:
                own = str(merged_id)
                if own != key and self.resolve(merged_id) != key:
                    step.aliases[own] = key
                if own != key and self._has_picture(own):
                    step.families[own] = None
            return
        for merged_id in data.merged_family_ids:
            own, other_key = str(merged_id), self.resolve(merged_id)
            if other_key == key:
                if own != key and self._has_picture(own):  # the alias kept the merge, the picture lost it
                    family = family.merged_with(self.load(own))
                    step.families[own] = None
                continue
            family = family.merged_with(self.load(other_key))
            step.families[other_key] = None
            step.aliases[other_key] = key
        family.saw(event.id, "families-merged", data.merged_at, day_of(data.merged_at))
        step.families[key] = family
        step.outputs = [output_event(o, self.source_uri) for o in outputs.review(family, data.merged_at, self.th)]

    def _has_picture(self, key: str) -> bool:
        if key in self._pending:
            return self._pending[key] is not None
        return bool(self.families.get(key))

    def review_keys(self) -> list[str]:
        """Every family the stream holds (and those staged): one round of reviews."""
        return list(set(self.families.keys()) | {k for k, v in self._pending.items() if v is not None})

    def review_all(self, at: datetime) -> Step:
        """Every family reviewed as of `at` (a sustain period ending, a quiet period over), in order."""
        return self.review(sorted(self.review_keys()), at)

    def review(self, keys: Iterable[str], at: datetime) -> Step:
        """These families reviewed as of `at` (a family merged away meanwhile has nothing to say)."""
        step = Step()
        for key in keys:
            family = self.load(key)
            found = outputs.review(family, at, self.th)
            if found:
                step.families[key] = family
                step.outputs += [output_event(o, self.source_uri) for o in found]
        return self._stage(step)

    def commit(self) -> None:
        """Store the staged pictures (once the SQL side committed)."""
        for key, target in self._pending_aliases.items():
            self.aliases[key] = target
        for key, family in self._pending.items():
            if family is None:
                self.families.pop(key, None)
            else:
                self.families[key] = family if self.objects else family.model_dump(mode="json")
        self.discard()

    def discard(self) -> None:
        """Forget the staged steps (the SQL side failed: the records will be read again)."""
        self._pending.clear()
        self._pending_aliases.clear()
