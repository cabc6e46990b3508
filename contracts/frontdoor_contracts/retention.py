"""The retention schedule (`retention.toml`, shipped with this package):
each class of data, where it lives (topics, `<service>.<table>` tables), how
long it is kept, from when, why, on what basis and what enforces it.

`configured()` is the schedule in force: the file FRONTDOOR_RETENTION_SCHEDULE
names (an authority's own periods), else the packaged default. Either is
validated the same way, and a wrong one is refused with a `ScheduleError`
naming the field and the rule (never a value): every class has where, how
long and why; transit copies stay short; what outcomes rebuilds from covers
the KPI windows; every declared topic (dead-letter topics included) is named
by exactly one class, and every name matches a declared topic. Only the
classes the platform knows are taken (a class nothing enforces is refused),
a period is at most 100 years, the format is version 1, and the file is a
regular UTF-8 file of at most 1 MB (a directory, a device or a huge file is
refused before it is read)."""

from __future__ import annotations

import functools
import os
import re
import stat
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from fnmatch import fnmatchcase
from importlib import resources
from pathlib import Path
from typing import Any

from .topics import DAY_MS, SERVICES, TopicSpec, all_topics

SCRATCH_RETENTION_MS = DAY_MS  # a topic no schedule names: the bench's and tests' scratch topics, never the platform's

SCHEDULE_ENV = "FRONTDOOR_RETENTION_SCHEDULE"
PACKAGED = "retention.toml"
# The classes the code enforces or names: a schedule without one of them is refused.
INTAKE, PARTNER_RECORDS, DA_INCIDENTS, DEAD_LETTERS, OUTBOX = (
    "intake", "partner_records", "da_incidents", "dead_letters", "outbox")
NOTIFICATIONS, ENROLMENTS, PEOPLE_INDEX, CASE_RECORDS, CASE_EVENTS = (
    "notifications", "enrolments", "people_index", "case_records", "case_events")
KPI_READ_MODEL, AUDIT, READ_LOG = "kpi_read_model", "audit", "read_log"
PERSON_KEYS, PRIVACY_REQUESTS = "person_keys", "privacy_requests"
REQUIRED = (INTAKE, PARTNER_RECORDS, DA_INCIDENTS, DEAD_LETTERS, OUTBOX, NOTIFICATIONS, ENROLMENTS, PEOPLE_INDEX,
            CASE_RECORDS, CASE_EVENTS, KPI_READ_MODEL, AUDIT, READ_LOG, PERSON_KEYS, PRIVACY_REQUESTS)
# What a person's erasure request does to a class: "erase" (the person's data goes, or its key), or "keep" (the
# erasure is refused for the class, with `kept_because`: a legal basis to keep it, or nothing personal in it).
ON_REQUEST = ("erase", "keep")
TRANSIT_MAX_DAYS = 31
# What a rebuild of a year's KPI report reads back (services/outcomes/README.md): two years of closures (the
# earlier year's followed up for 12 months), a case of up to a year before its closure, the plan's baseline.
MIN_REBUILD_DAYS = 731 + 365 + 182
MAX_BATCH_ROWS = 10_000
MAX_DAYS = 36_600  # 100 years: the longest statutory period (adoption records); more is a mistake
FORMAT_VERSION = 1  # the schedule format this code reads
MAX_FILE_BYTES = 1_000_000  # the packaged schedule is ~10 kB
_NAME = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
_KEY = re.compile(r"^[A-Za-z0-9_.-]{1,40}$")  # a key an error may name as the field
_TABLE = re.compile(r"^([a-z]+)\.([a-z][a-z0-9_]{0,62})$")
_TEXTS = ("title", "from", "why", "basis", "enforced")
_FLAGS = ("transit", "assumed")
_CLASS_KEYS = frozenset({"topics", "tables", "days", "rebuilt_from", "on_request", "kept_because", *_TEXTS, *_FLAGS})


class ScheduleError(ValueError):
    """A schedule refused: `where` (the field) and `rule`, never the value."""

    def __init__(self, where: str, rule: str):
        super().__init__(f"{where}: {rule}")
        self.where, self.rule = where, rule


@dataclass(frozen=True)
class RetentionClass:
    name: str
    title: str
    topics: tuple[str, ...]  # names or fnmatch patterns ("*.dlq")
    tables: tuple[str, ...]  # "<service>.<table>"
    days: int
    counted_from: str
    why: str
    basis: str
    enforced: str
    transit: bool
    assumed: bool
    rebuilt_from: bool = False
    on_request: str = "erase"
    kept_because: str | None = None  # why an erasure request keeps the class (on_request = "keep")

    @property
    def period(self) -> timedelta:
        return timedelta(days=self.days)

    def names_topic(self, topic: str) -> bool:
        return any(fnmatchcase(topic, pattern) for pattern in self.topics)

    def tables_of(self, service: str) -> tuple[str, ...]:
        return tuple(table.split(".", 1)[1] for table in self.tables if table.split(".", 1)[0] == service)


