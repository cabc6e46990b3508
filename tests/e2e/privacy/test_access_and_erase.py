"""Done means (issue 16): a child through contact, decision, case, DA notification and outcomes on the stack
(conftest.py), then, with the real `frontdoor-stack privacy` command:

- `privacy access` gets every service's part (4 of 4) with the reads made on the way, and prints nothing
  personal;
- `privacy erase`, then a redelivery of the original contact and of the DA incident record: no service's
  database file (WAL included, after the services stopped) and no service log holds the child's name, date of
  birth, NHS number, UPN, postcode or police reference, byte for byte; on the broker they are only in the
  senders' own topics (intake, enrolments: the schedule keeps those transit copies); every record about the
  child on every topic the services write still parses, and its sealed fields open with no key any service
  holds (the child's key is gone from contacts and notifications, its topic has the tombstone); the KPI report
  is unchanged, and an outcomes rebuild from the topics gives the same report;
- (compaction then removes the key record under the tombstone: tests/e2e/stack/test_person_keys_topic.py).

The figures (records found before, bytes found after) are printed and recorded as properties."""

from __future__ import annotations

import asyncio
import contextlib
import json
import sqlite3
import subprocess
import sys
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition

from frontdoor_contracts.contacts import da_child_context
from frontdoor_contracts.errors import parse_event
from frontdoor_contracts.personal import PersonKeyIssued, SealBroken, Sealed, WrappedKey, open_sealed, unwrap_key
from frontdoor_contracts.topics import (
    CONTACTS_DA_INCIDENT_REPORTED,
    CONTACTS_PERSON_KEYS,
    DOMAIN_TOPICS,
    FRONTDOOR_CONTACTS,
    SERVICES,
    dead_letter_topic,
)
from frontdoor_platform.wrapping import development_key
from frontdoor_stack.stack import LocalStack

pytestmark = pytest.mark.e2e
WRITTEN_BY_SERVICES = [spec for spec in DOMAIN_TOPICS if set(spec.producers) <= set(SERVICES)]
SENDERS_COPIES = {name for spec in DOMAIN_TOPICS if not set(spec.producers) <= set(SERVICES)
                  for name in (spec.name, dead_letter_topic(spec.name))}


@dataclass
class Asked:
    code: int
    out: str
    err: str
    export: dict[str, Any] = field(default_factory=dict)


def privacy(flow: Any, kind: str, trip: Any) -> Asked:
    """The real command line, as an admin runs it on the stack (its key from the stack's credentials file)."""
    stack = flow.stack
    command = [str(Path(sys.executable).parent / "frontdoor-stack"), "--run-dir", str(stack.root), "privacy", kind,
               "--nhs-number", trip.child.nhs_number, "--bootstrap", stack.bootstrap,
               "--contacts-url", flow.url("contacts"), "--timeout", "180"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300)
    exports = sorted((stack.root / "privacy").glob("*/export.json"), key=lambda p: p.stat().st_mtime)
    return Asked(done.returncode, done.stdout, done.stderr, json.loads(exports[-1].read_text()) if exports else {})


def printed_nothing_personal(asked: Asked, trip: Any) -> None:
    for what, needle in trip.child.needles().items():
        assert needle.decode() not in asked.out and needle.decode() not in asked.err, what


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


def service_files(stack: LocalStack) -> list[Path]:
    """Every file of the services' data (SQLite databases with their -wal and -shm, the stream's directory)
    and their logs."""
    return sorted(p for folder in (stack.root / "data", stack.root / "logs") for p in folder.rglob("*") if p.is_file())


def topics_holding(stack: LocalStack, needles: dict[str, bytes]) -> set[str]:
    """The topics whose log segments on the broker's disk hold a needle."""
    hits = found_in_files(sorted((stack.root / "kafka" / "data").glob("*/*.log")), needles)
    return {Path(path).parent.name.rsplit("-", 1)[0] for path in hits}


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


def about(trip: Any, key: bytes | None, value: bytes | None) -> bool:
    ids = [trip.contact_id, trip.person_id, trip.family_id, trip.case_id, trip.notification_id]
    return any(i.encode() in (key or b"") + (value or b"") for i in ids)


def held_keys(stack: LocalStack) -> dict[tuple[str, str], bytes]:
    """Every data key the services hold at rest, unwrapped with their (development) wrapping keys, by (service,
    person id)."""
    held: dict[tuple[str, str], bytes] = {}
    for service, columns in (("contacts", "wrapping_key_id"), ("notifications", "service_key_id")):
        with sqlite3.connect(stack.root / "data" / f"{service}.db") as db:
            rows = db.execute(f"SELECT person_id, {columns}, nonce, ciphertext FROM person_keys "
                              "WHERE ciphertext IS NOT NULL").fetchall()
        for person, key_id, nonce, ciphertext in rows:
            person_id = uuid.UUID(str(person))
            wrapped = WrappedKey(service_key_id=key_id, nonce=nonce, ciphertext=ciphertext)
            held[(service, str(person_id))] = unwrap_key(service, development_key(service).key, person_id, wrapped)
    return held


