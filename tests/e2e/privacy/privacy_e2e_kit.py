"""What the privacy end-to-end test and its conftest share (imported relatively: pytest names this directory's
modules `tests.e2e.privacy.*`): the synthetic child and its journey, the real `frontdoor-stack privacy`
command as an admin runs it (the person on standard input, never on the command line), and the evidence:
the child's bytes in the stack's files and on the broker's disk, the records about them on the services'
topics, the data keys the services hold and what they open."""

from __future__ import annotations

import contextlib
import json
import random
import sqlite3
import string
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
from aiokafka import AIOKafkaConsumer, TopicPartition

from frontdoor_contracts.contacts import da_child_context
from frontdoor_contracts.identifiers import nhs_check_digit, upn_check_letter
from frontdoor_contracts.personal import SealBroken, Sealed, WrappedKey, open_sealed, unwrap_key
from frontdoor_contracts.topics import CONTACTS_DA_INCIDENT_REPORTED, DOMAIN_TOPICS
from frontdoor_platform.wrapping import development_key
from frontdoor_stack.stack import LocalStack

WAIT = 90.0  # seconds for one step of the flow on a loaded 2-core machine (typically one or two)


def poll(fetch: Callable[[], Any], what: str, timeout: float = WAIT, every: float = 0.3) -> Any:
    """`fetch()` until it gives something truthy; that. Fails naming `what` after `timeout`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            found = fetch()
        except httpx.HTTPError:
            found = None
        if found:
            return found
        time.sleep(every)
    raise AssertionError(f"{what}: not within {timeout:.0f} s")


@dataclass(frozen=True)
class Child:
    """A synthetic child whose every detail is unique to this run (so a byte found is theirs)."""

    given_name: str
    family_name: str
    date_of_birth: str
    nhs_number: str
    upn: str
    postcode: str
    police_reference: str

    @classmethod
    def made(cls, rng: random.Random) -> Child:
        def word() -> str:
            return rng.choice(string.ascii_uppercase) + "".join(rng.choices("aeiouxzqvkw", k=7))

        while True:
            nine = f"999{rng.randrange(10**6):06d}"
            check = nhs_check_digit(nine)
            if check is not None:
                break
        body = f"{rng.randrange(10**10, 10**11)}{rng.randrange(10)}"
        born = date(2012, 1, 1) + timedelta(days=rng.randrange(6 * 365))
        return cls(word(), word(), born.isoformat(), f"{nine}{check}", upn_check_letter(body) + body,
                   f"ZZ9{rng.randrange(10)} {rng.randrange(10)}{rng.choice('ABDEFGHJ')}{rng.choice('LNPQRSTU')}",
                   f"PRV/{rng.randrange(10**7):07d}/26")

    def needles(self) -> dict[str, bytes]:
        """What must not be found anywhere after the erasure, by what it is."""
        return {"given name": self.given_name.encode(), "family name": self.family_name.encode(),
                "date of birth": self.date_of_birth.encode(), "NHS number": self.nhs_number.encode(),
                "UPN": self.upn.encode(), "postcode": self.postcode.encode(),
                "police reference": self.police_reference.encode()}


@dataclass
class Journey:
    child: Child
    contact_event: bytes
    contact_key: bytes
    contact_id: str
    person_id: str = ""
    family_id: str = ""
    case_id: str = ""
    notification_id: str = ""
    da_record: tuple[bytes, bytes, list[tuple[str, bytes]]] | None = None  # value, key, headers
    window: tuple[str, str] = ("", "")
    kpis: dict[str, Any] = field(default_factory=dict)


# -- the command ---------------------------------------------------------------------------------------------------

@dataclass
class Asked:
    code: int
    out: str
    err: str
    argv: list[str]
    export: dict[str, Any] = field(default_factory=dict)


def privacy(stack: LocalStack, contacts_url: str, kind: str, trip: Journey) -> Asked:
    """The real command line, as an admin runs it for a real person: the person as JSON on standard input
    (nothing personal in its argv, which `ps` shows), its key from the stack's credentials file."""
    command = [str(Path(sys.executable).parent / "frontdoor-stack"), "--run-dir", str(stack.root), "privacy", kind,
               "--stdin", "--bootstrap", stack.bootstrap, "--contacts-url", contacts_url, "--timeout", "180"]
    done = subprocess.run(command, input=json.dumps({"nhs_number": trip.child.nhs_number}), capture_output=True,
                          text=True, timeout=300)
    exports = sorted((stack.root / "privacy").glob("*/export.json"), key=lambda p: p.stat().st_mtime)
    return Asked(done.returncode, done.stdout, done.stderr, command,
                 json.loads(exports[-1].read_text()) if exports else {})


def printed_nothing_personal(asked: Asked, trip: Journey) -> None:
    for what, needle in trip.child.needles().items():
        for text in (asked.out, asked.err, " ".join(asked.argv)):
            assert needle.decode() not in text, what


def records_of(document: dict[str, Any]) -> int:
    return sum(c["records"] for part in document["services"].values() for c in part["classes"])


