"""The bench report's figures table (every figure with its detail, anchors first) and its
project-over-anchor ratios, from one run's Results."""

from __future__ import annotations

import os

from .anchors_kafka_tools import ConsumerResult, ProducerResult
from .contacts_http import ContactsHttpResult
from .context import Sizes
from .da_load import DaWebhookResult
from .da_sign_in_hammer import HammerResult
from .http_load import HttpResult
from .kafka_io import FlowResult
from .outcomes_rebuild import RebuildResult
from .report_format import millis, number, percent
from .results import Results

Row = tuple[str, str, str]


def figures(r: Results) -> list[Row]:
    """One row a figure, anchors first; a part that did not run has none."""
    s = r.sizes
    return [
        *(_producer_rows(r.producer) if r.producer else []),
        *(_consumer_rows(r.consumer) if r.consumer else []),
        *(_flow_rows("bare aiokafka consume→validate→produce→commit (anchor)", "msg/s", r.bare_loop, 0)
          if r.bare_loop else []),
        *(_http_rows("bare FastAPI", " (anchor)", *r.bare_http, s) if r.bare_http else []),
        *(_flow_rows("contacts Kafka intake", "contacts/s", r.contacts_kafka, 1) if r.contacts_kafka else []),
        *(_contacts_http_rows(r.contacts_http, s) if r.contacts_http else []),
        *(_flow_rows("allocation decisions → cases opened", "decisions/s", r.allocation, 1) if r.allocation else []),
        *(_scaled_rows("contacts Kafka intake", "contacts/s", r.contacts_kafka_postgresql,
                       r.postgresql_cpu_seconds.get("contacts")) if r.contacts_kafka_postgresql else []),
        *(_scaled_rows("allocation decisions → cases opened", "decisions/s", r.allocation_postgresql,
                       r.postgresql_cpu_seconds.get("allocation")) if r.allocation_postgresql else []),
        *(_webhook_rows(r.da_webhook) if r.da_webhook else []),
        *(_webhook_rows(r.da_webhook_cluster, " on 3 brokers (replication 3, min.insync.replicas=2)")
          if r.da_webhook_cluster else []),
        *(_hammer_rows(r.da_sign_in_hammer) if r.da_sign_in_hammer else []),
        *(_rebuild_rows(r.outcomes_rebuild) if r.outcomes_rebuild else []),
    ]


def _producer_rows(p: ProducerResult) -> list[Row]:
    return [("Kafka ProducerPerformance (anchor)", f"{number(p.per_second)} msg/s",
             f"{p.records:,} records of the contacts, acks=all, {p.mb_per_second:g} MB/s, "
             f"send p99 {number(p.p99_ms)} ms")]


def _scaled_rows(what: str, unit: str, flow: FlowResult, cpu: float | None) -> list[Row]:
    """A flow with two workers on PostgreSQL, with the CPU its service's processes used (per record: the cost a
    region divides its cores by)."""
    [(name, figure, detail)] = _flow_rows(f"{what}, 2 workers on PostgreSQL", unit, flow, 1)
    if cpu is not None and flow.arrived:
        detail += (f"; {cpu:,.1f} s of CPU over the service's processes (API, workers; not PostgreSQL's nor the "
                   f"broker's), {cpu / flow.arrived * 1000:,.2f} ms a record")
    return [(name, figure, detail)]


def _consumer_rows(c: ConsumerResult) -> list[Row]:
    return [("Kafka ConsumerPerformance (anchor)", f"{number(c.per_second)} msg/s",
             f"{c.records:,} records, fetch rate; {number(c.per_second_overall)} msg/s with the group join")]


def _flow_rows(what: str, unit: str, flow: FlowResult, digits: int) -> list[Row]:
    return [(what, f"{number(flow.per_second, digits)} {unit}", _flow_detail(flow))]


def _http_rows(what: str, suffix: str, closed: HttpResult, fixed: HttpResult, s: Sizes) -> list[Row]:
    """The closed loop (wrk) and the fixed rate (hey) of one HTTP load."""
    return [(f"{what}, wrk {s.connections} connections{suffix}", f"{number(closed.per_second)} req/s",
             _http_detail(closed)),
            (f"{what}, hey fixed {s.rate:g} req/s{suffix}", f"{number(fixed.per_second)} req/s",
             _http_detail(fixed))]


def _contacts_http_rows(h: ContactsHttpResult, s: Sizes) -> list[Row]:
    within = "" if h.complete else f" within the {h.time_cap:.0f} s cap"
    return [*_http_rows("contacts HTTP intake", "", h.closed, h.fixed, s),
            ("contacts HTTP 202s recorded once", f"{h.recorded:,} of {h.accepted:,}",
             f"{h.lost:,} missing{within}, {h.duplicates:,} duplicates on contacts.recorded.v1; "
             f"{h.in_flight:,} more recorded that were in flight when a load stopped (answer never read)")]


def _webhook_rows(d: DaWebhookResult, where: str = "") -> list[Row]:
    return [(f"DA contact → verified school webhook{where}, beside {d.target_rate:g} contacts/s",
             f"p50 {millis(d.p50_ms)}, p99 {millis(d.p99_ms)}", _da_detail(d))]


def _hammer_rows(hm: HammerResult) -> list[Row]:
    return [(f"DA contact → verified school webhook while {hm.clients} clients hammer the sign-in page, "
             f"beside {hm.hammered.target_rate:g} contacts/s",
             f"p50 {millis(hm.hammered.p50_ms)}, p99 {millis(hm.hammered.p99_ms)} (quiet, same services "
             f"just before: p50 {millis(hm.quiet.p50_ms)}, p99 {millis(hm.quiet.p99_ms)})", _hammer_detail(hm))]


def _rebuild_rows(o: RebuildResult) -> list[Row]:
    return [(f"outcomes rebuild (`frontdoor-outcomes rebuild`), {o.records:,} records",
             f"{number(o.per_second)} records/s, {o.seconds:,.1f} s", _rebuild_detail(o))]


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
            f"report {o.overhead_seconds:,.1f} s{footprint(o)}; {o.families:,} families; its KPI report: "
            f"{o.report_contacts:,} "
            f"contacts, {o.report_closures:,} closures, {o.report_identified:,} families identified; "
            f"**1M extrapolated: {o.extrapolated_seconds:,.0f} s ({o.extrapolated_seconds / 60:,.1f} min)**, "
            "linear in the records read and applied")


def footprint(o: RebuildResult) -> str:
    """The rebuild process's own peak resident memory and CPU time, when the bench measured them."""
    if o.peak_rss_mb is None or o.cpu_seconds is None:
        return ""
    return f"; peak resident {o.peak_rss_mb:,.0f} MB, CPU {o.cpu_seconds:,.0f} s"


def _da_detail(d: DaWebhookResult) -> str:
    within = "" if d.complete else f" within the {d.time_cap:.0f} s cap"
    return (f"{d.delivered:,} of {d.probes:,} DA contacts ({d.probe_rate:g}/s for {d.duration:g} s) delivered "
            f"and verified{within}, max {millis(d.max_ms)}; p50 / p99 of the halves: contacts (published → DA "
            f"event on Kafka) {millis(d.contacts_p50_ms)} / {millis(d.contacts_p99_ms)}, notifications (DA event → "
            f"verified webhook) {millis(d.notifications_p50_ms)} / {millis(d.notifications_p99_ms)}; "
            f"{d.rejected:,} rejected, {d.duplicates:,} duplicate deliveries; "
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
