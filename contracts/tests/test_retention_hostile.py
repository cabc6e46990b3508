"""Hostile retention schedules (FRONTDOOR_RETENTION_SCHEDULE naming a missing
file, a directory, a device, a pipe, a 100 MB file, bytes that are not UTF-8
or not TOML, TOML nested beyond reason; or a schedule with an unknown class, a
class missing, a negative or absurd period, another format version, keys made
of anything): each is refused with a ScheduleError naming the field and the
rule, quickly, never echoing the file's text, never another exception."""

from __future__ import annotations

import os
import tomllib
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from frontdoor_contracts.retention import (
    MAX_DAYS,
    MAX_FILE_BYTES,
    SCHEDULE_ENV,
    ScheduleError,
    configured,
    load,
    parse,
)

PACKAGED = resources.files("frontdoor_contracts").joinpath("retention.toml").read_text()
SECRET = "Jane Doe 2015-01-02"  # stands for anything a file may hold: it must never come back


def refused_file(path: str | Path) -> ScheduleError:
    with pytest.raises(ScheduleError) as caught:
        configured({SCHEDULE_ENV: str(path)})
    return caught.value


def refused_text(text: str) -> ScheduleError:
    with pytest.raises(ScheduleError) as caught:
        parse(text, "test")
    assert SECRET not in str(caught.value)
    return caught.value


def with_class(name: str, days: Any = 30) -> str:
    return PACKAGED + f'\n[classes.{name}]\ntitle = "{SECRET}"\ntables = ["contacts.people_extra"]\ndays = {days}\n' \
        f'from = "{SECRET}"\nwhy = "{SECRET}"\nbasis = "x"\nenforced = "x"\ntransit = false\nassumed = true\n'


def with_days(name: str, days: str) -> str:
    document = tomllib.loads(PACKAGED)
    old = f"days = {document['classes'][name]['days']}"
    start = PACKAGED.index(f"[classes.{name}]")
    at = PACKAGED.index(old, start)
    return PACKAGED[:at] + f"days = {days}" + PACKAGED[at + len(old):]


def test_a_missing_file_a_directory_a_nul_and_a_device_are_refused_naming_the_variable(tmp_path: Path) -> None:
    for path in (tmp_path / "missing.toml", tmp_path, "/dev/zero", "/dev/null", f"{tmp_path}/a\x00b.toml"):
        error = refused_file(path)
        assert error.where == SCHEDULE_ENV and ("readable" in error.rule or "regular file" in error.rule), path


def test_a_pipe_is_refused_without_waiting_for_a_writer(tmp_path: Path) -> None:
    fifo = tmp_path / "schedule.toml"
    os.mkfifo(fifo)
    assert "regular file" in refused_file(fifo).rule  # opened non-blocking: answered, never stalled


def test_a_100_mb_file_is_refused_before_it_is_read(tmp_path: Path) -> None:
    huge = tmp_path / "huge.toml"
    with huge.open("wb") as file:
        file.truncate(100 * 1024 * 1024)  # sparse: 100 MB of NULs, never in memory
    error = refused_file(huge)
    assert error.where == SCHEDULE_ENV and f"{MAX_FILE_BYTES:,} bytes" in error.rule


def test_bytes_that_are_not_utf8_or_not_toml_are_refused(tmp_path: Path) -> None:
    (tmp_path / "latin.toml").write_bytes(b'version = 1\nauthority = "Caf\xe9"\n')
    assert "UTF-8" in refused_file(tmp_path / "latin.toml").rule
    (tmp_path / "nul.toml").write_bytes(b"version = 1\x00\n")
    assert refused_file(tmp_path / "nul.toml").rule == "is not valid TOML"
    assert refused_text("a = " + "[" * 100_000 + "]" * 100_000).rule == "is not valid TOML"
    assert refused_text(f'version = 1\nauthority = "{SECRET}\n').rule == "is not valid TOML"


@pytest.mark.parametrize(("text", "where", "rule"), [
    (with_class("biometrics"), "classes.biometrics", "not a class the platform knows"),
    (with_days("outbox", "-7"), "classes.outbox.days", f"from 1 to {MAX_DAYS}"),
    (with_days("case_records", str(2**63 - 1)), "classes.case_records.days", f"from 1 to {MAX_DAYS}"),
    (with_days("case_records", str(MAX_DAYS + 1)), "classes.case_records.days", f"from 1 to {MAX_DAYS}"),
    (with_days("outbox", "7.5"), "classes.outbox.days", "whole number"),
    (with_days("outbox", f'"{SECRET}"'), "classes.outbox.days", "whole number"),
    (with_days("outbox", "inf"), "classes.outbox.days", "whole number"),
    (PACKAGED.replace("version = 1", "version = 2", 1), "(schedule).version", "must be 1"),
    (PACKAGED.replace("[classes.read_log]", "[classes.read_logs]", 1), "classes.read_logs", "not a class"),
    (PACKAGED + f'\n["{SECRET}"]\nx = 1\n', "(a key of 19 characters)", "not a field of the schedule"),
    (with_class(f'"{SECRET}"'), "classes.(a key of 19 characters)", "metric label"),
])
def test_a_schedule_with_a_wrong_class_or_period_is_refused_naming_the_field(text: str, where: str, rule: str) -> None:
    error = refused_text(text)
    assert error.where == where and rule in error.rule, str(error)


def test_the_longest_period_allowed_still_makes_a_topic_retention_and_a_cutoff() -> None:
    schedule = parse(with_days("case_records", str(MAX_DAYS)), "test")
    assert schedule.of("case_records").period.days == MAX_DAYS  # a timedelta: no overflow in the purge's cutoff


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=2000))
def test_any_bytes_are_a_schedule_or_a_schedule_error(tmp_path_factory: Any, raw: bytes) -> None:
    path = tmp_path_factory.mktemp("any") / "schedule.toml"
    path.write_bytes(raw)
    try:
        load(path)
    except ScheduleError as error:
        assert error.where and error.rule


@settings(max_examples=400, deadline=None)
@given(st.integers(0, len(PACKAGED)), st.integers(0, 40),
       st.one_of(st.text(max_size=40), st.sampled_from(["[", "]", "= 1", "= -1", "= []", "= {}", "= true", '= "x"',
                                                        "[classes.x]", "[[classes]]", "\n[purge]\n", "9" * 30])))
def test_a_packaged_schedule_edited_anywhere_is_a_schedule_or_a_schedule_error(at: int, cut: int, put: str) -> None:
    try:
        parse(PACKAGED[:at] + put + PACKAGED[at + cut:], "test")
    except ScheduleError as error:
        assert error.where and error.rule
