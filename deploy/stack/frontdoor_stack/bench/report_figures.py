"""The bench report's figures table (every figure with its detail, anchors first) and its
project-over-anchor ratios, from one run's Results."""

from __future__ import annotations

import os

from .da_load import DaWebhookResult
from .da_sign_in_hammer import HammerResult
from .http_load import HttpResult
from .kafka_io import FlowResult
from .outcomes_rebuild import RebuildResult
from .report_format import millis, number, percent
from .results import Results

Row = tuple[str, str, str]


def figures(r: Results) -> list[Row]:
    rows = _anchor_rows(r) + _intake_rows(r) + _webhook_rows(r)
    if r.outcomes_rebuild:
        o = r.outcomes_rebuild
        rows.append((f"outcomes rebuild (`frontdoor-outcomes rebuild`), {o.records:,} records",
                     f"{number(o.per_second)} records/s, {o.seconds:,.1f} s", _rebuild_detail(o)))
    return rows


def _anchor_rows(r: Results) -> list[Row]:
    rows: list[Row] = []
    if r.producer:
        rows.append(("Kafka ProducerPerformance (anchor)", f"{number(r.producer.per_second)} msg/s",
                     f"{r.producer.records:,} records of the contacts, acks=all, {r.producer.mb_per_second:g} MB/s, "
                     f"send p99 {number(r.producer.p99_ms)} ms"))
    if r.consumer:
        rows.append(("Kafka ConsumerPerformance (anchor)", f"{number(r.consumer.per_second)} msg/s",
                     f"{r.consumer.records:,} records, fetch rate; {number(r.consumer.per_second_overall)} msg/s "
                     "with the group join"))
    if r.bare_loop:
        rows.append(("bare aiokafka consume→validate→produce→commit (anchor)",
                     f"{number(r.bare_loop.per_second)} msg/s", _flow_detail(r.bare_loop)))
    if r.bare_http:
        closed, fixed = r.bare_http
        rows.append((f"bare FastAPI, wrk {r.sizes.connections} connections (anchor)",
                     f"{number(closed.per_second)} req/s", _http_detail(closed)))
        rows.append((f"bare FastAPI, hey fixed {r.sizes.rate:g} req/s (anchor)",
                     f"{number(fixed.per_second)} req/s", _http_detail(fixed)))
    return rows


def _intake_rows(r: Results) -> list[Row]:
    rows: list[Row] = []
    if r.contacts_kafka:
        rows.append(("contacts Kafka intake", f"{number(r.contacts_kafka.per_second, 1)} contacts/s",
                     _flow_detail(r.contacts_kafka)))
    if r.contacts_http:
        h = r.contacts_http
        rows.append((f"contacts HTTP intake, wrk {r.sizes.connections} connections",
                     f"{number(h.closed.per_second)} req/s", _http_detail(h.closed)))
        rows.append((f"contacts HTTP intake, hey fixed {r.sizes.rate:g} req/s", f"{number(h.fixed.per_second)} req/s",
                     _http_detail(h.fixed)))
        within = "" if h.complete else f" within the {h.time_cap:.0f} s cap"
        rows.append(("contacts HTTP 202s recorded once", f"{h.recorded:,} of {h.accepted:,}",
                     f"{h.lost:,} missing{within}, {h.duplicates:,} duplicates on contacts.recorded.v1; "
                     f"{h.in_flight:,} more recorded that were in flight when a load stopped (answer never read)"))
    if r.allocation:
        rows.append(("allocation decisions → cases opened", f"{number(r.allocation.per_second, 1)} decisions/s",
                     _flow_detail(r.allocation)))
    return rows


def _webhook_rows(r: Results) -> list[Row]:
    rows: list[Row] = []
    if r.da_webhook:
        d = r.da_webhook
        rows.append((f"DA contact → verified school webhook, beside {d.target_rate:g} contacts/s",
                     f"p50 {millis(d.p50_ms)}, p99 {millis(d.p99_ms)}", _da_detail(d)))
    if r.da_sign_in_hammer:
        hm = r.da_sign_in_hammer
        rows.append((f"DA contact → verified school webhook while {hm.clients} clients hammer the sign-in page, "
                     f"beside {hm.hammered.target_rate:g} contacts/s",
                     f"p50 {millis(hm.hammered.p50_ms)}, p99 {millis(hm.hammered.p99_ms)} (quiet, same services "
                     f"just before: p50 {millis(hm.quiet.p50_ms)}, p99 {millis(hm.quiet.p99_ms)})",
                     _hammer_detail(hm)))
    return rows


