"""Front Door's five dashboards for ops staff and managers: the front door,
the 10-day Early Help pipeline, school notifications, the outcomes KPIs and
the platform's health. Queries name the services' metrics or the recording
rules (`recording`), the broker's (its JMX exporter's) too; a test checks them
against the running services and broker."""

from __future__ import annotations

from .alerts import SERVICE_NAMES
from .dashboards import BARGAUGE, STAT, TABLE, Dashboard, Panel, Query, query

_C, _A, _N, _O = "frontdoor_contacts_", "frontdoor_allocation_", "frontdoor_notifications_", "frontdoor_outcomes_kpi_"


# The services whose worker runs the kit's batch consumer, which reports its own lag (outcomes' faust stream does not).
BATCH_CONSUMERS = tuple(s for s in SERVICE_NAMES if s != "outcomes")


def _per_service(expr: str, legend: str, services: tuple[str, ...] = SERVICE_NAMES) -> tuple[Query, ...]:
    return tuple(query(expr.format(m=f"frontdoor_{s}_"), legend) for s in services)


FRONT_DOOR = Dashboard("frontdoor-front-door", "Front Door · the front door", "Contacts coming in, MASH decisions "
                       "and re-referrals", (
    Panel("Contacts per hour, by source", "Contacts recorded, by who made them (police, schools, health...)",
          (query(f"sum by (source) (increase({_C}received_total[1h]))", "{{source}}"),)),
    Panel("Contacts in the last 24 hours", "By source", (query("source:frontdoor_contacts_received:increase1d",
                                                               "{{source}}"),), kind=BARGAUGE, decimals=0),
    Panel("MASH decisions per hour", "Decisions recorded, by decision",
          (query(f"sum by (decision) (increase({_C}decisions_total[1h]))", "{{decision}}"),)),
    Panel("Decisions in the last 24 hours", "By decision", (query("decision:frontdoor_contacts_decisions:increase1d",
                                                                  "{{decision}}"),), kind=BARGAUGE, decimals=0),
    Panel("Referrals and re-referrals per day", "Children referred (S47 or assessment); of them, re-referred "
          "within 12 months", (query(f"sum(increase({_C}referrals_total[1d]))", "referrals"),
                               query(f"sum(increase({_C}re_referrals_total[1d]))", "re-referrals"))),
    Panel("Re-referral rate", "Re-referrals / referrals: the last 30 days live, the last 12 months (outcomes), "
          "beside the national and statistical neighbours' rates",
          (query("frontdoor:re_referral:ratio_30d", "last 30 days"),
           query(f"{_O}re_referral_ratio", "last 12 months"),
           query(f"{_O}re_referral_comparator_ratio", "{{comparator}}")), unit="percentunit"),
    Panel("DA incidents reported per hour", "Police domestic abuse incidents: each becomes a school's alert",
          (query(f"sum(increase({_C}da_incidents_total[1h]))", "DA incidents"),)),
    Panel("Partner records per hour", "Partner data by dataset and outcome (matched, created, dead-lettered)",
          (query(f"sum by (dataset, outcome) (increase({_C}partner_records_total[1h]))", "{{dataset}} {{outcome}}"),)),
))

EARLY_HELP = Dashboard("frontdoor-early-help", "Front Door · the 10-day Early Help pipeline", "Cases waiting for an "
                       "offer, due soon, overdue, and offers made within the 10-day target", (
    Panel("Cases awaiting an offer, by days waiting", "Open and allocated cases without an offer yet",
          (query(f"sum by (days_waiting) ({_A}open_cases)", "{{days_waiting}} days"),), kind=BARGAUGE, decimals=0),
    Panel("Due soon", "Cases 6 to 10 days into the target", (query(f'sum({_A}open_cases{{days_waiting="6-10"}})'),),
          kind=STAT, width=6, decimals=0),
    Panel("Overdue", "Cases past the target without an offer", (query(f"sum({_A}overdue_cases)"),), kind=STAT,
          width=6, decimals=0),
    Panel("Offers within the target", "The last 30 days live; the last 12 months (outcomes)",
          (query("frontdoor:offers_within_target:ratio_30d", "last 30 days"),
           query(f"{_O}offers_within_target_ratio", "last 12 months")), kind=STAT, unit="percentunit"),
    Panel("Offers per day", "Within the target or not", (query(f"sum by (within_target) (increase({_A}offers_total"
                                                                "[1d]))", "within target: {{within_target}}"),)),
    Panel("SPA decision to offer, days", "Median and 90th percentile over the last 30 days",
          (query("frontdoor:spa_to_offer_days:p50_30d", "median"), query("frontdoor:spa_to_offer_days:p90_30d",
                                                                        "90th percentile")), unit="d"),
    Panel("Cases opened per day, by source", "Early Help, NFA review and step-down decisions opening cases",
          (query(f"sum by (source) (increase({_A}cases_opened_total[1d]))", "{{source}}"),)),
    Panel("Cases allocated and closed per day", "Allocated by kind of lead agency; closed by outcome",
          (query(f"sum by (agency_kind) (increase({_A}cases_allocated_total[1d]))", "allocated: {{agency_kind}}"),
           query(f"sum by (outcome) (increase({_A}cases_closed_total[1d]))", "closed: {{outcome}}"))),
))

