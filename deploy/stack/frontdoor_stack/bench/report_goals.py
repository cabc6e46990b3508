"""The bench's goals, each with this run's figure and its verdict: met, not met, or not measured
(a part that did not run, or ran only in part, is never counted as met)."""

from __future__ import annotations

from .report_format import millis, number, percent
from .results import Results

MET, NOT_MET, NOT_MEASURED = "met", "**not met**", "not measured"
Row = tuple[str, str, str]


def verdict(ok: bool | None) -> str:
    return NOT_MEASURED if ok is None else (MET if ok else NOT_MET)


def goals(r: Results) -> list[Row]:
    return (_throughput_goals(r) + _anchor_goals(r) + _http_goals(r) + _loss_goals(r) + _webhook_goals(r)
            + _rebuild_goals(r))


def _anchor_goals(r: Results) -> list[Row]:
    """Issue 20's goals, each a ratio to its anchor measured in this run."""
    al, bl, h, bare = r.allocation, r.bare_loop, r.contacts_http, r.bare_http
    share = al.per_second / bl.per_second if al and bl and bl.per_second else None
    http = h.closed.per_second / bare[0].per_second if h and bare and bare[0].per_second else None
    p99s = (h.fixed.p99_ms, bare[1].p99_ms) if h and bare else (None, None)
    times = p99s[0] / p99s[1] if p99s[0] is not None and p99s[1] else None
    return [
        ("allocation ≥ 50% of the bare loop", percent(al.per_second if al else None, bl.per_second if bl else None),
         verdict(None if share is None else share >= 0.5)),
        ("contacts HTTP ≥ 70% of bare FastAPI (req/s at 64 connections)",
         percent(h.closed.per_second if h else None, bare[0].per_second if bare else None),
         verdict(None if http is None else http >= 0.7)),
        ("contacts HTTP p99 ≤ 2× bare FastAPI's at the fixed rate",
         "–" if times is None else f"{times:,.1f}×", verdict(None if times is None else times <= 2)),
    ]


def _rebuild_goals(r: Results) -> list[Row]:
    """The 1M rebuild, judged only when this run rebuilt a million records (else the line kept below says)."""
    o = r.outcomes_rebuild
    measured = o is not None and o.events >= 1_000_000
    seconds = o.seconds if o is not None and measured else None
    peak = o.peak_rss_mb if o is not None and measured else None
    return [
        ("outcomes rebuild of 1M records < 5 min", "–" if seconds is None else f"{seconds / 60:,.1f} min",
         verdict(None if seconds is None else seconds < 300)),
        ("outcomes rebuild of 1M records < 1 GB resident", "–" if peak is None else f"{peak:,.0f} MB",
         verdict(None if peak is None else peak < 1024)),
    ]


def _throughput_goals(r: Results) -> list[Row]:
    ck, bl, al = r.contacts_kafka, r.bare_loop, r.allocation
    share = ck.per_second / bl.per_second if ck and bl and bl.per_second else None
    return [
        ("contacts Kafka intake ≥ 50% of the bare loop",
         percent(ck.per_second if ck else None, bl.per_second if bl else None),
         verdict(None if share is None else share >= 0.5)),
        ("contacts Kafka intake ≥ 10,000 contacts/s", f"{number(ck.per_second, 1)}/s" if ck else "–",
         verdict(None if ck is None else ck.per_second >= 10_000)),
        ("allocation ≥ 5,000 decisions/s", f"{number(al.per_second, 1)}/s" if al else "–",
         verdict(None if al is None else al.per_second >= 5_000)),
    ]


def _http_goals(r: Results) -> list[Row]:
    h = r.contacts_http
    held = h is not None and h.fixed.per_second >= 0.95 * r.sizes.rate
    return [
        (f"contacts HTTP ≥ 2,000 req/s at {r.sizes.connections} connections",
         f"{number(h.closed.per_second)} req/s" if h else "–",
         verdict(None if h is None else h.closed.per_second >= 2_000)),
        (f"contacts HTTP: zero timeouts at {r.sizes.connections} connections",
         f"{h.closed.timeouts:,} timeouts" if h else "–",
         verdict(None if h is None else h.closed.timeouts == 0)),
        (f"contacts HTTP p99 < 50 ms at {r.sizes.rate:g} req/s",
         f"p99 {millis(h.fixed.p99_ms)} at {number(h.fixed.per_second)} req/s" if h else "–",
         verdict(None if h is None else held and h.fixed.p99_ms is not None and h.fixed.p99_ms < 50)),
    ]


def _loss_goals(r: Results) -> list[Row]:
    ck, h, al = r.contacts_kafka, r.contacts_http, r.allocation
    flows = {"contacts Kafka": ck, "allocation": al}
    loss = [f"{name} {flow.lost:,}" + ("" if flow.complete else " not out by the cap")
            for name, flow in flows.items() if flow]
    if h:
        loss.append(f"contacts HTTP {h.lost:,}" + ("" if h.complete else " not out by the cap"))
    measured = [f for f in (ck, al) if f] + ([h] if h else [])
    all_measured = len(measured) == 3
    dups = [f"{name} {flow.duplicates:,}" for name, flow in flows.items() if flow]
    if h:
        dups.append(f"contacts HTTP {h.duplicates:,}")
    return [
        ("zero loss (every input out once, within the cap)", "; ".join(loss) or "–",
         verdict(None if not all_measured else all(m.lost == 0 for m in measured))),
        ("zero duplicates", "; ".join(dups) or "–",
         verdict(None if not all_measured else all(m.duplicates == 0 for m in measured))),
    ]


def _webhook_goals(r: Results) -> list[Row]:
    d = r.da_webhook
    held = d is not None and d.complete and d.background_rate >= 0.95 * d.target_rate
    background = f" beside {d.target_rate:g} contacts/s" if d else ""
    rows: list[Row] = []
    for label, value, limit in (("p50", d.p50_ms if d else None, 100), ("p99", d.p99_ms if d else None, 500)):
        rows.append((f"DA contact → school webhook {label} < {limit} ms{background}",
                     f"{label} {millis(value)}" + ("" if d is None or held else " (not every one delivered, or the "
                                                   "background rate not held)"),
                     verdict(None if d is None else held and value is not None and value < limit)))
    return rows
