"""The bench's results: every figure, each project figure over its anchor
from the same run, the goals met or not, the machine and the commit; as
markdown for deploy/bench/results.md and the terminal."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from ..paths import repo_root
from .anchors_kafka_tools import ConsumerResult, ProducerResult
from .contacts_http import ContactsHttpResult
from .context import Sizes
from .da_load import DaWebhookResult
from .da_sign_in_hammer import HammerResult
from .http_load import HttpResult
from .kafka_io import FlowResult
from .outcomes_rebuild import ONE_MILLION, RebuildResult

MET, NOT_MET, NOT_MEASURED = "met", "**not met**", "not measured"
# The line of results.md that holds the outcomes rebuild measured at 1M events: kept by a run that did not
# measure it (the default bench extrapolates), so a figure measured on its own (or put there by hand) stays.
ONE_MILLION_LINE = "- outcomes rebuild, 1M events measured:"


def results_file() -> Path:
    return repo_root() / "deploy" / "bench" / "results.md"


@dataclass
class Results:
    sizes: Sizes
    producer: ProducerResult | None = None
    consumer: ConsumerResult | None = None
    bare_loop: FlowResult | None = None
    bare_http: tuple[HttpResult, HttpResult] | None = None
    contacts_kafka: FlowResult | None = None
    contacts_http: ContactsHttpResult | None = None
    allocation: FlowResult | None = None
    da_webhook: DaWebhookResult | None = None
    da_sign_in_hammer: HammerResult | None = None
    outcomes_rebuild: RebuildResult | None = None
    failures: dict[str, str] = field(default_factory=dict)
    started: datetime = field(default_factory=lambda: datetime.now(UTC))
    seconds: float = 0.0
    # The machine is shared: the 1-minute load average before the bench started its own processes.
    load_before: float = field(default_factory=lambda: os.getloadavg()[0])
    parts: frozenset[str] | None = None  # what `--only` ran (None: everything)


def git_commit() -> str:
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=repo_root(), capture_output=True, text=True,
                              timeout=10).stdout.strip()

    try:
        commit = git("rev-parse", "--short", "HEAD") or "unknown"
        dirty = git("status", "--porcelain", "--untracked-files=no")
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return f"{commit} (with uncommitted changes in the working tree)" if dirty else commit


def _n(value: float | None, digits: int = 0) -> str:
    return "–" if value is None else f"{value:,.{digits}f}"


def _ms(value: float | None) -> str:
    return "–" if value is None else f"{value:,.1f} ms"


def _pct(numerator: float | None, denominator: float | None) -> str:
    if numerator is None or not denominator:
        return "–"
    return f"{numerator / denominator:.1%}"


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
    return (f"{target}{result.requests:,} requests, p50 {_ms(result.p50_ms)}, p99 {_ms(result.p99_ms)}, "
            f"{result.non_2xx:,} non-2xx, {result.timeouts:,} timeouts, {result.errors:,} other errors")


def figures(r: Results) -> list[tuple[str, str, str]]:
    rows: list[tuple[str, str, str]] = []
    if r.producer:
        rows.append(("Kafka ProducerPerformance (anchor)", f"{_n(r.producer.per_second)} msg/s",
                     f"{r.producer.records:,} records of the contacts, acks=all, {r.producer.mb_per_second:g} MB/s, "
                     f"send p99 {_n(r.producer.p99_ms)} ms"))
    if r.consumer:
        rows.append(("Kafka ConsumerPerformance (anchor)", f"{_n(r.consumer.per_second)} msg/s",
                     f"{r.consumer.records:,} records, fetch rate; {_n(r.consumer.per_second_overall)} msg/s "
                     "with the group join"))
    if r.bare_loop:
        rows.append(("bare aiokafka consume→validate→produce→commit (anchor)", f"{_n(r.bare_loop.per_second)} msg/s",
                     _flow_detail(r.bare_loop)))
    if r.bare_http:
        closed, fixed = r.bare_http
        rows.append((f"bare FastAPI, wrk {r.sizes.connections} connections (anchor)",
                     f"{_n(closed.per_second)} req/s", _http_detail(closed)))
        rows.append((f"bare FastAPI, hey fixed {r.sizes.rate:g} req/s (anchor)", f"{_n(fixed.per_second)} req/s",
                     _http_detail(fixed)))
    if r.contacts_kafka:
        rows.append(("contacts Kafka intake", f"{_n(r.contacts_kafka.per_second, 1)} contacts/s",
                     _flow_detail(r.contacts_kafka)))
    if r.contacts_http:
        h = r.contacts_http
        rows.append((f"contacts HTTP intake, wrk {r.sizes.connections} connections",
                     f"{_n(h.closed.per_second)} req/s", _http_detail(h.closed)))
        rows.append((f"contacts HTTP intake, hey fixed {r.sizes.rate:g} req/s", f"{_n(h.fixed.per_second)} req/s",
                     _http_detail(h.fixed)))
        within = "" if h.complete else f" within the {h.time_cap:.0f} s cap"
        rows.append(("contacts HTTP 202s recorded once", f"{h.recorded:,} of {h.accepted:,}",
                     f"{h.lost:,} missing{within}, {h.duplicates:,} duplicates on contacts.recorded.v1; "
                     f"{h.in_flight:,} more recorded that were in flight when a load stopped (answer never read)"))
    if r.allocation:
        rows.append(("allocation decisions → cases opened", f"{_n(r.allocation.per_second, 1)} decisions/s",
                     _flow_detail(r.allocation)))
    if r.da_webhook:
        d = r.da_webhook
        rows.append((f"DA contact → verified school webhook, beside {d.target_rate:g} contacts/s",
                     f"p50 {_ms(d.p50_ms)}, p99 {_ms(d.p99_ms)}", _da_detail(d)))
    if r.da_sign_in_hammer:
        hm = r.da_sign_in_hammer
        rows.append((f"DA contact → verified school webhook while {hm.clients} clients hammer the sign-in page, "
                     f"beside {hm.hammered.target_rate:g} contacts/s",
                     f"p50 {_ms(hm.hammered.p50_ms)}, p99 {_ms(hm.hammered.p99_ms)} (quiet, same services just "
                     f"before: p50 {_ms(hm.quiet.p50_ms)}, p99 {_ms(hm.quiet.p99_ms)})", _hammer_detail(hm)))
    if r.outcomes_rebuild:
        o = r.outcomes_rebuild
        rows.append((f"outcomes rebuild (`frontdoor-outcomes rebuild`), {o.records:,} records",
                     f"{_n(o.per_second)} records/s, {o.seconds:,.1f} s", _rebuild_detail(o)))
    return rows


def _rebuild_detail(o: RebuildResult) -> str:
    topics = ", ".join(f"{topic} {n:,}" for topic, n in o.by_topic.items())
    cleared = f" (after deleting the {o.cleared:,} records the earlier parts had left there)" if o.cleared else ""
    return (f"{o.events:,} synthetic events published to the input topics ({topics}) at "
            f"{_n(o.events / o.publish_seconds if o.publish_seconds else None)}/s{cleared}"
            + f"; its own split: read {o.read_seconds:,.1f} s, applied {o.apply_seconds:,.1f} s "
            f"({_n(o.records / o.apply_seconds if o.apply_seconds else None)}/s), start-up, migrations and the "
            f"report {o.overhead_seconds:,.1f} s; {o.families:,} families; its KPI report: {o.report_contacts:,} "
            f"contacts, {o.report_closures:,} closures, {o.report_identified:,} families identified; "
            f"**1M extrapolated: {o.extrapolated_seconds:,.0f} s ({o.extrapolated_seconds / 60:,.1f} min)**, "
            "linear in the records read and applied")


def one_million_line(r: Results, kept: str | None = None) -> str:
    """This run's 1M measurement, else the one kept from the previous results, else a place for it."""
    o = r.outcomes_rebuild
    if o is not None and o.events >= ONE_MILLION:
        return (f"{ONE_MILLION_LINE} {o.records:,} records rebuilt in {o.seconds:,.0f} s ({o.seconds / 60:,.1f} "
                f"min, {_n(o.per_second)} records/s; read {o.read_seconds:,.0f} s, applied {o.apply_seconds:,.0f} "
                f"s) on {r.started:%Y-%m-%d} at {git_commit()}, in this run")
    if kept:
        return kept
    return (f"{ONE_MILLION_LINE} … (not yet: `frontdoor-stack bench --only outcomes-rebuild --rebuild-events "
            "1000000` puts its figure here, as may a separate run's by hand)")


