"""Done means (issue 18): two `consume` workers per service (contacts, allocation, notifications, outcomes),
real processes in one consumer group each (outcomes: one runs the stream, the other stands by), on PostgreSQL
and the real broker. A burst of contacts about the same
households' children (by every mix of NHS number, UPN and name + date of birth + postcode, police DA
incidents among them) and decisions on them arrives on different partitions at once (`workers_testkit`, the
contacts workers' own burst); one contacts worker and one outcomes worker are SIGKILLed in the middle of it
and started again; then,
while a second burst arrives, every worker of every service is restarted in turn (SIGTERM, a new one, the
group stable again). Nothing is lost and nothing is done twice:

- contacts: every contact and decision once; one person per child and parent, one family per household;
- notifications: every DA child of every incident once (one notification per child per incident at the
  school, found by the child's UPN; on the MASH worklist when the incident carried no UPN), each notification
  delivered to the demo school system, which counts deliveries by `webhook-id`: each exactly once;
- allocation: a case for each household's family (its Early Help decision), never two open, each opened once;
- outcomes: every contact and decision in the KPI read model once;
- on the topics: each contact recorded, each decision and each case opened announced (one relay at a time per
  service: two would publish the same outbox rows), and once only, but for what the SIGKILLed contacts
  worker's relay had in flight: a batch the broker took and the dead relay never marked is sent again by the
  other worker's relay with the same event ids, which consumers dedupe (nothing above is done twice): the
  first burst's events twice at most; the second burst's exactly once, through the rolling restart (a
  stopped relay lets its batch in flight be marked first).
"""

from __future__ import annotations

import contextlib
import threading
from collections import Counter
from typing import Any

import pytest
from allocation_workers_kit import group_state
from workers_e2e_kit import SCHOOL, SERVICES, Fleet, fleet, published, school_system, wait_until
from workers_testkit import Burst, produce

from frontdoor_contracts.topics import (
    ALLOCATION_CASE_OPENED,
    CONTACTS_DECIDED,
    CONTACTS_RECORDED,
    FRONTDOOR_CONTACTS,
    FRONTDOOR_DECISIONS,
)
from frontdoor_stack.kafka_broker import free_port, run_coroutine_in_thread

pytestmark = pytest.mark.e2e
HOUSEHOLDS = 15  # a burst: 120 contacts and 60 decisions, 45 DA children; two bursts in all


def stable(f: Fleet, service: str) -> bool:
    """The group stable with both workers (outcomes: the one running the stream; the other stands by)."""
    return group_state(f.bootstrap, f.groups[service]) == ("Stable", 1 if service == "outcomes" else 2)


def publish(f: Fleet, burst: Burst, seed: int) -> None:
    run_coroutine_in_thread(produce(f.bootstrap, burst.records(FRONTDOOR_CONTACTS.name, FRONTDOOR_DECISIONS.name,
                                                               seed=seed)))


def upns(*bursts: Burst) -> list[str]:
    return [h.child(which, "upn")["upn"] for b in bursts for h in b.households for which in "ab"]


def rolling_restart(f: Fleet, log: list[str]) -> None:
    """Each worker of each service in turn: stopped (SIGTERM), a new one started, the group stable again."""
    for service in SERVICES:
        for old in f.of(service):
            f.stop(old)
            new = f.start(service)
            wait_until(lambda s=service: stable(f, s), f"{service} stable again after {old.name}", f)
            log.append(f"{old.name} -> {new.name}")


def settled(f: Fleet, contacts: int, decisions: int, da_children: int, households: int) -> bool:
    return (f.count("contacts", "SELECT count(*) FROM contacts") == contacts
            and f.count("contacts", "SELECT count(*) FROM decisions") == decisions
            and f.count("notifications", "SELECT count(*) FROM da_children") == da_children
            and f.count("notifications", "SELECT count(*) FROM deliveries WHERE state <> 'delivered'") == 0
            and f.count("notifications", "SELECT count(*) FROM deliveries") > 0
            and f.count("allocation", "SELECT count(*) FROM cases") >= households
            and f.count("outcomes", "SELECT count(*) FROM kpi_contacts") == contacts
            and f.count("outcomes", "SELECT count(*) FROM kpi_decisions") == decisions)


