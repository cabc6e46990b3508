"""Replays after a SIGKILL, where the stream's two tables (pictures and
aliases, a changelog each) and its SQL side kept different things: the
stream's batch logic (`FaustStream._handle`) on a real database, the tables
as plain dicts (as in test_stream_hostile.py)."""

from __future__ import annotations

import copy
import json
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from hostile_records import encode, example, fresh

from frontdoor_platform.routes import Incoming
from outcomes.stream.agents import FaustStream
from outcomes.stream.processor import MODELS

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
RECORDED, MERGED = "contacts.recorded.v1", "contacts.families-merged.v1"


def event(topic: str, **data: Any) -> dict[str, Any]:
    document = fresh(example(MODELS[topic].EVENT_TYPE))
    document["data"].update(data)
    return document


def as_records(topic: str, documents: list[dict[str, Any]], start: int = 0) -> list[Incoming]:
    return [Incoming(topic, 0, start + i, b"k", encode(d)) for i, d in enumerate(documents)]


def ids_in(stream: FaustStream, key: str) -> set[str]:
    picture = stream.families.get(key)
    return set(picture["seen"]) if picture else set()


@pytest.fixture
def merged(stream: FaustStream) -> tuple[str, str, list[Incoming], list[Incoming]]:
    """Families a and b each with a contact, and the record merging b into a."""
    a, b = str(uuid.uuid4()), str(uuid.uuid4())
    contacts = as_records(RECORDED, [event(RECORDED, family_id=a), event(RECORDED, family_id=b)])
    merge = as_records(MERGED, [event(MERGED, family_id=a, merged_family_ids=[b])])
    return a, b, contacts, merge


async def test_a_merge_whose_alias_was_kept_but_whose_pictures_were_lost_folds_the_family_again(
        stream: FaustStream, merged: tuple[str, str, list[Incoming], list[Incoming]]) -> None:
    a, b, contacts, merge = merged
    await stream._handle(contacts)
    before = copy.deepcopy(dict(stream.families))
    await stream._handle(merge)
    assert b not in stream.families and stream.aliases[b] == a and ids_in(stream, a) >= set(before[b]["seen"])
    stream.families.clear()
    stream.families.update(before)  # the pictures' changelog lost the merge; the aliases' kept it
    await stream._handle(merge)  # faust replays it
    assert b not in stream.families, "b's picture would be reviewed on its own"
    assert ids_in(stream, a) >= set(before[b]["seen"]), "b's facts must be a's"


async def test_a_merge_whose_picture_was_kept_but_whose_alias_was_lost_puts_the_alias_back(
        stream: FaustStream, merged: tuple[str, str, list[Incoming], list[Incoming]]) -> None:
    a, b, contacts, merge = merged
    await stream._handle([*contacts, *merge])
    stream.aliases.clear()  # the aliases' changelog lost the merge; the pictures' kept it
    await stream._handle(merge)
    assert stream.aliases.get(b) == a
    later = as_records(RECORDED, [event(RECORDED, family_id=b)], start=2)
    await stream._handle(later)  # a later contact about b is a's
    assert b not in stream.families and json.loads(later[0].value or b"")["id"] in ids_in(stream, a)


async def test_a_replayed_dead_letter_is_not_dead_lettered_or_counted_again(stream: FaustStream) -> None:
    poison = [Incoming(RECORDED, 0, 0, b"k", b"{not json")]
    await stream._handle(poison)
    await stream._handle(poison)  # a replay after a crash
    counted = sum(sample.value for metric in stream.metrics.dead_lettered.collect() for sample in metric.samples
                  if sample.name.endswith("_total"))
    assert counted == 1, "the dead-letter alert pages: a restart must not page again"