@dataclass(frozen=True)
class Schedule:
    version: int
    authority: str
    classes: Mapping[str, RetentionClass]
    purge_every: timedelta
    batch_rows: int
    origin: str  # the packaged default, or the file's path

    def of(self, name: str) -> RetentionClass:
        return self.classes[name]

    def class_of_topic(self, topic: str) -> RetentionClass | None:
        """The class naming `topic` (validation makes it one at most for a declared topic)."""
        return next((kept for kept in self.classes.values() if kept.names_topic(topic)), None)

    def topic_retention_ms(self, topic: str) -> int | None:
        kept = self.class_of_topic(topic)
        return None if kept is None else kept.days * DAY_MS

    def retention_ms(self, spec: TopicSpec) -> int:
        """How long this schedule keeps the topic's records; a topic no schedule names (a scratch topic of
        the bench or a test) one day. Every declared topic is named (`parse` refuses a schedule that misses
        one)."""
        kept = self.topic_retention_ms(spec.name)
        return SCRATCH_RETENTION_MS if kept is None else kept

    def topic_configs(self, spec: TopicSpec, min_insync_replicas: int = 1) -> dict[str, str]:
        """The topic's configs at creation, kept as this schedule says."""
        return spec.topic_configs(self.retention_ms(spec), min_insync_replicas)


def _field(key: str) -> str:
    """A key of the file as an error's field: itself when short and plain, else what it is (never its text)."""
    return key if _KEY.match(key) else f"(a key of {len(key)} characters)"


def _text(table: Mapping[str, Any], key: str, where: str) -> str:
    value = table.get(key)
    if not isinstance(value, str) or not value.strip():
        raise ScheduleError(f"{where}.{key}", "must be a non-empty text")
    return " ".join(value.split())


def _flag(table: Mapping[str, Any], key: str, where: str, default: bool | None = None) -> bool:
    value = table.get(key, default)
    if not isinstance(value, bool):
        raise ScheduleError(f"{where}.{key}", "must be true or false")
    return value


def _whole(table: Mapping[str, Any], key: str, where: str, least: int, most: int | None = None) -> int:
    value = table.get(key)
    if isinstance(value, bool) or not isinstance(value, int) or value < least or (most and value > most):
        bound = f"from {least} to {most}" if most else f"at least {least}"
        raise ScheduleError(f"{where}.{key}", f"must be a whole number {bound}")
    return value


def _names(table: Mapping[str, Any], key: str, where: str) -> tuple[str, ...]:
    value = table.get(key)
    if not isinstance(value, list) or not all(isinstance(item, str) and item for item in value):
        raise ScheduleError(f"{where}.{key}", "must be a list of names")
    if len(set(value)) != len(value):
        raise ScheduleError(f"{where}.{key}", "must name each once")
    return tuple(value)


def _class(name: str, table: Any) -> RetentionClass:
    where = f"classes.{_field(name)}"
    if not _NAME.match(name):
        raise ScheduleError(where, "a class name is lower case letters, digits and _ (a metric label)")
    if name not in REQUIRED:
        raise ScheduleError(where, "is not a class the platform knows (nothing would enforce it)")
    if not isinstance(table, dict):
        raise ScheduleError(where, "must be a table")
    unknown = set(table) - _CLASS_KEYS
    if unknown:
        raise ScheduleError(f"{where}.{_field(sorted(unknown)[0])}", "is not a field of a class")
    topics, tables = _names(table, "topics", where), _names(table, "tables", where)
    if not topics and not tables:
        raise ScheduleError(where, "must say where it lives (topics or tables)")
    for entry in tables:
        found = _TABLE.match(entry)
        if found is None or found.group(1) not in SERVICES:
            raise ScheduleError(f"{where}.tables", "each is <service>.<table> of one of the four services")
    texts = {key: _text(table, key, where) for key in _TEXTS}
    kept = RetentionClass(name=name, title=texts["title"], topics=topics, tables=tables,
                          days=_whole(table, "days", where, 1, MAX_DAYS), counted_from=texts["from"], why=texts["why"],
                          basis=texts["basis"], enforced=texts["enforced"], transit=_flag(table, "transit", where),
                          assumed=_flag(table, "assumed", where),
                          rebuilt_from=_flag(table, "rebuilt_from", where, default=False),
                          on_request=_on_request(table, where),
                          kept_because=_text(table, "kept_because", where) if "kept_because" in table else None)
    if kept.on_request == "keep" and kept.kept_because is None:
        raise ScheduleError(f"{where}.kept_because", "a class an erasure request keeps must say why")
    if name == PERSON_KEYS and kept.on_request != "erase":
        raise ScheduleError(f"{where}.on_request", "must be erase: destroying the key is how erasure reaches "
                                                   "the log (a refused erasure is the request's, per class)")
    if kept.transit and kept.days > TRANSIT_MAX_DAYS:
        raise ScheduleError(f"{where}.days", f"a transit copy is kept at most {TRANSIT_MAX_DAYS} days")
    if kept.rebuilt_from and kept.days < MIN_REBUILD_DAYS:
        raise ScheduleError(f"{where}.days", f"what outcomes rebuilds from must cover the KPI windows "
                                             f"(at least {MIN_REBUILD_DAYS} days)")
    return kept