def test_two_workers_per_service_lose_nothing_and_do_nothing_twice_through_a_kill_and_a_rolling_restart(
        kafka_bootstrap: str, postgres_server: Any, tmp_path: Any) -> None:
    first, second = Burst.of(HOUSEHOLDS, start=1), Burst.of(HOUSEHOLDS, start=HOUSEHOLDS + 1)
    f = fleet(kafka_bootstrap, postgres_server, tmp_path)
    with contextlib.ExitStack() as stack:
        stack.callback(f.stop_all)
        receiver = stack.enter_context(contextlib.contextmanager(school_system)(f, free_port(), upns(first, second)))
        for service in SERVICES:
            f.start(service)
            f.start(service)
        for service in SERVICES:
            wait_until(lambda s=service: stable(f, s), f"two {service} workers in their group", f)

        publish(f, first, seed=18)
        wait_until(lambda: f.count("contacts", "SELECT count(*) FROM contacts") >= len(first.contacts) // 4,
                   "a quarter of the first contacts", f)
        f.kill(f.of("contacts")[0])  # mid-burst: its batch's transaction dies with it, its offsets uncommitted
        killed_at = f.count("contacts", "SELECT count(*) FROM contacts")
        f.kill(f.of("outcomes")[0])  # the stream's or the standby: either way one runs the stream after
        for service in ("contacts", "outcomes"):
            f.start(service)
            wait_until(lambda s=service: stable(f, s), f"{service} stable after the kill", f)
        # the first burst recorded and its events all published before any stop: what the rolling restart
        # publishes is the second burst's, so a stop that published anything twice shows there
        wait_until(lambda: f.count("contacts", "SELECT count(*) FROM contacts") == len(first.contacts)
                   and f.count("contacts", "SELECT count(*) FROM decisions") == len(first.decisions)
                   and f.count("contacts", "SELECT count(*) FROM outbox WHERE published_at IS NULL") == 0,
                   "the first burst recorded and published", f)

        restarts: list[str] = []
        feeding = threading.Thread(target=publish, args=(f, second, 1818))
        feeding.start()
        rolling_restart(f, restarts)
        feeding.join()

        contacts = len(first.contacts) + len(second.contacts)
        decisions = len(first.decisions) + len(second.decisions)
        da_children = 3 * 2 * HOUSEHOLDS  # per household: one incident naming both children, one naming one
        wait_until(lambda: settled(f, contacts, decisions, da_children, 2 * HOUSEHOLDS), "everything applied", f)

        people = f.count("contacts", "SELECT count(*) FROM people")
        families = f.count("contacts", "SELECT count(DISTINCT family_id) FROM people")
        resolutions = dict(f.rows("notifications", "SELECT resolution, count(*) FROM da_children GROUP BY 1"))
        notified = f.count("notifications", f"SELECT count(*) FROM notifications WHERE kind = 'da_incident' "
                                            f"AND recipient_id = '{SCHOOL}'")
        per_child = f.count("notifications", "SELECT count(*) FROM (SELECT subject_id, child_id FROM notifications "
                                             "GROUP BY 1, 2 HAVING count(*) > 1) twice")
        cases = f.rows("allocation", "SELECT case_id, family_id, is_open, status FROM cases")
        contact_ids = {str(c) for burst in (first, second) for c in burst.contacts}
        recorded = published(f.bootstrap, CONTACTS_RECORDED.name, "contact_id", contact_ids)
        decided = published(f.bootstrap, CONTACTS_DECIDED.name, "contact_id", contact_ids)
        later = {str(c) for c in second.contacts}  # arrived after the kill: its workers were only stopped since
        recorded_later = published(f.bootstrap, CONTACTS_RECORDED.name, "contact_id", later)
        decided_later = published(f.bootstrap, CONTACTS_DECIDED.name, "contact_id", later)
        opened = published(f.bootstrap, ALLOCATION_CASE_OPENED.name, "case_id", {str(c[0]) for c in cases})
        delivered = receiver.ledger.counts()
        print(f"\n{contacts} contacts, {decisions} decisions; killed at {killed_at}; restarts {restarts}; "
              f"{people} people in {families} families; DA children {resolutions}; {notified} notified, "
              f"receiver {delivered}; {len(cases)} cases {dict(Counter(c[3] for c in cases))}; published "
              f"{len(recorded)} recorded, {len(decided)} decided, {len(opened)} cases opened, the most times one was: "
              f"{max([*recorded.values(), *decided.values(), *opened.values()])}")
    assert 0 < killed_at < contacts  # the kill landed mid-stream
    assert len(restarts) == 2 * len(SERVICES)
    assert people == 3 * 2 * HOUSEHOLDS and families == 2 * HOUSEHOLDS  # one person per child and parent
    # every DA child once: notified at the school its UPN is enrolled at, or on the MASH worklist when the
    # incident did not carry its UPN (contacts seals the UPN the contact gave or the child's record held by then)
    assert sum(resolutions.values()) == da_children and set(resolutions) <= {"by_enrolment", "unknown"}
    assert per_child == 0 and notified == resolutions["by_enrolment"] > da_children / 2  # one per child per incident
    assert delivered == {"verified": notified, "rejected": 0, "duplicates": 0, "emails": 0}  # each once
    # a case per household's family (its Early Help decision); a provisional family merged into it may have
    # brought a case of its own (closed or merged by allocation); never two open for one family
    assert len({family for _, family, _, _ in cases}) == 2 * HOUSEHOLDS
    assert max(Counter(family for _, family, is_open, _ in cases if is_open).values(), default=0) <= 1
    assert len(recorded) == contacts and len(decided) == decisions and len(opened) == len(cases)
    assert set(opened.values()) == {1}  # allocation's workers were only ever stopped: each case announced once
    assert set(recorded_later.values()) == set(decided_later.values()) == {1}  # through the rolling restart
    assert max([*recorded.values(), *decided.values()]) <= 2  # the first burst: the killed relay's batch again