def openable(trip: Any, records: list[tuple[str, bytes | None, bytes | None]], keys: list[bytes]) -> int:
    """How many sealed values about the child on the DA topic open with one of `keys`."""
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


# -- the request and the erasure, once each ------------------------------------------------------------------------

@pytest.fixture(scope="module")
def accessed(flow: Any, journey: Any) -> Asked:
    return privacy(flow, "access", journey)


@dataclass
class Erased:
    before: dict[str, Any]
    asked: Asked
    kpis_after: dict[str, Any]
    kpis_after_redelivery: dict[str, Any]
    files_after: dict[str, dict[str, int]]
    files_after_checkpoint: dict[str, dict[str, int]]
    topics_after: set[str]
    records: list[tuple[str, bytes | None, bytes | None]]
    keys_after: dict[tuple[str, str], bytes]
    rebuilt: dict[str, Any]
    contact_after: Any


@pytest.fixture(scope="module")
def erased(flow: Any, journey: Any, accessed: Asked, tmp_path_factory: pytest.TempPathFactory) -> Erased:
    stack: LocalStack = flow.stack
    needles = journey.child.needles()
    topics = [spec.name for spec in WRITTEN_BY_SERVICES]
    records = asyncio.run(every_record(stack.bootstrap, topics))
    keys = held_keys(stack)
    before = {"records_exported": records_of(accessed.export),
              "files": found_in_files(service_files(stack), needles),
              "topic_records_about_the_child": sum(about(journey, k, v) for _, k, v in records),
              "sealed_values_open": openable(journey, records, list(keys.values())),
              "keys_held": sorted(service for service, person in keys if person == journey.person_id)}
    asked = privacy(flow, "erase", journey)
    kpis_after = flow.kpis(journey)
    redeliver(flow, journey)
    kpis_after_redelivery = flow.kpis(journey)
    contact_after = flow.got(f"{flow.url('contacts')}/v1/contacts/{journey.contact_id}",
                             flow.bearer("contacts", "read"))
    records = asyncio.run(every_record(stack.bootstrap, topics))
    for process in stack.processes:
        process.stop()  # SQLite checkpoints its WAL as the last connection closes
    files_after = found_in_files(service_files(stack), needles)
    checkpoint(stack)
    rebuilt = rebuild(stack, journey, tmp_path_factory.mktemp("rebuilt"))
    return Erased(before, asked, kpis_after, kpis_after_redelivery, files_after,
                  found_in_files(service_files(stack), needles), topics_holding(stack, needles), records,
                  held_keys(stack), rebuilt, contact_after)


def checkpoint(stack: LocalStack) -> None:
    """Each stopped service's SQLite WAL written into its database and emptied (what a service's own checkpoint
    does), so what the WAL alone held shows apart from what the database holds."""
    for database in (stack.root / "data").glob("*.db"):
        with contextlib.closing(sqlite3.connect(database)) as db:
            db.execute("PRAGMA wal_checkpoint(TRUNCATE)")


def redeliver(flow: Any, trip: Any) -> None:
    """The original contact and the DA incident record published again, then consumed by every service that
    reads them (outcomes is allowed the DA topic but reads no DA incident: it has no offset there)."""
    assert trip.da_record is not None
    value, key, headers = trip.da_record
    readers = [s for s in CONTACTS_DA_INCIDENT_REPORTED.consumers if flow.reads(s, CONTACTS_DA_INCIDENT_REPORTED.name)]
    assert "notifications" in readers
    flow.publish(FRONTDOOR_CONTACTS.name, trip.contact_event, trip.contact_key)
    flow.publish(CONTACTS_DA_INCIDENT_REPORTED.name, value, key, headers)
    flow.wait_consumed("contacts", FRONTDOOR_CONTACTS.name)
    for service in readers:
        flow.wait_consumed(service, CONTACTS_DA_INCIDENT_REPORTED.name)


def rebuild(stack: LocalStack, trip: Any, folder: Path) -> dict[str, Any]:
    outcomes = next(p for p in stack.processes if p.spec.name == "outcomes")
    report = folder / "report.json"
    outcomes.run_command("rebuild", "--into", f"sqlite:///{folder / 'rebuilt.db'}", "--start", trip.window[0],
                         "--end", trip.window[1], "--report", str(report), "--quiet")
    rebuilt: dict[str, Any] = json.loads(report.read_text())
    rebuilt.pop("generated_at", None)
    return rebuilt


# -- the tests ---------------------------------------------------------------------------------------------------

