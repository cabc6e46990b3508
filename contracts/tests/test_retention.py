"""The retention schedule: the packaged file is valid (every class says where, how long, from when, why and on
what basis), every declared topic, dead-letter topics included, is named by exactly one class and takes its
retention from it, an authority's own file is validated the same way, and a wrong file is refused naming the
field and the rule."""

from __future__ import annotations

import tomllib
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

from frontdoor_contracts import retention
from frontdoor_contracts.retention import (
    SCHEDULE_ENV,
    SCRATCH_RETENTION_MS,
    ScheduleError,
    configured,
    default,
    load,
    parse,
)
from frontdoor_contracts.topics import DAY_MS, DLQ_SUFFIX, TopicSpec, all_topics

PACKAGED = resources.files("frontdoor_contracts").joinpath("retention.toml").read_text()


def document() -> dict[str, Any]:
    return tomllib.loads(PACKAGED)


def dump(value: Any) -> str:
    """A TOML literal (the few shapes a schedule has)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'
    return "[" + ", ".join(dump(item) for item in value) + "]"


def to_toml(doc: dict[str, Any]) -> str:
    lines = [f"{key} = {dump(value)}" for key, value in doc.items() if not isinstance(value, dict)]
    lines += ["[purge]", *(f"{key} = {dump(value)}" for key, value in doc["purge"].items())]
    for name, fields in doc["classes"].items():
        lines += [f"[classes.{name}]", *(f"{key} = {dump(value)}" for key, value in fields.items())]
    return "\n".join(lines) + "\n"


def test_the_packaged_schedule_names_every_class_with_where_how_long_and_why() -> None:
    schedule = default()
    assert schedule.version >= 1 and schedule.origin == "retention.toml"
    assert set(schedule.classes) >= set(retention.REQUIRED)
    for kept in schedule.classes.values():
        assert kept.topics or kept.tables, kept.name
        assert kept.days >= 1 and kept.period.days == kept.days, kept.name
        assert all(len(text) > 10 for text in (kept.why, kept.basis, kept.counted_from, kept.enforced)), kept.name
        assert not kept.transit or kept.days <= retention.TRANSIT_MAX_DAYS, kept.name


def test_transit_copies_are_short_and_case_events_cover_the_kpi_windows() -> None:
    schedule = default()
    for name in ("intake", "da_incidents", "dead_letters", "outbox", "partner_records"):
        assert schedule.of(name).transit and schedule.of(name).days <= 31, name
    assert schedule.of("case_events").rebuilt_from
    assert schedule.of("case_events").days >= retention.MIN_REBUILD_DAYS == 1278
    assert schedule.of("notifications").days == 90  # the notifications service's figure (its test checks both)


def test_every_declared_topic_is_named_by_exactly_one_class_and_keeps_its_records_that_long() -> None:
    schedule = default()
    specs = all_topics()
    assert any(spec.name.endswith(DLQ_SUFFIX) for spec in specs)
    for spec in specs:
        naming = [kept for kept in schedule.classes.values() if kept.names_topic(spec.name)]
        assert len(naming) == 1, spec.name
        assert schedule.retention_ms(spec) == naming[0].days * DAY_MS, spec.name
        assert schedule.topic_configs(spec)["retention.ms"] == str(naming[0].days * DAY_MS), spec.name
    dead_letters = {spec.name for spec in specs if spec.name.endswith(DLQ_SUFFIX)}
    assert {spec.name for spec in specs if schedule.class_of_topic(spec.name).name == "dead_letters"} == dead_letters
    assert {spec.name for spec in specs if spec.name.endswith(".audit.v1")} == {
        spec.name for spec in specs if schedule.class_of_topic(spec.name).name == "audit"}


def test_a_topic_no_schedule_names_is_a_scratch_topic_of_one_day() -> None:
    scratch = TopicSpec(name="bench.scratch.v1", event=None, key="k", producers=("bench",), consumers=())
    assert default().retention_ms(scratch) == SCRATCH_RETENTION_MS == DAY_MS


def test_an_authoritys_schedule_is_read_from_the_file_the_environment_names(tmp_path: Path) -> None:
    doc = document()
    doc["authority"] = "A borough"
    doc["classes"]["intake"]["days"] = 7
    doc["classes"]["audit"]["days"] = 3650
    path = tmp_path / "borough.toml"
    path.write_text(to_toml(doc))
    schedule = configured({SCHEDULE_ENV: str(path)})
    assert schedule.authority == "A borough" and schedule.origin == str(path)
    contacts = next(spec for spec in all_topics() if spec.name == "frontdoor.contacts.v1")
    assert schedule.topic_configs(contacts)["retention.ms"] == str(7 * DAY_MS)
    assert default().topic_configs(contacts)["retention.ms"] == str(14 * DAY_MS)  # the packaged one is unchanged
    assert configured({}) is default()


def test_the_round_trip_of_the_packaged_file_is_the_same_schedule() -> None:
    assert parse(to_toml(document()), "copy").classes == default().classes


def refused(doc: dict[str, Any]) -> ScheduleError:
    with pytest.raises(ScheduleError) as caught:
        parse(to_toml(doc), "test")
    return caught.value


def change(edit: Any) -> dict[str, Any]:
    doc = document()
    edit(doc)
    return doc


@pytest.mark.parametrize(("edit", "where", "rule"), [
    (lambda d: d.__setitem__("version", 0), "(schedule).version", "whole number"),
    (lambda d: d.__setitem__("colour", "red"), "colour", "not a field of the schedule"),
    (lambda d: d["purge"].__setitem__("batch_rows", 0), "purge.batch_rows", "whole number from 1"),
    (lambda d: d["classes"]["intake"].pop("why"), "classes.intake.why", "non-empty text"),
    (lambda d: d["classes"]["intake"].__setitem__("why", "  "), "classes.intake.why", "non-empty text"),
    (lambda d: d["classes"]["intake"].pop("basis"), "classes.intake.basis", "non-empty text"),
    (lambda d: d["classes"]["outbox"].pop("days"), "classes.outbox.days", "whole number"),
    (lambda d: d["classes"]["outbox"].__setitem__("days", 0), "classes.outbox.days", "from 1 to"),
    (lambda d: d["classes"]["outbox"].__setitem__("days", True), "classes.outbox.days", "whole number"),
    (lambda d: d["classes"]["outbox"].__setitem__("assumed", "yes"), "classes.outbox.assumed", "true or false"),
    (lambda d: d["classes"]["outbox"].__setitem__("tables", []), "classes.outbox", "where it lives"),
    (lambda d: d["classes"]["outbox"].__setitem__("tables", ["outbox"]), "classes.outbox.tables", "<service>"),
    (lambda d: d["classes"]["outbox"].__setitem__("tables", ["billing.outbox"]), "classes.outbox.tables",
     "four services"),
    (lambda d: d["classes"]["outbox"].__setitem__("keep", 1), "classes.outbox.keep", "not a field of a class"),
    (lambda d: d["classes"]["intake"].__setitem__("days", 60), "classes.intake.days", "transit copy"),
    (lambda d: d["classes"]["case_events"].__setitem__("days", 365), "classes.case_events.days",
     "cover the KPI windows"),
    (lambda d: d["classes"].pop("read_log"), "classes.read_log", "is required"),
    (lambda d: d["classes"]["intake"]["topics"].pop(), "classes.*.topics", "no class names the declared topic"),
    (lambda d: d["classes"]["intake"]["topics"].append("partners.health.v1"), "classes.partner_records.topics",
     "named by two classes"),
    (lambda d: d["classes"]["intake"]["topics"].append("nobody.v1"), "classes.intake.topics", "a declared topic"),
    (lambda d: d["classes"]["intake"]["topics"].append("frontdoor.contacts.v1"), "classes.intake.topics",
     "each once"),
    (lambda d: d["classes"]["audit"]["tables"].append("contacts.outbox"), "classes.*.tables", "two classes"),
    (lambda d: d["classes"].__setitem__("Bad-Name", d["classes"]["intake"]), "classes.Bad-Name", "metric label"),
    (lambda d: d["classes"]["outbox"].__setitem__("on_request", "shred"), "classes.outbox.on_request",
     "erase or keep"),
    (lambda d: d["classes"]["outbox"].__setitem__("on_request", "keep"), "classes.outbox.kept_because", "say why"),
    (lambda d: d["classes"]["person_keys"].update(on_request="keep", kept_because="x"),
     "classes.person_keys.on_request", "must be erase"),
])
def test_a_wrong_schedule_is_refused_naming_the_field_and_the_rule(edit: Any, where: str, rule: str) -> None:
    error = refused(change(edit))
    assert error.where == where and rule in error.rule, str(error)


def test_a_file_that_is_not_toml_or_not_there_is_refused(tmp_path: Path) -> None:
    (tmp_path / "bad.toml").write_text("version = = 1")
    with pytest.raises(ScheduleError, match="not valid TOML"):
        load(tmp_path / "bad.toml")
    with pytest.raises(ScheduleError, match=SCHEDULE_ENV):
        configured({SCHEDULE_ENV: str(tmp_path / "missing.toml")})


def test_an_error_never_quotes_the_files_values() -> None:
    error = refused(change(lambda d: d["classes"]["intake"].__setitem__("days", "ninety days for Jane Doe")))
    assert "Jane" not in str(error) and "ninety" not in str(error)
