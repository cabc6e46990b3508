"""The seeds' scenario (`frontdoor-stack seeds`) without a broker: the
events are the producers' contracts, the counts are the seeds', every id is
the same on a second run, and the comparison says NO when a figure is off.
tests/e2e/stack/test_seeds_scenario.py runs it on the real stack."""

from __future__ import annotations

import json
from collections import Counter
from datetime import timedelta
from typing import Any

from frontdoor_contracts.errors import parse_event
from frontdoor_contracts.topics import ALLOCATION_CASE_CLOSED, CONTACTS_DECIDED, DOMAIN_TOPICS
from frontdoor_contracts.vocabulary import Decision
from frontdoor_stack.seeds_scenario import (
    EVERYTHING,
    READING,
    WOKINGHAM,
    Record,
    printed_percents,
    reading_2016,
    reported_percents,
    rows,
    scenario,
    wokingham_2015,
)

SPECS = {spec.name: spec for spec in DOMAIN_TOPICS}


def decoded(records: list[Record]) -> list[tuple[str, Any]]:
    found = []
    for record in records:
        spec = SPECS[record.topic]
        assert spec.event is not None
        event = parse_event(record.value, spec.event)
        assert record.key == str(getattr(event.data, spec.key))  # keyed as the topic declares
        found.append((record.topic, event))
    return found


def test_wokingham_is_1464_child_outcomes_over_1366_children_in_2014_15() -> None:
    events = [event for _, event in decoded(wokingham_2015())]
    outcomes = Counter(e.data.outcome.value for e in events for _ in e.data.child_ids)
    assert outcomes == {"positive_outcome": 833, "no_change": 142, "deterioration": 98, "too_early_to_say": 276,
                        "resolved_by_information_and_advice": 72, "escalated_to_higher_level_services": 43}
    children = {child for e in events for child in e.data.child_ids}
    assert (sum(outcomes.values()), len(children)) == (1464, 1366)
    assert all(WOKINGHAM[0] <= e.data.closed_at < WOKINGHAM[1] and 1 <= len(e.data.child_ids) <= 3 for e in events)
    family_of: dict[Any, set[Any]] = {}
    for e in events:
        for child in e.data.child_ids:
            family_of.setdefault(child, set()).add(e.data.family_id)
    assert all(len(families) == 1 for families in family_of.values())  # a child's cases are one family's
    twice = {c for c, n in Counter(c for e in events for c in e.data.child_ids).items() if n == 2}
    assert len(twice) == 98
    first = {c: min(e.data.closed_at for e in events if c in e.data.child_ids) for c in twice}
    second = {c: max(e.data.closed_at for e in events if c in e.data.child_ids) for c in twice}
    assert all(first[c] < second[c] for c in twice)  # the second case closed after the first


def test_reading_is_100_closures_with_4_back_to_early_help_and_12_to_social_care() -> None:
    items = decoded(reading_2016())
    closed = [e for topic, e in items if topic == ALLOCATION_CASE_CLOSED.name]
    decided = [e for topic, e in items if topic == CONTACTS_DECIDED.name]
    assert len(closed) == 100 and all(READING[0] <= e.data.closed_at < READING[1] for e in closed)
    closed_at = {e.data.family_id: e.data.closed_at for e in closed}
    assert len(closed_at) == 100
    within = Counter(e.data.decision for e in decided
                     if closed_at[e.data.family_id] < e.data.decided_at <= closed_at[e.data.family_id]
                     + timedelta(days=365))
    assert within[Decision.EARLY_HELP] == 4
    assert within[Decision.SOCIAL_CARE_ASSESSMENT] + within[Decision.S47_STRATEGY_DISCUSSION] == 12
    assert all(EVERYTHING[0] <= e.data.decided_at < EVERYTHING[1] for e in decided)


def test_a_second_run_publishes_the_same_events() -> None:
    def ids() -> list[str]:
        return [json.loads(record.value)["id"] for record in scenario()]

    first = ids()
    assert first == ids() and len(set(first)) == len(first)
    assert scenario() == scenario()


def report(numerators: dict[str, int], early_help: int = 96, social_care: int = 88) -> tuple[dict[str, Any],
                                                                                               dict[str, Any]]:
    by_category = {name: {"numerator": n, "denominator": 1366} for name, n in numerators.items()}
    wokingham = {"closures": {"child_closures": 1464, "children": 1366, "by_category": by_category}}
    reading = {"closed_cases": {"not_re_referred_to_early_help": {"numerator": early_help, "denominator": 100},
                                "not_re_referred_to_social_care": {"numerator": social_care, "denominator": 100}}}
    return wokingham, reading


SEEDS = {"positive_outcome": 833, "no_change": 142, "deterioration": 98, "too_early_to_say": 276,
         "resolved_by_information_and_advice": 72, "escalated_to_higher_level_services": 43}


def test_the_seeds_own_figures_match_and_one_child_off_does_not() -> None:
    found = rows(*report(SEEDS))
    assert all(row.matches for row in found) and reported_percents(found) == printed_percents()
    assert printed_percents() == [61, 10, 7, 20, 5, 3, 96, 88]
    off = rows(*report(SEEDS | {"no_change": 141}))
    assert [row.figure for row in off if not row.matches] == ["Wokingham 2014/15: no change"]
    assert reported_percents(off) == printed_percents()  # still 10%: the counts, not only the percent, are checked
    assert [r.matches for r in rows(*report(SEEDS, early_help=95))][-2:] == [False, True]