def test_access_returns_every_services_part_with_the_reads_made_on_the_way(
        accessed: Asked, journey: Any, record_property: Any) -> None:
    assert accessed.code == 0, accessed.err
    printed_nothing_personal(accessed, journey)
    export = accessed.export
    assert export["kind"] == "access" and export["complete"] is True and sorted(export["services"]) == sorted(SERVICES)
    held = {service: json.dumps([c["held"] for c in part["classes"]]) for service, part in export["services"].items()}
    reads = {service: [r["record"] for r in part["reads"]] for service, part in export["services"].items()}
    assert journey.child.given_name in held["contacts"] and journey.child.upn in held["contacts"]
    assert journey.notification_id in held["notifications"] and journey.case_id in held["allocation"]
    assert journey.family_id in held["outcomes"]
    assert f"contact:{journey.contact_id}" in reads["contacts"]
    for service, made in (("notifications", journey.notification_id), ("allocation", journey.case_id),
                          ("outcomes", journey.family_id)):
        assert any(made in record for record in reads[service]), (service, reads[service])
    found = records_of(export)
    record_property("privacy_access_records", found)
    print(f"\nprivacy access: {found} records about the child in 4 services, "
          f"{sum(len(r) for r in reads.values())} reads of them\n{accessed.out}")


def test_erase_is_answered_by_every_service_and_prints_nothing_personal(erased: Erased, journey: Any) -> None:
    assert erased.asked.code == 0, erased.asked.err
    printed_nothing_personal(erased.asked, journey)
    export = erased.asked.export
    assert export["kind"] == "erase" and export["complete"] is True and export["erasure_refused"] is None
    actions = {(service, c["class"]): c["action"] for service, part in export["services"].items()
               for c in part["classes"]}
    assert actions[("contacts", "people_index")] == "erased" and actions[("contacts", "person_keys")] == "erased"
    assert "erased" in {action for (service, _), action in actions.items() if service == "notifications"}
    print(f"\nprivacy erase:\n{erased.asked.out}")


def test_no_service_database_or_log_holds_the_child_byte_for_byte(erased: Erased, record_property: Any) -> None:
    before = erased.before["files"]
    assert any(path.endswith("contacts.db") or path.endswith("contacts.db-wal") for path in before), before
    assert any("notifications.db" in path for path in before), before
    bytes_before = sum(sum(hits.values()) for hits in before.values())
    bytes_after = sum(sum(hits.values()) for hits in erased.files_after.values())
    checkpointed = sum(sum(hits.values()) for hits in erased.files_after_checkpoint.values())
    record_property("privacy_bytes_found_before", bytes_before)
    record_property("privacy_bytes_found_after", bytes_after)
    print(f"\nthe child's details in the services' files: {bytes_before} occurrences in {len(before)} files before "
          f"the erasure ({json.dumps(before, sort_keys=True)}); after it, the services stopped: {bytes_after} "
          f"({json.dumps(erased.files_after, sort_keys=True)}); after a checkpoint of their WAL: {checkpointed}")
    assert erased.files_after_checkpoint == {}, "the databases themselves hold the child"
    assert erased.files_after == {}, "a stopped service's SQLite WAL still holds the erased child"


def test_on_the_broker_the_child_is_only_in_the_senders_own_copies(erased: Erased) -> None:
    print(f"\nthe child's details on the broker's disk after the erasure: {sorted(erased.topics_after)}")
    assert FRONTDOOR_CONTACTS.name in erased.topics_after  # the search finds what is there
    assert erased.topics_after <= SENDERS_COPIES


def test_every_record_about_the_child_parses_and_opens_with_no_key_any_service_holds(
        erased: Erased, journey: Any, record_property: Any) -> None:
    events = {spec.name: spec.event for spec in WRITTEN_BY_SERVICES}
    mine = [(topic, key, value) for topic, key, value in erased.records if about(journey, key, value)]
    for topic, key, value in mine:
        if value is None:
            assert topic == CONTACTS_PERSON_KEYS.name and key == journey.person_id.encode()
            continue
        event = events[topic]
        assert event is not None
        parse_event(value, event, lenient=True)
    keys = [(key, value) for topic, key, value in mine if topic == CONTACTS_PERSON_KEYS.name]
    assert keys and keys[-1] == (journey.person_id.encode(), None)  # the tombstone, last
    assert PersonKeyIssued.EVENT_TYPE.encode() in (keys[0][1] or b"")  # the key it erases was published
    assert erased.before["keys_held"] == ["contacts", "notifications"]
    assert not [held for held in erased.keys_after if held[1] == journey.person_id]
    sealed_before = erased.before["sealed_values_open"]
    assert sealed_before >= 1 and openable(journey, erased.records, list(erased.keys_after.values())) == 0
    record_property("privacy_topic_records_about_the_child", len(mine))
    earlier = erased.before["topic_records_about_the_child"]
    print(f"\n{len(mine)} records about the child on the services' topics ({earlier} before the erasure), every "
          f"one parses; sealed values that open: {sealed_before} before, 0 after "
          f"(with {len(erased.keys_after)} keys the services still hold)")


def test_the_kpi_report_is_unchanged_and_the_rebuild_gives_the_same(erased: Erased, journey: Any) -> None:
    assert erased.kpis_after == journey.kpis
    assert erased.kpis_after_redelivery == journey.kpis
    assert erased.rebuilt == journey.kpis


def test_a_redelivered_contact_does_not_bring_the_child_back(erased: Erased, journey: Any) -> None:
    assert erased.contact_after is not None  # the contact is kept (a case record), without the child's details
    shown = json.dumps(erased.contact_after)
    for what, needle in journey.child.needles().items():
        assert needle.decode() not in shown, what
