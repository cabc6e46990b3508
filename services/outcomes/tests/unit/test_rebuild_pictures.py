"""The rebuild's families' pictures (stream/pictures.py): a mapping whose
least recently used pictures go to a private temporary file between
batches. The stream's rules over it give the pictures a plain dict gives,
merges included, however few are kept in memory; the ids come out once
each, in order; the file is the user's alone and gone at the end."""

from __future__ import annotations

import random
import stat
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from frontdoor_contracts.contacts import ContactRecorded, FamiliesMerged, RecordedChild
from frontdoor_contracts.envelope import EventData, encode_event, new_event
from frontdoor_contracts.topics import CONTACTS_FAMILIES_MERGED, CONTACTS_RECORDED
from frontdoor_contracts.vocabulary import Channel, Concern, ReferrerSource
from frontdoor_platform.routes import Incoming
from outcomes.domain.family import Family
from outcomes.stream.pictures import Pictures
from outcomes.stream.processor import Processor
from outcomes.thresholds_loader import load_thresholds

START = datetime(2024, 1, 8, 9, tzinfo=UTC)
CONTACTS = "urn:frontdoor:contacts"


def incoming(topic: str, offset: int, data: EventData, at: datetime) -> Incoming:
    return Incoming(topic, 0, offset, b"k", encode_event(new_event(data, source=CONTACTS, time=at)), ())


def records(rng: random.Random, families: int, count: int) -> list[Incoming]:
    """Contacts for `families` families, some merged into others on the way, one of them replayed."""
    ids = [uuid.UUID(int=rng.getrandbits(128), version=4) for _ in range(families)]
    made: list[Incoming] = []
    for offset in range(count):
        at = START + timedelta(hours=offset)
        if rng.random() < 0.06 or offset == count // 3:
            kept, *gone = rng.sample(ids, k=2)
            made.append(incoming(CONTACTS_FAMILIES_MERGED.name, offset, FamiliesMerged(
                family_id=kept, merged_family_ids=gone, contact_id=uuid.uuid4(), merged_at=at), at))
        else:
            made.append(incoming(CONTACTS_RECORDED.name, offset, ContactRecorded(
                contact_id=uuid.uuid4(), family_id=rng.choice(ids), referrer_source=ReferrerSource.SCHOOL,
                channel=Channel.KAFKA, received_at=at, children=[RecordedChild(child_id=uuid.uuid4())],
                adult_count=1, concerns=[Concern.NEGLECT], da_incident=False), at))
    return [*made, made[len(made) // 2]]


def run(items: list[Incoming], pictures: dict[str, Family] | Pictures, batch: int) -> dict[str, Family]:
    """The pictures after the records, `batch` at a time, and a review of every family a year on."""
    processor = Processor(pictures, {}, load_thresholds(), "urn:frontdoor:outcomes", objects=True)
    for start in range(0, len(items), batch):
        for item in items[start:start + batch]:
            step = processor.step(item)
            assert step.error is None
        processor.commit()
        if isinstance(pictures, Pictures):
            pictures.trim()
    processor.commit()
    final = processor.review(sorted(pictures), START + timedelta(days=400))
    processor.commit()
    assert final.error is None
    return {key: pictures[key] for key in sorted(pictures)}  # equal sets, whatever order a copy iterates in


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 10_000), keep=st.integers(1, 3), batch=st.integers(1, 9))
def test_the_rules_over_pictures_mostly_on_disk_give_what_a_dict_gives(seed: int, keep: int, batch: int) -> None:
    items = records(random.Random(seed), families=20, count=60)
    expected = run(items, {}, batch)
    assert len(expected) > 3 and any(item.topic == CONTACTS_FAMILIES_MERGED.name for item in items)
    with Pictures(keep) as pictures:
        assert run(items, pictures, batch) == expected
        assert pictures.spilled > 0 and pictures.read_back > 0


def family(number: int) -> Family:
    return Family(family_id=uuid.UUID(int=number), seen={f"event-{number}"})


def test_a_mapping_with_every_id_once_in_order_held_or_on_disk(tmp_path: Path) -> None:
    with Pictures(keep=2, directory=tmp_path) as pictures:
        assert stat.S_IMODE(pictures.path.stat().st_mode) == 0o600 and pictures.path.parent == tmp_path
        for n in (5, 1, 4, 2, 3):
            pictures[str(uuid.UUID(int=n))] = family(n)
        pictures.trim()
        assert pictures.spilled == 3 and len(pictures._held) == 2
        keys = [str(uuid.UUID(int=n)) for n in (1, 2, 3, 4, 5)]
        assert list(pictures) == keys and len(pictures) == 5
        assert pictures[keys[0]] == family(1) and pictures.read_back == 1  # read back from the file
        pictures[keys[0]].seen.add("changed")
        pictures.trim()  # written again, changed
        assert list(pictures) == keys  # held and on disk at once: still once each
        assert "changed" in pictures[keys[0]].seen
        assert pictures.pop(keys[4]) == family(5) and keys[4] not in pictures
        del pictures[keys[1]]
        assert list(pictures) == [keys[0], keys[2], keys[3]]
        assert pictures.get(str(uuid.uuid4())) is None
        with pytest.raises(KeyError):
            del pictures[keys[1]]
        path = pictures.path
    assert not path.exists()
    with pytest.raises(ValueError, match="keep"):
        Pictures(keep=0)
