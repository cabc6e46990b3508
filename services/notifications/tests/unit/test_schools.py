"""Which school, and what it is told."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime

from notifications.domain.schools import Enrolment, Resolution, SchoolNotice, find_school, notice_for

TODAY = date(2026, 11, 18)
ENROLMENTS = [Enrolment("A801200001001", "100001", date(2022, 9, 1), date(2026, 7, 21)),
              Enrolment("A801200001001", "100002", date(2026, 9, 2)),
              Enrolment("B801200001002", "100003", date(2025, 9, 1))]


def test_the_urn_on_the_event_comes_first() -> None:
    found = find_school(urn="100009", upn="A801200001001", born=date(2016, 1, 1), on=TODAY, enrolments=ENROLMENTS)
    assert (found.resolution, found.school_urn) == (Resolution.ON_EVENT, "100009")


def test_else_the_latest_current_enrolment_by_upn() -> None:
    found = find_school(urn=None, upn="A801200001001", born=None, on=TODAY, enrolments=ENROLMENTS)
    assert (found.resolution, found.school_urn) == (Resolution.BY_ENROLMENT, "100002")  # not the one that ended


def test_else_unknown_or_not_of_school_age() -> None:
    assert find_school(urn=None, upn=None, born=date(2016, 1, 1), on=TODAY,
                       enrolments=ENROLMENTS).resolution is Resolution.UNKNOWN
    assert find_school(urn=None, upn=None, born=date(2026, 1, 1), on=TODAY,
                       enrolments=ENROLMENTS).resolution is Resolution.NOT_OF_SCHOOL_AGE
    assert find_school(urn=None, upn="Z801200001003", born=None, on=TODAY,
                       enrolments=ENROLMENTS).resolution is Resolution.UNKNOWN


def test_a_school_is_told_only_what_its_key_adult_needs() -> None:
    notice = notice_for(given_name="Amy", family_name="Example", date_of_birth=date(2016, 4, 1), upn="A801200001001",
                        incident_at=datetime(2026, 11, 17, 22, 10, tzinfo=UTC), police_reference="TVP/26/1",
                        present=True, mash_contact="MASH 0118 000 0000")
    assert {f.name for f in dataclasses.fields(SchoolNotice)} == {
        "given_name", "family_name", "date_of_birth", "upn", "incident_at", "police_attended", "police_reference",
        "child_present", "mash_contact"}
    assert notice.police_attended and notice.child_present