def _da_detail(d: DaWebhookResult) -> str:
    within = "" if d.complete else f" within the {d.time_cap:.0f} s cap"
    return (f"{d.delivered:,} of {d.probes:,} DA contacts ({d.probe_rate:g}/s for {d.duration:g} s) delivered "
            f"and verified{within}, max {_ms(d.max_ms)}; p50 of the halves: contacts (published → DA event on "
            f"Kafka) {_ms(d.contacts_p50_ms)}, notifications (DA event → verified webhook) "
            f"{_ms(d.notifications_p50_ms)}; {d.rejected:,} rejected, {d.duplicates:,} duplicate deliveries; "
            f"background {d.background:,} non-DA contacts at {_n(d.background_rate, 1)}/s")


def _hammer_detail(h: HammerResult) -> str:
    answers = ", ".join(f"{status}: {n:,}" for status, n in h.answers.items())
    return (f"hammered: {_da_detail(h.hammered)}; quiet: {h.quiet.delivered:,} of {h.quiet.probes:,} delivered, "
            f"halves contacts {_ms(h.quiet.contacts_p50_ms)}, notifications {_ms(h.quiet.notifications_p50_ms)}; "
            f"sign-in answers over {h.seconds:,.0f} s ({_n(h.per_second)}/s): {answers}, {h.errors:,} unanswered; "
            f"sign-in answer p50 {_ms(h.sign_in_p50_ms)}, p99 {_ms(h.sign_in_p99_ms)}; CPU meanwhile: the "
            f"{h.clients} clients {h.hammer_cpu_seconds:,.1f} s, the notifications API "
            f"{'–' if h.api_cpu_seconds is None else f'{h.api_cpu_seconds:,.1f}'} s (of {h.seconds:,.0f} s on "
            f"{os.cpu_count()} cores)")


