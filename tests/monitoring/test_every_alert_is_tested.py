"""Every alert has promtool tests both ways: series that fire it (at each
of its severities) and series that must not, at some evaluation time. The
tests themselves pass in test_promtool.py."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from monitoring_kit import PROMTOOL_TESTS, alert_rules, load


def alert_tests() -> list[dict[str, Any]]:
    return [case for path in sorted(PROMTOOL_TESTS.glob("*.test.yml")) for test in load(path)["tests"]
            for case in test.get("alert_rule_test", [])]


def test_every_alert_is_fired_at_each_severity_and_held_back_by_some_series() -> None:
    fired: dict[str, set[str]] = defaultdict(set)
    quiet: set[str] = set()
    for case in alert_tests():
        if case.get("exp_alerts"):
            fired[case["alertname"]] |= {alert["exp_labels"]["severity"] for alert in case["exp_alerts"]}
        else:
            quiet.add(case["alertname"])
    wanted: dict[str, set[str]] = defaultdict(set)
    for rule in alert_rules():
        wanted[rule["alert"]].add(rule["labels"]["severity"])
    assert len(wanted) >= 19
    missing = {name: severities - fired[name] for name, severities in wanted.items() if severities - fired[name]}
    assert missing == {}, "alerts (and severities) no promtool test fires"
    assert set(wanted) - quiet == set(), "alerts no promtool test holds back"
    assert set(fired) | quiet <= set(wanted), "tests of alerts that do not exist"


def test_every_expected_alert_names_its_runbook_and_severity() -> None:
    for case in alert_tests():
        for alert in case.get("exp_alerts") or []:
            assert alert["exp_labels"]["severity"] in ("page", "ticket")
            assert alert["exp_annotations"]["runbook_url"].endswith(f"/docs/runbooks/{case['alertname']}.md")
