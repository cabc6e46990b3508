"""A burst for several contacts workers on a real broker and PostgreSQL (unique module name: pytest puts
this folder on sys.path through its conftest): households whose children and parent are named by many
contacts (by every mix of NHS number, UPN and name + date of birth + postcode, with and without the
parent, in both orders, some of them police DA incidents) and decisions on some of them, produced at
once in a shuffled order to a topic of their own (keys: the contact ids, so they spread over the
partitions), and what one worker would have made of them, to check what several made."""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from contacts_testkit import decision_event, make_contact, nhs_number, upn

from contacts.domain.referrals import is_re_referral
from frontdoor_contracts.contacts import contact_id_for
from frontdoor_contracts.envelope import CloudEvent, encode_event
from frontdoor_contracts.vocabulary import REFERRAL_DECISIONS, Decision

DECIDED = datetime.fromisoformat("2025-01-10T10:00:00+00:00")
# Each household's contacts: which children (with which of their keys), whether the parent is named (and
# by what), whether it is a police DA incident, and the decision on it (with its day after DECIDED).
PLAN: tuple[tuple[tuple[tuple[str, str], ...], str | None, bool, tuple[str, int] | None], ...] = (
    ((("a", "all"),), "all", False, ("s47_strategy_discussion", 0)),
    ((("b", "name"),), None, False, None),
    ((("a", "nhs"), ("b", "upn")), "all", False, ("early_help", 59)),
    ((("b", "name"), ("a", "name")), None, False, None),
    ((("a", "all"), ("b", "all")), "all", True, ("social_care_assessment", 151)),
    ((("a", "upn"),), None, False, None),
    ((("b", "nhs"),), None, True, ("s47_strategy_discussion", 325)),
    ((("b", "all"),), "name", False, None),
)


def letters(number: int) -> str:
    """A household number as letters (names compare by their letters only)."""
    return "".join("abcdefghij"[int(digit)] for digit in str(number))


@dataclass(frozen=True)
class Household:
    number: int

    def child(self, which: str, keys: str) -> dict[str, Any]:
        seed = self.number * 10 + (1 if which == "a" else 2)
        born = f"201{5 if which == 'a' else 7}-0{1 + self.number % 9}-11"
        facts: dict[str, Any] = {"ref": which, "given_name": f"Burst{which}{letters(self.number)}",
                                 "family_name": "Workers", "date_of_birth": born, "postcode": self.postcode()}
        if keys in ("all", "nhs"):
            facts["nhs_number"] = nhs_number(5_000_000 + seed * 97)
        if keys in ("all", "upn"):
            facts["upn"] = upn(5_000_000 + seed * 97)
        return facts

    def parent(self, keys: str) -> dict[str, Any]:
        facts: dict[str, Any] = {"ref": "p", "given_name": f"Parent{letters(self.number)}", "family_name": "Workers",
                                 "relationship": "mother", "date_of_birth": "1988-02-03", "postcode": self.postcode()}
        if keys == "all":
            facts["nhs_number"] = nhs_number(6_000_000 + self.number * 97)
        return facts

    def postcode(self) -> str:
        return f"RG{1 + self.number % 9} {self.number % 10}WW"

    def nhs_numbers(self) -> dict[str, str]:
        return {"a": self.child("a", "nhs")["nhs_number"], "b": self.child("b", "nhs")["nhs_number"],
                "p": self.parent("all")["nhs_number"]}


@dataclass
class Burst:
    """The events, and what one worker makes of them."""

    households: list[Household]
    contacts: dict[uuid.UUID, tuple[Household, CloudEvent[Any]]] = field(default_factory=dict)
    decisions: dict[uuid.UUID, CloudEvent[Any]] = field(default_factory=dict)
    da_children: set[str] = field(default_factory=set)  # the NHS numbers of the children DA incidents name
    links: int = 0
    # (child's NHS number, contact id) -> re-referral, for each child of each referral
    referrals: dict[tuple[str, uuid.UUID], bool] = field(default_factory=dict)

    @classmethod
    def of(cls, households: int, start: int = 1) -> Burst:
        burst = cls([Household(n) for n in range(start, start + households)])
        for household in burst.households:
            burst._add(household)
        return burst

    def _add(self, household: Household) -> None:
        referred: dict[str, list[tuple[datetime, uuid.UUID]]] = {"a": [], "b": []}
        for children, parent, police, decision in PLAN:
            more: dict[str, Any] = {}
            if police:
                more = {"referrer_source": "police", "concerns": ["domestic_abuse"],
                        "da_incident": {"occurred_at": "2026-03-01T22:40:00+00:00",
                                        "police_reference": f"TVP-W-{uuid.uuid4().hex[:8]}",
                                        "children": [{"child_ref": which, "present": True} for which, _ in children]}}
                self.da_children |= {household.nhs_numbers()[which] for which, _ in children}
            event = make_contact(children=[household.child(which, keys) for which, keys in children],
                                 adults=[household.parent(parent)] if parent else [], **more)
            contact_id = contact_id_for(event.source, event.id)
            self.contacts[contact_id] = (household, event)
            self.links += len(children) + (parent is not None)
            if decision is not None:
                made, day = decision
                decided_at = DECIDED + timedelta(days=day)
                self.decisions[contact_id] = decision_event(contact_id, made, decided_at.isoformat())
                if Decision(made) in REFERRAL_DECISIONS:
                    for which, _ in children:
                        referred[which].append((decided_at, contact_id))
        for which, referrals in referred.items():
            for decided_at, contact_id in referrals:
                earlier = [at for at, _ in referrals]
                self.referrals[(household.nhs_numbers()[which], contact_id)] = is_re_referral(decided_at, earlier)

    def records(self, contacts_topic: str, decisions_topic: str, seed: int = 18) -> list[tuple[str, str, bytes]]:
        """(topic, key, value) of every event, shuffled: decisions may come before their contacts."""
        found = [(contacts_topic, str(cid), encode_event(event)) for cid, (_, event) in self.contacts.items()]
        found += [(decisions_topic, str(cid), encode_event(event)) for cid, event in self.decisions.items()]
        random.Random(seed).shuffle(found)
        return found

    def decided_flags(self) -> dict[uuid.UUID, bool]:
        """Each decided contact's re-referral flag: any of its children re-referred."""
        flags = {cid: False for cid in self.decisions}
        for (_, cid), re_referral in self.referrals.items():
            flags[cid] |= re_referral
        return flags


async def new_topics(bootstrap: str, *names: str, partitions: int) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(name, partitions, 1) for name in names])
    finally:
        await admin.close()


async def produce(bootstrap: str, records: list[tuple[str, str, bytes]]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True)
    await producer.start()
    try:
        sent = [await producer.send(topic, value, key=key.encode()) for topic, key, value in records]
        for delivery in sent:
            await delivery
    finally:
        await producer.stop()

