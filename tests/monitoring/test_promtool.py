"""Prometheus' and Alertmanager's own tools on everything in
deploy/monitoring/: `promtool check config`, `promtool check rules`,
`promtool test rules` (every alert fired and held back by its series),
`amtool check-config`; and every dashboard query parses (as a recording
rule promtool checks)."""

from __future__ import annotations

from pathlib import Path

from monitoring_kit import MONITORING, PROMTOOL_TESTS, RULES, run

from frontdoor_stack.monitoring import configs
from frontdoor_stack.monitoring.boards import DASHBOARDS
from frontdoor_stack.monitoring.build import rule_groups
from frontdoor_stack.monitoring.rules import Group, Record, rules_document, to_yaml


def test_the_prometheus_config_and_its_rule_files_check() -> None:
    checked = run("promtool", "check", "config", "prometheus/prometheus.yml", cwd=MONITORING)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "SUCCESS: 2 rule files found" in checked.stdout


def test_the_rules_check_without_lint_problems() -> None:
    checked = run("promtool", "check", "rules", *sorted(str(p) for p in RULES.glob("*.yml")))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert checked.stdout.count("SUCCESS") == 2 and "FAILED" not in checked.stdout + checked.stderr


def test_the_promtool_unit_tests_pass() -> None:
    files = sorted(str(p) for p in PROMTOOL_TESTS.glob("*.test.yml"))
    assert len(files) >= 4
    tested = run("promtool", "test", "rules", *files)
    assert tested.returncode == 0, tested.stdout + tested.stderr
    assert tested.stdout.count("SUCCESS") == len(files)


def test_the_alertmanager_config_checks() -> None:
    checked = run("amtool", "check-config", "alertmanager/alertmanager.yml", cwd=MONITORING)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "SUCCESS" in checked.stdout and "2 receivers" in checked.stdout


def test_a_broken_rule_is_refused(tmp_path: Path) -> None:
    """The checks above can fail: promtool refuses a query that does not parse."""
    bad = tmp_path / "bad.yml"
    bad.write_text(to_yaml(rules_document([Group("bad", (Record("x:y:z", "sum by (service (up)"),))])))
    assert run("promtool", "check", "rules", str(bad)).returncode != 0


def test_every_dashboard_query_parses(tmp_path: Path) -> None:
    records = tuple(Record(f"panel:{dashboard.uid.replace('-', '_')}:q{n}", expr)
                    for dashboard in DASHBOARDS for n, expr in enumerate(dashboard.queries(), start=1))
    assert len(records) > 50
    panels = tmp_path / "panels.yml"
    panels.write_text(to_yaml(rules_document([Group("panels", records)])))
    checked = run("promtool", "check", "rules", str(panels))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert f"SUCCESS: {len(records)} rules found" in checked.stdout


def test_the_live_tests_rules_and_the_local_stacks_config_check(tmp_path: Path) -> None:
    """What the end-to-end test and `frontdoor-stack run` load: every alert with no wait, and a
    configuration made from the stack's ports."""
    fast = tmp_path / "fast.rules.yml"
    fast.write_text(to_yaml(rules_document(rule_groups(), for_="0s")))
    assert "for:" not in fast.read_text()
    config = tmp_path / "prometheus.yml"
    config.write_text(to_yaml(configs.prometheus_config({"contacts": "127.0.0.1:18001"}, "127.0.0.1:19093",
                                                        [str(fast)], interval="1s",
                                                        kafka="127.0.0.1:18099")))
    assert "job_name: kafka" in config.read_text()
    checked = run("promtool", "check", "config", str(config))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    rules = sum(len(group.rules) for group in rule_groups())
    assert "SUCCESS: 1 rule files found" in checked.stdout and f"SUCCESS: {rules} rules found" in checked.stdout
