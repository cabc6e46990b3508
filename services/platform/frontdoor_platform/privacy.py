"""Answering a privacy request (`frontdoor_contracts.privacy`) the same way
in every service: the service says what it holds about the people, per
class of the retention schedule, and how to erase or correct it
(`PrivacyHooks`); this module decides what an erasure may touch (the
schedule's `on_request`, and the request's `erasure_refused`), adds the
read log's reads of the people's records to an access export, seals the
export to the requester, and puts the one answer in the outbox, in the
caller's transaction. A request read again (a replay) is answered once:
the answer's outbox id is the request's and the service's, written with
`ON CONFLICT DO NOTHING`, so two workers reading it at once (a partition
moved mid-batch) answer it once and neither fails its batch. An access or
rectify request older than the outbox keeps its rows (7 days: the answer may
be gone) is not answered (the command that asked waits minutes, not days);
an erasure is applied however late (erasing again changes nothing).

Nothing here logs a record, an identifier or a field's value: only the
request id, the kind and counts."""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from sqlmodel import Session, col, select

from frontdoor_contracts.envelope import CloudEvent, new_event
from frontdoor_contracts.errors import FieldError, InvalidEvent, parse_event
from frontdoor_contracts.personal import SealBroken, open_sealed, seal_to
from frontdoor_contracts.privacy import (
    ClassAction,
    ClassAnswer,
    PrivacyAnswered,
    PrivacyKind,
    PrivacyRequested,
    reply_context,
    sealed_context,
)
from frontdoor_contracts.retention import OUTBOX, Schedule
from frontdoor_contracts.topics import PRIVACY_REPLIES, PRIVACY_REQUESTS

from .outbox_table import OutboxFields, add_event_once
from .reads import ReadTables, record_of
from .routes import Consumed, Route, Routes

log = logging.getLogger("frontdoor.privacy")
NOTHING_PERSONAL = ("Nothing left to erase or correct here: ids, codes and times only (or erased already); the "
                    "records stay for the class's period.")


@dataclass
class Holding:
    """What a service holds about the request's people: per retention class, the records (JSON-able dicts:
    what the export shows), and which read-log records (`<kind>:<id>`) are theirs."""

    classes: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    read_records: list[str] = field(default_factory=list)


class PrivacyHooks(Protocol):
    """A service's part. `shared` is the service's opened share of the request (`sealed_for`: identifiers it
    needs beyond ids, a rectify's corrections), or None. `erase` and `rectify` act only on `classes` and
    return how many records of each they changed."""

    def held(self, session: Session, request: PrivacyRequested, shared: Mapping[str, Any] | None) -> Holding: ...

    def erase(self, session: Session, request: PrivacyRequested, shared: Mapping[str, Any] | None,
              classes: frozenset[str], now: datetime) -> dict[str, int]: ...

    def rectify(self, session: Session, request: PrivacyRequested, shared: Mapping[str, Any] | None,
                classes: frozenset[str], now: datetime) -> dict[str, int]: ...


def answer_id(request_id: uuid.UUID, service: str) -> str:
    return f"privacy-answer:{request_id}:{service}"


def person_records(request: PrivacyRequested) -> list[str]:
    """The read-log records every service may hold about the request's people: people, families, contacts."""
    return [*(record_of("person", i) for i in request.person_ids),
            *(record_of("family", i) for i in request.family_ids),
            *(record_of("contact", i) for i in request.contact_ids)]


