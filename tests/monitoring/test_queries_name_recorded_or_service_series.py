"""Statically, before anything runs: every query in the rules and the
dashboards selects either a series a recording rule makes, or `up`, or a
metric of one of the four services (`frontdoor_<service>_...`) or of the
broker (`kafka_...`, its JMX exporter's). Whether the services and the
broker really export each name is checked against their /metrics in
tests/e2e/stack/test_monitoring.py."""

from __future__ import annotations

from frontdoor_stack.monitoring.alerts import SERVICE_NAMES
from frontdoor_stack.monitoring.boards import DASHBOARDS
from frontdoor_stack.monitoring.build import rule_groups
from frontdoor_stack.monitoring.promql import metric_names, selectors
from frontdoor_stack.monitoring.rules import Record


def all_queries() -> list[str]:
    return ([rule.expr for group in rule_groups() for rule in group.rules]
            + [expr for dashboard in DASHBOARDS for expr in dashboard.queries()])


def test_every_name_is_recorded_up_or_a_services_or_the_brokers_metric() -> None:
    recorded = {rule.name for group in rule_groups() for rule in group.rules if isinstance(rule, Record)}
    prefixes = (*(f"frontdoor_{service}_" for service in SERVICE_NAMES), "kafka_")
    for expr in all_queries():
        names = metric_names(expr)
        assert names, expr
        for name in names:
            assert name in recorded or name == "up" or (":" not in name and name.startswith(prefixes)), (name, expr)


def test_every_recorded_name_is_read_by_a_dashboard() -> None:
    recorded = {rule.name for group in rule_groups() for rule in group.rules if isinstance(rule, Record)}
    read = {name for dashboard in DASHBOARDS for expr in dashboard.queries() for name in metric_names(expr)}
    assert recorded - read == set()


def test_selectors_are_read_as_promql_has_them() -> None:
    expr = ('sum by (service, route) (rate(frontdoor_contacts_http_requests_total{status_class="5xx", '
            'route=~"/v1/{x}"}[5m]))\n/ on (service) group_left (route) '
            'max(frontdoor_contacts_outbox_pending offset 15m) - time() > bool 0 unless up')
    assert selectors(expr) == ['frontdoor_contacts_http_requests_total{status_class="5xx", route=~"/v1/{x}"}',
                               "frontdoor_contacts_outbox_pending", "up"]
    assert metric_names('label_replace(k_ratio, "kpi", "x", "", "") or {__name__="y"}') == {"k_ratio"}
