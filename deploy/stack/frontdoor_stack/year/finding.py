"""Finding the generated year's cases on the live platform, as `CaseRef`
says (events.py): by id when the allocation service derives it from a MASH
decision; else the open case of the family of a contact (the contacts
service's `GET /v1/contacts/{id}` names the family) or of the family that
partner records were matched to (`contacts.partner-fact-matched.v1` names
it, under a fact id derived from the record's source, dataset and
record_ref). `FactIndex` reads those facts, and the allocation service's
case-opened, case-closed and stepped-up events, so a case is mostly found
without a request (when the topics do not say, the family's open case is
asked for: `GET /v1/cases?family_id=`). A case found is remembered under the
ref's key. Only ids go over the wire and into memory here: no names."""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from typing import Any

import httpx
from aiokafka import AIOKafkaConsumer

from frontdoor_contracts.partners import FACT_ID_NAMESPACE
from frontdoor_contracts.topics import (
    ALLOCATION_CASE_CLOSED,
    ALLOCATION_CASE_OPENED,
    ALLOCATION_STEPPED_UP,
    CONTACTS_PARTNER_FACT_MATCHED,
)
from frontdoor_contracts.vocabulary import PartnerDataset
from frontdoor_platform.kafka_security import PLAINTEXT, KafkaSecurity

from .events import CaseRef, PartnerRecordRef

ASK_EVERY = 4  # looks for a case on the topics before one asks the allocation service for the family's


def fact_id(record: PartnerRecordRef) -> uuid.UUID:
    """The fact id the contacts service gives the record (the contracts' FACT_ID_NAMESPACE and recipe)."""
    dataset = PartnerDataset(record.dataset).value
    return uuid.uuid5(FACT_ID_NAMESPACE, f"{record.source}\n{dataset}\n{record.record_ref}")


class FactIndex:
    """Read in the background from the start of the topics: fact id -> family id
    (`contacts.partner-fact-matched.v1`), and each family's open cases (`allocation.case-opened.v1`, less
    those `allocation.case-closed.v1` and `allocation.stepped-up.v1` ended), so that finding a case by its
    family needs no request."""

    TOPICS = (CONTACTS_PARTNER_FACT_MATCHED.name, ALLOCATION_CASE_OPENED.name, ALLOCATION_CASE_CLOSED.name,
              ALLOCATION_STEPPED_UP.name)

    def __init__(self, bootstrap: str, security: KafkaSecurity = PLAINTEXT):
        self.bootstrap, self.security = bootstrap, security
        self.families: dict[uuid.UUID, uuid.UUID] = {}
        self.open_cases: dict[str, dict[str, None]] = {}  # family id -> its open cases' ids, oldest first
        self.opened: set[str] = set()  # every case opened
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._read())

    async def _read(self) -> None:
        consumer = AIOKafkaConsumer(*self.TOPICS, bootstrap_servers=self.bootstrap, group_id=None,
                                    auto_offset_reset="earliest", enable_auto_commit=False,
                                    **self.security.client_kwargs())
        await consumer.start()
        try:
            async for record in consumer:
                self.take(record.value, record.topic)
        finally:
            await consumer.stop()

    def take(self, value: bytes | None, topic: str = CONTACTS_PARTNER_FACT_MATCHED.name) -> None:
        try:
            data: dict[str, Any] = json.loads(value or b"{}").get("data") or {}
            if topic == CONTACTS_PARTNER_FACT_MATCHED.name:
                self.families[uuid.UUID(str(data["fact_id"]))] = uuid.UUID(str(data["family_id"]))
            elif topic == ALLOCATION_CASE_OPENED.name:
                self.open_cases.setdefault(str(data["family_id"]), {})[str(data["case_id"])] = None
                self.opened.add(str(data["case_id"]))
            else:
                self.open_cases.get(str(data["family_id"]), {}).pop(str(data["case_id"]), None)
        except (ValueError, KeyError, TypeError, AttributeError):
            return  # not an event we can read: the player cannot use it, nothing else to do

    def open_case_of(self, families: set[str]) -> str | None:
        found = [case for family in families for case in self.open_cases.get(family, {})]
        return found[-1] if found else None

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task


class CaseFinder:
    """CaseRef -> the case id on the allocation service (None: not there yet)."""

    def __init__(self, allocation: httpx.AsyncClient, contacts: httpx.AsyncClient, facts: FactIndex):
        self.allocation, self.contacts, self.facts = allocation, contacts, facts
        self.known: dict[str, str] = {}
        self.contact_families: dict[uuid.UUID, str] = {}
        self.misses: dict[str, int] = {}

    async def find(self, ref: CaseRef) -> str | None:
        if ref.key in self.known:
            return self.known[ref.key]
        found = await self._look(ref)
        if found is not None:
            self.known[ref.key] = found
        return found

    def forget(self, ref: CaseRef) -> None:
        self.known.pop(ref.key, None)

    async def _look(self, ref: CaseRef) -> str | None:
        if ref.case_id is not None:
            if str(ref.case_id) in self.facts.opened:
                return str(ref.case_id)
            response = await self.allocation.get(f"/v1/cases/{ref.case_id}")
            return str(ref.case_id) if response.status_code == 200 else None
        families = {str(self.facts.families[f]) for f in map(fact_id, ref.partner_records) if f in self.facts.families}
        if ref.contact_id is not None:
            family = await self._family_of(ref.contact_id)
            if family is not None:
                families.add(family)
        found = self.facts.open_case_of(families)
        if found is None and families:
            self.misses[ref.key] = self.misses.get(ref.key, 0) + 1
            if self.misses[ref.key] % ASK_EVERY == 0:  # not seen on the topic (a merged family?): ask
                found = await self._open_case_of(families)
        if found is None and ref.contact_id is not None:
            self.contact_families.pop(ref.contact_id, None)  # (families merge: ask again next time)
        return found

    async def _family_of(self, contact_id: uuid.UUID) -> str | None:
        """The family the contacts service put the contact in (asked once)."""
        if contact_id not in self.contact_families:
            response = await self.contacts.get(f"/v1/contacts/{contact_id}")
            if response.status_code != 200:
                return None
            self.contact_families[contact_id] = str(response.json()["family_id"])
        return self.contact_families[contact_id]

    async def _open_case_of(self, families: set[str]) -> str | None:
        """The open case of any of `families` as the allocation service has it (`GET /v1/cases?family_id=`:
        that family's case, or the one of the family it was merged into)."""
        for family in sorted(families):
            response = await self.allocation.get("/v1/cases", params={"family_id": family})
            if response.status_code == 200 and response.json().get("cases"):
                return str(response.json()["cases"][-1]["case_id"])
        return None