@dataclass(frozen=True)
class Responder:
    service: str
    source: str
    hooks: PrivacyHooks
    schedule: Schedule
    reads: ReadTables
    outbox: type[OutboxFields]
    wrapping_key: Callable[[], bytes | None] = lambda: None  # the service's key for its sealed share

    def shared(self, request: PrivacyRequested) -> Mapping[str, Any] | None:
        sealed = request.sealed_for.get(self.service)
        key = self.wrapping_key()
        if sealed is None or key is None:
            return None
        try:
            return open_sealed(key, sealed, sealed_context(request.request_id, self.service))
        except SealBroken:
            broken = FieldError(f"sealed_for.{self.service}", "does_not_open",
                                "this service's share does not open with its key")
            raise InvalidEvent("sealed_share_broken", [broken]) from None

    def answer(self, session: Session, request: PrivacyRequested, now: datetime) -> PrivacyAnswered | None:
        """Answer `request` once, in the caller's transaction; None when it was answered already."""
        if request.kind is not PrivacyKind.ERASE and now - request.requested_at > self.schedule.of(OUTBOX).period:
            # Older than the outbox keeps an answer: it may have been answered and purged, and no command still
            # waits for it (the command waits minutes); a late correction could undo a newer one. An erasure is
            # applied however late (a service down for a week still erases; erasing again changes nothing).
            log.warning("privacy request too old to answer", extra={"request_id": str(request.request_id)})
            return None
        event_id = answer_id(request.request_id, self.service)
        if session.exec(select(self.outbox.id).where(col(self.outbox.event_id) == event_id)).first() is not None:
            return None
        shared = self.shared(request)
        holding = self.hooks.held(session, request, shared)
        answers, part = self._act(session, request, shared, holding, now)
        answered = PrivacyAnswered(request_id=request.request_id, service=self.service, kind=request.kind,
                                   answered_at=now, classes=answers, part=part)
        if not add_event_once(session, self.outbox, PRIVACY_REPLIES.name, str(request.request_id),
                              new_event(answered, source=self.source, event_id=event_id, time=now), now):
            return None  # another worker answered it meanwhile (its erasure and this one's change the same rows)
        log.info("privacy request answered", extra={"request_id": str(request.request_id), "kind": request.kind.value,
                                                    "classes": len(answers)})
        return answered

    def _act(self, session: Session, request: PrivacyRequested, shared: Mapping[str, Any] | None,
             holding: Holding, now: datetime) -> tuple[list[ClassAnswer], Any]:
        counts = {name: len(records) for name, records in holding.classes.items()}
        if request.kind is PrivacyKind.ACCESS:
            reads = self.reads.reads_of_records(session, [*person_records(request), *holding.read_records])
            document = fitted({"service": self.service, "classes": holding.classes,
                               "reads": [{"at": r.at.isoformat(), "reader": r.reader, "route": r.route,
                                          "record": r.record} for r in reads]})
            part = seal_to(request.reply_key, document, reply_context(request.request_id, self.service))
            answers = [ClassAnswer(retention_class=name, records=count,
                                   action=ClassAction.EXPORTED if count else ClassAction.NONE_HELD)
                       for name, count in counts.items()]
            answers.append(ClassAnswer(retention_class="read_log", records=len(reads),
                                       action=ClassAction.EXPORTED if reads else ClassAction.NONE_HELD))
            return answers, part
        refused = request.erasure_refused if request.kind is PrivacyKind.ERASE else None
        allowed = frozenset(name for name, count in counts.items()
                            if count and refused is None and self.schedule.of(name).on_request == "erase")
        act = self.hooks.erase if request.kind is PrivacyKind.ERASE else self.hooks.rectify
        changed = act(session, request, shared, allowed, now) if allowed else {}
        done = ClassAction.ERASED if request.kind is PrivacyKind.ERASE else ClassAction.RECTIFIED
        answers = []
        for name, count in counts.items():
            if not count:
                answers.append(ClassAnswer(retention_class=name, records=0, action=ClassAction.NONE_HELD))
            elif name in allowed and changed.get(name, 0):
                answers.append(ClassAnswer(retention_class=name, records=changed[name], action=done))
            elif name in allowed:  # the class's records here hold no personal fields to erase or correct
                answers.append(ClassAnswer(retention_class=name, records=count, action=ClassAction.KEPT,
                                           reason=NOTHING_PERSONAL))
            else:
                answers.append(ClassAnswer(retention_class=name, records=count, action=ClassAction.KEPT,
                                           reason=refused or self.schedule.of(name).kept_because))
        return answers, None


MAX_PART_JSON = 560_000  # bytes of JSON: sealed and base64-encoded it stays under SealedReply's 800,000


def fitted(document: dict[str, Any], limit: int = MAX_PART_JSON) -> dict[str, Any]:
    """The export part within one answer record: when it is too large, the oldest reads are left out first,
    then each class's oldest records, and `left_out` says how many of each (the admin's
    `GET /v1/reads?record=` lists every read; the command says a part was cut)."""
    def size(d: dict[str, Any]) -> int:
        return len(json.dumps(d, default=str, separators=(",", ":")))

    if size(document) <= limit:
        return document
    reads, classes = list(document["reads"]), {k: list(v) for k, v in document["classes"].items()}
    left_out: dict[str, int] = {}
    while size({**document, "reads": reads, "classes": classes, "left_out": left_out}) > limit:
        if reads:
            cut = max(1, len(reads) // 4)
            reads, left_out["reads"] = reads[cut:], left_out.get("reads", 0) + cut
            continue
        name = max(classes, key=lambda k: len(classes[k]), default=None)
        if name is None or not classes[name]:
            break
        cut = max(1, len(classes[name]) // 4)
        classes[name], left_out[name] = classes[name][cut:], left_out.get(name, 0) + cut
    return {**document, "reads": reads, "classes": classes, "left_out": left_out}


def decode_request(raw: bytes) -> CloudEvent[PrivacyRequested]:
    return parse_event(raw, PrivacyRequested, lenient=True)


def privacy_route(responder: Responder) -> Route[CloudEvent[PrivacyRequested], PrivacyAnswered | None]:
    """The kit consumer's route for privacy.requests.v1."""
    def apply(session: Session, event: CloudEvent[PrivacyRequested], where: Consumed) -> PrivacyAnswered | None:
        return responder.answer(session, event.data, where.now)

    return Route(decode=decode_request, apply=apply, trace=lambda event: (event.id, event.traceparent),
                 describe=lambda answered: {"answered": answered is not None},
                 erased=lambda answered: answered is not None and answered.kind is not PrivacyKind.ACCESS)


def add_privacy_route(routes: Routes, responder: Responder) -> Routes:
    return routes.add(PRIVACY_REQUESTS.name, privacy_route(responder))


def records_in(rows: Sequence[Any], *names: str) -> list[dict[str, Any]]:
    """An export's records: the named attributes of each row (ids, codes, times; personal fields where the
    class holds them), JSON-able."""
    def value(v: Any) -> Any:
        if isinstance(v, datetime):
            return v.isoformat()
        if isinstance(v, uuid.UUID):
            return str(v)
        if hasattr(v, "isoformat"):
            return v.isoformat()
        if hasattr(v, "value"):
            return v.value
        return v
    return [{name: value(getattr(row, name)) for name in names} for row in rows]