# -- bytes at rest -----------------------------------------------------------------------------------------------

def found_in_files(paths: list[Path], needles: dict[str, bytes]) -> dict[str, dict[str, int]]:
    """Per file, how many times each needle is in its bytes."""
    found: dict[str, dict[str, int]] = {}
    for path in paths:
        raw = path.read_bytes()
        hits = {what: raw.count(needle) for what, needle in needles.items() if needle in raw}
        if hits:
            found[str(path)] = hits
    return found


def broker_data(stack: LocalStack) -> Path:
    return stack.root / "kafka" / "data"


def exports_folder(stack: LocalStack) -> Path:
    return stack.root / "privacy"


def stack_files(stack: LocalStack) -> list[Path]:
    """Every file the stack keeps in its run directory: the services' data (SQLite databases with their -wal
    and -shm, the outcomes stream's directory), every log, the credentials, the receiver's and the
    monitoring's files; all but two folders, each searched on its own terms:
    - the broker's log segments (`kafka/data/`): the senders' own topics keep their transit copies as the
      schedule allows (`topics_holding`);
    - the privacy exports (`privacy/`): the requester's own copy, the access export the DPO asked for, which
      the erasure must not and cannot reach (the DPO deletes it once sent: `purge-exports`). Only for that
      reason is it left out; the test also shows it holds the child, then that nothing is left once purged."""
    skipped = (broker_data(stack), exports_folder(stack))
    return sorted(p for p in stack.root.rglob("*") if p.is_file() and not any(p.is_relative_to(s) for s in skipped))


def topics_holding(stack: LocalStack, needles: dict[str, bytes]) -> set[str]:
    """The topics whose log segments on the broker's disk hold a needle."""
    hits = found_in_files(sorted(broker_data(stack).glob("*/*.log")), needles)
    return {Path(path).parent.name.rsplit("-", 1)[0] for path in hits}


def checkpoint(stack: LocalStack) -> None:
    """Each stopped service's SQLite WAL written into its database and emptied (what a service's own checkpoint
    does), so what the WAL alone held shows apart from what the database holds."""
    for database in (stack.root / "data").glob("*.db"):
        with contextlib.closing(sqlite3.connect(database)) as db:
            db.execute("PRAGMA wal_checkpoint(TRUNCATE)")


# -- the log -------------------------------------------------------------------------------------------------------

async def every_record(bootstrap: str, topics: list[str]) -> list[tuple[str, bytes | None, bytes | None]]:
    """(topic, key, value) of every record of `topics` up to their end now."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False)
    await consumer.start()
    found: list[tuple[str, bytes | None, bytes | None]] = []
    try:
        partitions = [TopicPartition(spec.name, p) for spec in DOMAIN_TOPICS if spec.name in topics
                      for p in range(spec.partitions)]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        left = {tp for tp, end in ends.items() if end > 0}
        while left:
            for tp, records in (await consumer.getmany(*left, timeout_ms=1000)).items():
                found += [(tp.topic, r.key, r.value) for r in records if r.offset < ends[tp]]
            left = {tp for tp in left if await consumer.position(tp) < ends[tp]}
    finally:
        await consumer.stop()
    return found


def about(trip: Journey, key: bytes | None, value: bytes | None) -> bool:
    ids = [trip.contact_id, trip.person_id, trip.family_id, trip.case_id, trip.notification_id]
    return any(i.encode() in (key or b"") + (value or b"") for i in ids)


def held_keys(stack: LocalStack) -> dict[tuple[str, str], bytes]:
    """Every data key the services hold at rest, unwrapped with their (development) wrapping keys, by (service,
    person id)."""
    held: dict[tuple[str, str], bytes] = {}
    for service, columns in (("contacts", "wrapping_key_id"), ("notifications", "service_key_id")):
        with contextlib.closing(sqlite3.connect(stack.root / "data" / f"{service}.db")) as db:
            rows = db.execute(f"SELECT person_id, {columns}, nonce, ciphertext FROM person_keys "
                              "WHERE ciphertext IS NOT NULL").fetchall()
        for person, key_id, nonce, ciphertext in rows:
            person_id = uuid.UUID(str(person))
            wrapped = WrappedKey(service_key_id=key_id, nonce=nonce, ciphertext=ciphertext)
            held[(service, str(person_id))] = unwrap_key(service, development_key(service).key, person_id, wrapped)
    return held


def openable(records: list[tuple[str, bytes | None, bytes | None]], keys: list[bytes]) -> int:
    """How many sealed values on the DA topic open with one of `keys`."""
    opened = 0
    for topic, _, value in records:
        if topic != CONTACTS_DA_INCIDENT_REPORTED.name or value is None:
            continue
        data = json.loads(value)["data"]
        for child in data["children"]:
            context = da_child_context(uuid.UUID(data["contact_id"]), uuid.UUID(child["child_id"]))
            for key in keys:
                with contextlib.suppress(SealBroken):
                    opened += open_sealed(key, Sealed.model_validate(child["personal"]), context) is not None
    return opened