def _on_request(table: Mapping[str, Any], where: str) -> str:
    value = table.get("on_request", "erase")
    if value not in ON_REQUEST:
        raise ScheduleError(f"{where}.on_request", "must be erase or keep")
    return str(value)


def _check_topics(classes: Mapping[str, RetentionClass], declared: Iterable[str]) -> None:
    names = tuple(declared)
    for kept in classes.values():
        for pattern in kept.topics:
            if not any(fnmatchcase(topic, pattern) for topic in names):
                raise ScheduleError(f"classes.{kept.name}.topics", "each must name a declared topic")
    for topic in names:  # a declared name, from the code (never a value from the file)
        naming = [kept.name for kept in classes.values() if kept.names_topic(topic)]
        if not naming:
            raise ScheduleError("classes.*.topics", f"no class names the declared topic {topic}")
        if len(naming) > 1:
            raise ScheduleError(f"classes.{naming[-1]}.topics", f"the declared topic {topic} is named by two classes")
    tables = [table for kept in classes.values() for table in kept.tables]
    if len(set(tables)) != len(tables):
        raise ScheduleError("classes.*.tables", "a table is named by two classes")


def parse(text: str, origin: str, declared: Iterable[str] | None = None) -> Schedule:
    """The schedule in `text` (TOML), validated against the declared topics (default: every topic)."""
    try:
        document = tomllib.loads(text)
    except (tomllib.TOMLDecodeError, RecursionError):  # RecursionError: arrays nested beyond any schedule
        raise ScheduleError("(file)", "is not valid TOML") from None
    unknown = set(document) - {"version", "authority", "purge", "classes"}
    if unknown:
        raise ScheduleError(_field(sorted(unknown)[0]), "is not a field of the schedule")
    version = _whole(document, "version", "(schedule)", 1)
    if version != FORMAT_VERSION:
        raise ScheduleError("(schedule).version", f"must be {FORMAT_VERSION}, the schedule format this code reads")
    authority = _text(document, "authority", "(schedule)")
    purge, raw = document.get("purge"), document.get("classes")
    if not isinstance(purge, dict) or set(purge) - {"every_minutes", "batch_rows"}:
        raise ScheduleError("purge", "must be a table of every_minutes and batch_rows")
    every = _whole(purge, "every_minutes", "purge", 1, 24 * 60)
    batch = _whole(purge, "batch_rows", "purge", 1, MAX_BATCH_ROWS)
    if not isinstance(raw, dict) or not raw:
        raise ScheduleError("classes", "must be a table of at least one class")
    classes = {name: _class(name, table) for name, table in raw.items()}
    missing = [name for name in REQUIRED if name not in classes]
    if missing:
        raise ScheduleError(f"classes.{missing[0]}", "is required (the code enforces or names it)")
    _check_topics(classes, (spec.name for spec in all_topics()) if declared is None else declared)
    return Schedule(version, authority, classes, timedelta(minutes=every), batch, origin)


def _read(path: str | Path) -> bytes | None:
    """At most MAX_FILE_BYTES + 1 bytes of a regular file; None when `path` is not one (a directory, a device,
    a pipe: opened without waiting, never read). OSError or ValueError (a NUL in the path) when not readable."""
    handle = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    if not stat.S_ISREG(os.fstat(handle).st_mode):
        os.close(handle)
        return None
    with os.fdopen(handle, "rb") as file:
        return file.read(MAX_FILE_BYTES + 1)


def load(path: str | Path) -> Schedule:
    try:
        raw = _read(path)
    except (OSError, ValueError):
        raise ScheduleError(SCHEDULE_ENV, "must name a readable file") from None
    if raw is None:
        raise ScheduleError(SCHEDULE_ENV, "must name a regular file (not a directory or a device)")
    if len(raw) > MAX_FILE_BYTES:
        raise ScheduleError(SCHEDULE_ENV, f"must name a file of at most {MAX_FILE_BYTES:,} bytes")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ScheduleError(SCHEDULE_ENV, "must name a UTF-8 text file") from None
    return parse(text, str(path))


@functools.cache
def default() -> Schedule:
    """The packaged schedule (read once, on first use: never at import)."""
    return parse(resources.files(__package__).joinpath(PACKAGED).read_text(encoding="utf-8"), PACKAGED)


def configured(environ: Mapping[str, str] | None = None) -> Schedule:
    """The schedule in force: FRONTDOOR_RETENTION_SCHEDULE's file when set, else the packaged default."""
    path = (os.environ if environ is None else environ).get(SCHEDULE_ENV)
    return load(path) if path else default()