SCHOOLS = Dashboard("frontdoor-school-notifications", "Front Door · school notifications", "DA notifications to "
                    "schools before the school day: delivery, latency, failures, escalations, acknowledgement", (
    Panel("DA notifications delivered before the school day", "The last 30 days live; the last 12 months (outcomes)",
          (query("frontdoor:da_notified_before_school_day:ratio_30d", "last 30 days"),
           query(f"{_O}da_notified_before_school_day_ratio", "last 12 months")), kind=STAT, unit="percentunit"),
    Panel("Deliveries per hour", "By channel and timing (before the deadline, late, no deadline)",
          (query(f"sum by (channel, timing) (increase({_N}deliveries_total[1h]))", "{{channel}} {{timing}}"),)),
    Panel("Report to delivery", "From the police report to the school's system: median and 99th percentile",
          (query(f"histogram_quantile(0.5, sum by (le) (rate({_N}delivery_latency_seconds_bucket[1h])))", "median"),
           query(f"histogram_quantile(0.99, sum by (le) (rate({_N}delivery_latency_seconds_bucket[1h])))", "p99")),
          unit="s"),
    Panel("Failed delivery attempts per hour", "By channel and what went wrong (retried with backoff)",
          (query(f'sum by (channel, outcome) (increase({_N}delivery_attempts_total{{outcome!="delivered"}}[1h]))',
                 "{{channel}} {{outcome}}"),)),
    Panel("Deliveries given up and escalations, last 24 hours", "Given up by the last reason; escalated to the "
          "MASH worklist by reason (deadline_near: inside the margin before the school day)",
          (query(f"sum by (reason) (increase({_N}delivery_failures_total[1d]))", "given up: {{reason}}"),
           query(f"sum by (reason) (increase({_N}delivery_escalations_total[1d]))", "escalated: {{reason}}")),
          kind=BARGAUGE, decimals=0),
    Panel("Unacknowledged and acknowledged, last 24 hours", "DA notifications not acknowledged by the start of "
          "the school day, by school phase; acknowledgements by kind and timing",
          (query(f"sum by (phase) (increase({_N}unacknowledged_total[1d]))", "unacknowledged: {{phase}}"),
           query(f"sum by (kind, timing) (increase({_N}acknowledged_total[1d]))", "acknowledged: {{kind}} "
                 "{{timing}}")), kind=BARGAUGE, decimals=0),
    Panel("Deliveries waiting, by age", "Deliveries not yet made, by the notification's age",
          (query(f"sum by (age) ({_N}deliveries_pending)", "{{age}}"),)),
    Panel("Children's schools found", "Children of DA incidents by how their school was found",
          (query(f"sum by (resolution) (increase({_N}children_resolved_total[1d]))", "{{resolution}}"),),
          kind=BARGAUGE, decimals=0),
    Panel("Term dates run out in", "Days until the last school day the loaded term dates know",
          (query(f"({_N}term_dates_last_day_timestamp_seconds - time()) / 86400"),), kind=STAT, unit="d",
          width=6, decimals=0),
    Panel("Retention erasure overdue", "How long the oldest erasure of personal data has been due",
          (query(f"{_N}retention_erasure_overdue_seconds"),), kind=STAT, unit="s", width=6),
))

OUTCOMES = Dashboard("frontdoor-outcomes", "Front Door · outcomes KPIs", "The partnership's KPIs over the last 12 "
                     "months, as the outcomes service reports them", (
    Panel("KPIs", "Every KPI ratio (numerator / denominator) over the last 12 months",
          (query("kpi:frontdoor_outcomes_kpi:ratio", "{{kpi}}"),), kind=TABLE, unit="percentunit", width=24),
    Panel("Contacts by source", "Share of contacts from each source", (query(f"{_O}contacts_by_source_ratio",
                                                                            "{{source}}"),), unit="percentunit"),
    Panel("Thresholds", "Referrals to social care and Early Help, of contacts decided",
          (query(f"{_O}statutory_threshold_ratio", "statutory"), query(f"{_O}early_help_conversion_ratio",
                                                                       "Early Help")), unit="percentunit"),
    Panel("Closure outcomes", "Children of closed cases, by outcome", (query(f"{_O}closure_outcome_children_ratio",
                                                                             "{{category}}"),), kind=BARGAUGE,
          unit="percentunit"),
    Panel("Families by stage", "Identified in data, with a plan, sustained, claim eligible",
          (query("stage:frontdoor_outcomes_families:sum", "{{stage}}"),), kind=BARGAUGE, decimals=0),
    Panel("Sustained and not re-referred", "Plans sustained; cases closed 12 to 24 months ago not re-referred",
          (query(f"{_O}plans_sustained_ratio", "plans sustained"),
           query(f"{_O}closed_not_re_referred_ratio", "not re-referred to {{to}}")), unit="percentunit"),
    Panel("Lead professionals", "Allocations by kind of organisation; organisations taking the lead",
          (query(f"{_O}lead_allocations_ratio", "share: {{agency_kind}}"),
           query(f"{_O}lead_organisations", "organisations: {{agency_kind}}"))),
    Panel("SPA decision to offer", "Median days over the last 12 months", (query(f"{_O}spa_to_offer_median_days"),),
          kind=STAT, unit="d", width=6),
    Panel("Re-referral rate against national", "The 12-month rate minus the national 22.3%",
          (query("frontdoor:re_referral:ratio_12m_vs_national"),), kind=STAT, unit="percentunit", width=6),
    Panel("Outcome events this month and term", "Families identified, outcomes achieved, claims eligible",
          (query("frontdoor_outcomes_period_outputs", "{{kind}} {{period}}"),), kind=BARGAUGE, decimals=0),
))