def _flow_detail(flow: FlowResult) -> str:
    arrived = f"{flow.arrived:,} of {flow.expected:,} arrived"
    if flow.complete:
        arrived += ", 0 missing"
    else:
        arrived += f" within the {flow.time_cap:.0f} s cap ({flow.lost:,} not out yet: loss not verifiable)"
    since = ("" if flow.per_second_since_ready is None
             else f"; {flow.per_second_since_ready:,.1f}/s counted from the service answering /healthz")
    return (f"{arrived}; {flow.duplicates:,} duplicates; first→last output "
            f"{flow.span_seconds:,.1f} s{since}")


def _http_detail(result: HttpResult) -> str:
    target = f"target {result.target_rate:g} req/s, " if result.target_rate else ""
    return (f"{target}{result.requests:,} requests, p50 {millis(result.p50_ms)}, p99 {millis(result.p99_ms)}, "
            f"{result.non_2xx:,} non-2xx, {result.timeouts:,} timeouts, {result.errors:,} other errors")


def _rebuild_detail(o: RebuildResult) -> str:
    topics = ", ".join(f"{topic} {n:,}" for topic, n in o.by_topic.items())
    cleared = f" (after deleting the {o.cleared:,} records the earlier parts had left there)" if o.cleared else ""
    return (f"{o.events:,} synthetic events published to the input topics ({topics}) at "
            f"{number(o.events / o.publish_seconds if o.publish_seconds else None)}/s{cleared}"
            + f"; its own split: read {o.read_seconds:,.1f} s, applied {o.apply_seconds:,.1f} s "
            f"({number(o.records / o.apply_seconds if o.apply_seconds else None)}/s), start-up, migrations and the "
            f"report {o.overhead_seconds:,.1f} s; {o.families:,} families; its KPI report: {o.report_contacts:,} "
            f"contacts, {o.report_closures:,} closures, {o.report_identified:,} families identified; "
            f"**1M extrapolated: {o.extrapolated_seconds:,.0f} s ({o.extrapolated_seconds / 60:,.1f} min)**, "
            "linear in the records read and applied")


def _da_detail(d: DaWebhookResult) -> str:
    within = "" if d.complete else f" within the {d.time_cap:.0f} s cap"
    return (f"{d.delivered:,} of {d.probes:,} DA contacts ({d.probe_rate:g}/s for {d.duration:g} s) delivered "
            f"and verified{within}, max {millis(d.max_ms)}; p50 of the halves: contacts (published → DA event on "
            f"Kafka) {millis(d.contacts_p50_ms)}, notifications (DA event → verified webhook) "
            f"{millis(d.notifications_p50_ms)}; {d.rejected:,} rejected, {d.duplicates:,} duplicate deliveries; "
            f"background {d.background:,} non-DA contacts at {number(d.background_rate, 1)}/s")


def _hammer_detail(h: HammerResult) -> str:
    answers = ", ".join(f"{status}: {n:,}" for status, n in h.answers.items())
    return (f"hammered: {_da_detail(h.hammered)}; quiet: {h.quiet.delivered:,} of {h.quiet.probes:,} delivered, "
            f"halves contacts {millis(h.quiet.contacts_p50_ms)}, notifications {millis(h.quiet.notifications_p50_ms)}; "
            f"sign-in answers over {h.seconds:,.0f} s ({number(h.per_second)}/s): {answers}, {h.errors:,} unanswered; "
            f"sign-in answer p50 {millis(h.sign_in_p50_ms)}, p99 {millis(h.sign_in_p99_ms)}; CPU meanwhile: the "
            f"{h.clients} clients {h.hammer_cpu_seconds:,.1f} s, the notifications API "
            f"{'–' if h.api_cpu_seconds is None else f'{h.api_cpu_seconds:,.1f}'} s (of {h.seconds:,.0f} s on "
            f"{os.cpu_count()} cores)")


def ratios(r: Results) -> list[tuple[str, str]]:
    def rate(flow: FlowResult | None) -> float | None:
        return flow.per_second if flow else None

    return [
        ("contacts Kafka intake / bare aiokafka loop", percent(rate(r.contacts_kafka), rate(r.bare_loop))),
        ("contacts HTTP / bare FastAPI (wrk, req/s)",
         percent(r.contacts_http.closed.per_second if r.contacts_http else None,
                 r.bare_http[0].per_second if r.bare_http else None)),
        ("bare aiokafka loop / Kafka ProducerPerformance",
         percent(rate(r.bare_loop), r.producer.per_second if r.producer else None)),
    ]