def ratios(r: Results) -> list[tuple[str, str]]:
    def rate(flow: FlowResult | None) -> float | None:
        return flow.per_second if flow else None

    return [
        ("contacts Kafka intake / bare aiokafka loop", _pct(rate(r.contacts_kafka), rate(r.bare_loop))),
        ("contacts HTTP / bare FastAPI (wrk, req/s)",
         _pct(r.contacts_http.closed.per_second if r.contacts_http else None,
              r.bare_http[0].per_second if r.bare_http else None)),
        ("bare aiokafka loop / Kafka ProducerPerformance",
         _pct(rate(r.bare_loop), r.producer.per_second if r.producer else None)),
    ]


def _verdict(ok: bool | None) -> str:
    return NOT_MEASURED if ok is None else (MET if ok else NOT_MET)


def goals(r: Results) -> list[tuple[str, str, str]]:
    rows: list[tuple[str, str, str]] = []
    ck, bl, h, al = r.contacts_kafka, r.bare_loop, r.contacts_http, r.allocation
    share = ck.per_second / bl.per_second if ck and bl and bl.per_second else None
    rows.append(("contacts Kafka intake ≥ 50% of the bare loop", _pct(ck.per_second if ck else None,
                                                                      bl.per_second if bl else None),
                 _verdict(None if share is None else share >= 0.5)))
    rows.append(("contacts Kafka intake ≥ 10,000 contacts/s", f"{_n(ck.per_second, 1)}/s" if ck else "–",
                 _verdict(None if ck is None else ck.per_second >= 10_000)))
    rows.append(("allocation ≥ 5,000 decisions/s", f"{_n(al.per_second, 1)}/s" if al else "–",
                 _verdict(None if al is None else al.per_second >= 5_000)))
    rows.append((f"contacts HTTP ≥ 2,000 req/s at {r.sizes.connections} connections",
                 f"{_n(h.closed.per_second)} req/s" if h else "–",
                 _verdict(None if h is None else h.closed.per_second >= 2_000)))
    rows.append((f"contacts HTTP: zero timeouts at {r.sizes.connections} connections",
                 f"{h.closed.timeouts:,} timeouts" if h else "–",
                 _verdict(None if h is None else h.closed.timeouts == 0)))
    held = h is not None and h.fixed.per_second >= 0.95 * r.sizes.rate
    rows.append((f"contacts HTTP p99 < 50 ms at {r.sizes.rate:g} req/s",
                 f"p99 {_ms(h.fixed.p99_ms)} at {_n(h.fixed.per_second)} req/s" if h else "–",
                 _verdict(None if h is None else held and h.fixed.p99_ms is not None and h.fixed.p99_ms < 50)))
    flows = {"contacts Kafka": ck, "allocation": al}
    loss = [f"{name} {flow.lost:,}" + ("" if flow.complete else " not out by the cap")
            for name, flow in flows.items() if flow]
    if h:
        loss.append(f"contacts HTTP {h.lost:,}" + ("" if h.complete else " not out by the cap"))
    measured = [f for f in (ck, al) if f] + ([h] if h else [])
    all_measured = len(measured) == 3
    rows.append(("zero loss (every input out once, within the cap)", "; ".join(loss) or "–",
                 _verdict(None if not all_measured else all(m.lost == 0 for m in measured))))
    dups = [f"{name} {flow.duplicates:,}" for name, flow in flows.items() if flow]
    if h:
        dups.append(f"contacts HTTP {h.duplicates:,}")
    rows.append(("zero duplicates", "; ".join(dups) or "–",
                 _verdict(None if not all_measured else all(m.duplicates == 0 for m in measured))))
    d = r.da_webhook
    held = d is not None and d.complete and d.background_rate >= 0.95 * d.target_rate
    background = f" beside {d.target_rate:g} contacts/s" if d else ""
    for label, value, limit in (("p50", d.p50_ms if d else None, 100), ("p99", d.p99_ms if d else None, 500)):
        rows.append((f"DA contact → school webhook {label} < {limit} ms{background}",
                     f"{label} {_ms(value)}" + ("" if d is None or held else " (not every one delivered, or the "
                                                "background rate not held)"),
                     _verdict(None if d is None else held and value is not None and value < limit)))
    return rows


