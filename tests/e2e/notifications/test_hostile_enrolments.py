"""schools.enrolments.v1 is written by schools' own systems: nothing they put
there stops DA alerts. The hostile corpus (tests/hostile_records.py) goes
onto the topic, then a valid enrolment of a pupil at a webhook school and a
DA incident naming that pupil by UPN alone: the school's verified webhook
arrives, every fixed hostile record is on the dead-letter topic, and
/readyz answers 200 all along."""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime

import pytest
from contacts_e2e_kit import Kafka, header
from contacts_testkit import upn
from hostile_records import FIXED, ReadyWatch, encode, hostile_for, publish_all
from notifications_e2e_kit import NotificationsService, WebhookReceiver, caught_up, incident, publish_incident, until

pytestmark = pytest.mark.e2e
ENROLMENTS, DA = "schools.enrolments.v1", "contacts.da-incident-reported.v1"


def enrolment(pupil: str, urn: str) -> bytes:
    return encode({"specversion": "1.0", "id": str(uuid.uuid4()), "source": "urn:la:e2e:school-census",
                   "type": "uk.gov.frontdoor.schools.pupil-enrolled.v1", "time": datetime.now(UTC).isoformat(),
                   "data": {"upn": pupil, "school_urn": urn, "starts_on": date(2020, 9, 1).isoformat()}})


async def test_hostile_enrolments_then_a_valid_one_and_a_da_incident_by_upn_reach_the_school(
        kafka: Kafka, notifications_service: NotificationsService, receiver: WebhookReceiver,
        new_urn: Callable[[], str]) -> None:
    svc = notifications_service
    urn = new_urn()
    path = svc.school_with_webhook(receiver, urn)
    pupil = upn(random.randrange(100_000, 999_999))
    hostile = [(ENROLMENTS, raw) for raw in hostile_for(ENROLMENTS)]
    with ReadyWatch(svc.url) as watch:
        started = time.monotonic()
        await publish_all(kafka.bootstrap, [*hostile, (ENROLMENTS, enrolment(pupil, urn))])
        # The incident goes to another topic: wait until the enrolments are all consumed, or it could be read
        # first and find no school for the pupil (the worklist), which is right but not what this test asks.
        assert await caught_up(kafka.bootstrap, svc.env["NOTIFICATIONS_CONSUMER_GROUP"], ENROLMENTS)
        event = incident([{"upn": pupil, "school_urn": None, "given_name": "Enrolledtest"}])
        await publish_incident(kafka, event)
        arrived = await until(lambda: receiver.accepted(path), timeout=120)
        took = time.monotonic() - started
        dead = await kafka.collect(f"{ENROLMENTS}.dlq", lambda r: header(r, "dlq.topic") == ENROLMENTS,
                                   until=lambda found: len(found) >= len(FIXED), timeout=60, settle=0.5)
    print(f"\n{len(hostile)} hostile enrolments; the school's webhook arrived {took:.1f} s after the first; "
          f"/readyz polled {watch.polls} times")
    assert arrived and len(receiver.accepted(path)) == 1
    assert watch.not_ready == 0 and watch.polls > 0
    assert len(dead) >= len(FIXED) and all(header(r, "dlq.reason") for r in dead)