PLATFORM = Dashboard("frontdoor-platform", "Front Door · platform health", "Services, workers and the broker up, "
                     "lag, dead letters, outboxes, Kafka traffic, request rates, errors and latency", (
    Panel("Services up", "Each service's API answering /metrics", (query('up{job="frontdoor"}', "{{service}}"),),
          kind=STAT, width=6, decimals=0),
    Panel("Workers up", "Each service's worker (consumer, relay, timers)", (query("service:frontdoor_worker_up:min",
                                                                                   "{{service}}"),),
          kind=STAT, width=6, decimals=0),
    Panel("Lag watches up", "Each API process reading its consumer group's lag from the broker",
          _per_service("{m}group_watch_up", "{{service}}"), kind=STAT, width=6, decimals=0),
    Panel("Outbox rows parked", "Events that can never be published as they are",
          (query("service:frontdoor_outbox_parked_rows:max", "{{service}}"),), kind=STAT, width=6, decimals=0),
    Panel("Consumer lag", "Records behind the log end, by the consumer group's committed offsets",
          (query("service:frontdoor_group_lag_records:sum", "{{service}} {{topic}}"),)),
    Panel("Lag the workers report", "Records not yet consumed, as each batch consumer sees it",
          _per_service("sum by (service, topic) ({m}consumer_lag)", "{{service}} {{topic}}", BATCH_CONSUMERS)),
    Panel("Records consumed per second", "By service and topic", (query("service:frontdoor_consumed:rate5m",
                                                                         "{{service}} {{topic}}"),)),
    Panel("Dead letters, last hour", "Records set aside unapplied, by topic and reason",
          (query("service:frontdoor_dead_lettered:increase1h", "{{service}} {{topic}} {{reason}}"),)),
    Panel("Outboxes", "Events waiting to be published, and published per second",
          (query("service:frontdoor_outbox_pending:max", "{{service}} waiting"),
           query("service:frontdoor_outbox_published:rate5m", "{{service}} published/s"))),
    Panel("Batch duration, p99", "Handling one consumed batch, commit included",
          (query("service:frontdoor_batch_seconds:p99_5m", "{{service}}"),), unit="s"),
    Panel("Requests per second", "By service, route and status class",
          (query("sum by (service, status_class) (service:frontdoor_http_requests:rate5m)",
                 "{{service}} {{status_class}}"),), unit="reqps"),
    Panel("Server errors", "Share of requests answered 5xx, by route",
          (query("service:frontdoor_http_errors:ratio_rate5m", "{{service}} {{route}}"),), unit="percentunit"),
    Panel("Latency, p99 and median", "By service and route",
          (query("service:frontdoor_http_request_duration_seconds:p99_5m", "{{service}} {{route}} p99"),
           query("service:frontdoor_http_request_duration_seconds:p50_5m", "{{service}} {{route}} median")),
          unit="s"),
    Panel("Requests refused", "API rejections per second, by status", (query("service:frontdoor_api_rejections:rate5m",
                                                                             "{{service}} {{status}}"),),
          unit="reqps"),
    Panel("Kafka broker up", "The broker's metrics answering (job kafka: its JMX exporter)",
          (query('up{job="kafka"}', "{{instance}}"),), kind=STAT, width=6, decimals=0),
    Panel("Kafka partitions offline and under-replicated", "Partitions without a leader; with fewer in-sync "
          "replicas than replicas", (query("kafka_controller_offline_partitions", "offline"),
                                     query("kafka_server_under_replicated_partitions", "under-replicated")),
          kind=STAT, width=6, decimals=0),
    Panel("Kafka bytes in and out", "Written by producers, read by consumers (broker-wide)",
          (query("rate(kafka_server_bytes_in_total[5m])", "in"), query("rate(kafka_server_bytes_out_total[5m])",
                                                                        "out")), unit="Bps"),
    Panel("Consumer restarts, last hour", "Back to the last commit after a failure that was not a record's fault",
          (query("service:frontdoor_consumer_restarts:increase1h", "{{service}}"),), decimals=0),
))

DASHBOARDS = (FRONT_DOOR, EARLY_HELP, SCHOOLS, OUTCOMES, PLATFORM)