def _table(header: tuple[str, ...], rows: Sequence[tuple[str, ...]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in rows]
    return lines


def markdown(r: Results, kept_one_million: str | None = None) -> str:
    s = r.sizes
    lines = [
        "# Front Door benchmark (`make bench`)",
        "",
        f"- date: {r.started:%Y-%m-%d %H:%M} UTC; took {r.seconds / 60:.1f} min",
        f"- git commit: {git_commit()}",
        f"- machine: {os.cpu_count()} cores (`os.cpu_count()`); everything (broker, services, load generators) "
        f"on this one machine, on 127.0.0.1; load average {r.load_before:.2f} before the bench started",
        f"- sizes: {s.contacts:,} contacts on the Kafka paths, {s.decisions:,} decisions, HTTP loads of "
        f"{s.duration:g} s each, DA contacts at {s.da_probe_rate:g}/s for {s.da_duration:g} s beside "
        f"{s.da_rate:g} contacts/s, {s.rebuild_events:,} synthetic events for the outcomes rebuild, "
        f"{s.time_cap:g} s cap on each project wait",
        *([f"- parts run: {', '.join(sorted(r.parts))} (`--only`)"] if r.parts else []),
        "",
        "## Figures",
        "",
        *_table(("what", "figure", "detail"), figures(r)),
        "",
        "## Project over anchor (same run)",
        "",
        *_table(("ratio", "value"), ratios(r)),
        "",
        "## Goals",
        "",
        *_table(("goal", "this run", "verdict"), goals(r)),
        "",
        "## Outcomes rebuild at 1M events",
        "",
        one_million_line(r, kept_one_million),
        "",
    ]
    if r.failures:
        lines += ["## Steps that failed", ""]
        lines += [f"- {name}: {message}" for name, message in r.failures.items()]
        lines.append("")
    lines += [
        "## How it was measured",
        "",
        "- One Kafka 4.4.0 KRaft broker (frontdoor_stack.kafka_broker), topics as declared; every Kafka path "
        "uses the same synthetic contacts from frontdoor_stack.demo (ProducerPerformance via `--payload-file`, "
        "acks=all, idempotent; its rate includes its own JVM warm-up, so small --contacts underrate it).",
        "- Kafka rates (bare loop, contacts, allocation): distinct output events over the time from the first to "
        "the last output record (record timestamps); counted by CloudEvents `id` and by contact id.",
        "- Closed loop: `wrk` (2 threads, --timeout 2s, --latency, deploy/bench/post_contacts.lua, distinct "
        "bodies). Fixed rate: `hey` (Debian; `wrk2` is not packaged), 50 workers × "
        f"{s.rate / 50:g} req/s (its `-q` is per worker), one body; its latency is measured from each send, "
        "so a server that falls behind shows as a lower achieved rate.",
        "- The contacts service is restarted before the HTTP phase with its consumer group moved past what the "
        "time-capped Kafka phase left, so HTTP contacts are not queued behind that backlog.",
        "- DA contact → school webhook (frontdoor_stack.bench.da_webhook): fresh contacts and notifications "
        "services (own databases, consumer groups moved past the earlier phases' records), the demo school "
        "system (frontdoor_stack.school_receiver) and three schools put in the directory by webhook through the "
        "admin API. Non-DA demo contacts at a fixed rate and, beside them, police contacts with a DA incident "
        "(one child at one of the schools), each sent with acks=all from its own producer, after three "
        "warm-up DA contacts. Latency: from this client's send (wall clock) to the receiver getting a webhook "
        "it verified with the `standardwebhooks` library (same machine's clock); a webhook is tied to its "
        "contact through the school's inbox (notification id = webhook-id, police reference). Percentiles "
        "are nearest-rank.",
        "- DA contact → school webhook while the sign-in page is hammered (frontdoor_stack.bench.da_sign_in_hammer): "
        "the DA part's services and load, twice in a row on the same services: quiet, then while 32 clients post "
        "bogus sign-ins to /page/sign-in as fast as they are answered, each from its own loopback address "
        "(127.0.0.2-33), half at the bench schools' key adults (`dsl-<URN>`), half at random guessable staff ids, "
        "every password wrong; the hammer starts 2 s before the second load and stops once its webhooks are in.",
        "- Outcomes rebuild (frontdoor_stack.bench.outcomes_rebuild): a year of synthetic events for families "
        "(contacts recorded and decided with per-child referral flags, partner facts, Early Help cases opened, "
        "allocated, offered, answered and closed with the 2015 split), a thousand families at a time in the "
        "order of their business times, published to the outcomes service's input topics; then "
        "`frontdoor-outcomes rebuild --into <a fresh SQLite file> --report FILE --quiet` as its own process, "
        "timed from its start to its exit (records/s = the records it read and applied over that time; its "
        "own read / apply split from its last line). What the earlier parts left on those topics is deleted "
        "first (delete-records), so it reads this part's events alone. The 1M figure is extrapolated linearly "
        "from the records read and applied, plus the run's fixed overhead; the section above keeps a measured "
        "one.",
        "",
    ]
    return "\n".join(lines)


def kept_one_million(path: Path) -> str | None:
    """The 1M rebuild line of the results being replaced, if it has a figure."""
    try:
        lines = path.read_text().splitlines()
    except OSError:
        return None
    line = next((line for line in lines if line.startswith(ONE_MILLION_LINE)), None)
    return None if line is None or line[len(ONE_MILLION_LINE):].strip().startswith("…") else line


def write(r: Results, path: Path | None = None) -> Path:
    target = path or results_file()
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(markdown(r, kept_one_million(target)))
    return target


def record_one_million(r: Results, path: Path | None = None) -> bool:
    """A run that measured the 1M rebuild (`--only outcomes-rebuild
    --rebuild-events 1000000`, written elsewhere) puts that one line into
    the main results, leaving the rest as it is. Whether it did."""
    target = path or results_file()
    o = r.outcomes_rebuild
    if o is None or o.events < ONE_MILLION:
        return False
    try:
        lines = target.read_text().splitlines()
    except OSError:
        return False
    found = [i for i, line in enumerate(lines) if line.startswith(ONE_MILLION_LINE)]
    if not found:
        return False
    lines[found[0]] = one_million_line(r)
    target.write_text("\n".join(lines) + "\n")
    return True
