"""Every alert, in the groups Prometheus evaluates them in. Each has a
severity (`page`: a child may not be protected in time, someone acts now;
`ticket`: someone acts in working hours), a summary, a description and a
runbook (docs/runbooks/<name>.md); each is tested with `promtool test rules`
(deploy/monitoring/prometheus/tests/).

The kit's alerts are one rule per service, since each service's metrics
carry its name (`frontdoor_<service>_...`), labelled with the service; on
the DA path (contacts and notifications: a police contact becomes a
school's alert) they page, on the others they make a ticket."""

from __future__ import annotations

from ..services import SERVICES
from .rules import PAGE, TICKET, Alert, Group, went_up

SERVICE_NAMES = tuple(spec.name for spec in SERVICES)
DA_PATH = ("contacts", "notifications")
LAG_FLOOR = 50  # records behind before a growing lag is worth a ticket
ERROR_RATIO = 0.05  # of an API's requests answered 5xx
LATENCY_P99_SECONDS = 1.0
FAILING_ATTEMPTS_RATIO = 0.25  # of delivery attempts failing, over 15 minutes
TERM_DATES_TICKET_DAYS = 60
TERM_DATES_PAGE_DAYS = 7
DUE_SOON_CASES = 10  # cases 6 to 10 days into the 10-day target at once
ERASURE_OVERDUE_SECONDS = 86_400
PURGE_OVERDUE_SECONDS = 86_400  # rows kept a day past their retention period
PURGE_SILENT_SECONDS = 3 * 3_600  # no successful purge for three hours (a pass runs every 15 minutes)


def severity(service: str) -> str:
    return PAGE if service in DA_PATH else TICKET


def per_service(name: str, expr: str, summary: str, description: str, for_: str = "0m",
                severities: str = "da_path") -> tuple[Alert, ...]:
    """One rule per service; `expr` names the service's metrics as `{m}` (`frontdoor_<service>_`)."""
    return tuple(Alert(name, expr.format(m=f"frontdoor_{service}_"),
                       severity(service) if severities == "da_path" else severities, summary, description, for_,
                       service) for service in SERVICE_NAMES)


PLATFORM = Group("frontdoor-platform.alerts", (
    Alert("FrontDoorServiceDown", 'up{job="frontdoor"} == 0', PAGE,
          "{{ $labels.service }} does not answer on {{ $labels.instance }}",
          "A service's API is down: contacts, school alerts, cases or figures stop where it stands.", "1m"),
    *per_service("FrontDoorWorkerDown", "{m}worker_up == 0",
                 "the {{ $labels.service }} worker is down (its API answers)",
                 "Nothing is consumed, published or delivered by this service, though its API answers.", "1m",
                 severities=PAGE),
    *per_service("FrontDoorConsumerLagGrowing",
                 f"{{m}}group_lag_records > {LAG_FLOOR}\nand\nderiv({{m}}group_lag_records[15m]) > 0",
                 "{{ $labels.service }} falls behind on {{ $labels.topic }}: {{ $value }} records and growing",
                 "The service consumes more slowly than records arrive: what they say reaches people later and "
                 "later.", "15m", severities=TICKET),
    *per_service("FrontDoorLagWatchDown", "{m}group_watch_up == 0",
                 "{{ $labels.service }} cannot read its consumer group's lag from the broker",
                 "The lag this service reports is stale: a stalled or slow consumer may go unnoticed (or be "
                 "reported stalled when it is not).", "5m", severities=TICKET),
    *per_service("FrontDoorConsumerStalled",
                 "{m}group_lag_records > 0\nand\nchanges({m}group_committed_offset[10m]) == 0",
                 "{{ $labels.service }} has not moved on {{ $labels.topic }} for 15 minutes, {{ $value }} "
                 "records behind",
                 "The consumer is stuck: no record after the one it stops at takes effect (a DA incident, an "
                 "enrolment, a decision).", "5m"),
    *per_service("FrontDoorDeadLettered", went_up("{m}dead_lettered_total", "15m"),
                 "{{ $labels.service }} dead-lettered records from {{ $labels.topic }} ({{ $labels.reason }})",
                 "A record was set aside unapplied: whatever it said (a contact, a decision, an enrolment) has not "
                 "taken effect until someone puts it right."),
    *per_service("FrontDoorOutboxParked", "{m}outbox_parked_rows > 0",
                 "{{ $labels.service }} has {{ $value }} outbox rows parked",
                 "An event the service recorded can never be published as it is; the later events of the same "
                 "contact, case or school wait behind it."),
    *per_service("FrontDoorPurgeBehind",
                 f"{{m}}purge_overdue_seconds > {PURGE_OVERDUE_SECONDS}\nor\n"
                 f"time() - {{m}}purge_last_success_timestamp_seconds > {PURGE_SILENT_SECONDS}",
                 "the {{ $labels.service }} purge of {{ $labels.class }} is {{ $value | humanizeDuration }} behind",
                 "Data about children is kept longer than the retention schedule allows, or the purge that "
                 "removes it has stopped running.", "30m", severities=TICKET),
    *per_service("FrontDoorOutboxNotPublishing",
                 "{m}outbox_pending > 0\nand\nrate({m}outbox_published_total[5m]) == 0",
                 "{{ $labels.service }} has {{ $value }} events waiting and published none for 5 minutes",
                 "The outbox relay is not publishing: other services do not hear what this one recorded.", "5m"),
))

API = Group("frontdoor-api.alerts", (
    *per_service("FrontDoorAPIErrorRatioHigh",
                 'sum by (service, route) (rate({m}http_requests_total{{status_class="5xx"}}[5m]))\n/\n'
                 "sum by (service, route) (rate({m}http_requests_total[5m]))\n"
                 f"> {ERROR_RATIO}",
                 "{{ $labels.service }} {{ $labels.route }} answers {{ $value | humanizePercentage }} of "
                 "requests with a server error",
                 "Partners' requests fail: contacts, decisions, acknowledgements or case moves may not be "
                 "recorded until they try again.", "10m", severities=TICKET),
    *per_service("FrontDoorAPILatencyHigh",
                 "histogram_quantile(0.99, sum by (service, route, le) "
                 "(rate({m}http_request_duration_seconds_bucket[5m])))\n"
                 f"> {LATENCY_P99_SECONDS:g}",
                 "{{ $labels.service }} {{ $labels.route }} p99 is {{ $value | humanizeDuration }}",
                 "The API is slow: senders time out and retry, people wait on the page.", "10m", severities=TICKET),
))

_N = "frontdoor_notifications_"
_TERM_LEFT = f"{_N}term_dates_last_day_timestamp_seconds - time()"

NOTIFICATIONS = Group("frontdoor-notifications.alerts", (
    Alert("DANotificationNotDeliveredWithinMargin",
          went_up(f'{_N}delivery_escalations_total{{reason="deadline_near"}}', "15m"), PAGE,
          "a DA notification is still undelivered inside the margin before the school day",
          "A school may open tomorrow without knowing a pupil was at a domestic abuse incident last night; the "
          "MASH worklist has it: phone the school's key adult now."),
    Alert("DANotificationDeliveredLate", went_up(f'{_N}deliveries_total{{timing="late"}}', "15m"), PAGE,
          "a DA notification reached its school after the school day started ({{ $labels.channel }})",
          "A key adult was told after the child arrived at school: the child went unsupported that morning."),
    Alert("NotificationDeliveriesFailing",
          f'sum by (service, channel) (rate({_N}delivery_attempts_total{{outcome!="delivered"}}[15m]))\n/\n'
          f"sum by (service, channel) (rate({_N}delivery_attempts_total[15m]))\n> {FAILING_ATTEMPTS_RATIO}",
          TICKET, "{{ $value | humanizePercentage }} of {{ $labels.channel }} delivery attempts fail",
          "Schools' or agencies' receivers refuse or do not answer: notifications wait for retries and, when "
          "those run out, go to the MASH to phone.", "10m"),
    Alert("NotificationEscalated", went_up(f'{_N}delivery_escalations_total{{reason!="deadline_near"}}', "15m"),
          TICKET, "a notification could not be delivered and went to the MASH worklist ({{ $labels.reason }})",
          "Every automatic attempt failed: a person must tell the school or agency, and its address be fixed."),
    Alert("FrontDoorPersonKeyMissing", went_up(f"{_N}key_missing_total", "15m"), TICKET,
          "a DA child's data key did not reach notifications in time: the child went to the MASH worklist",
          "The child's name and police reference are sealed with a key from contacts (contacts.person-keys.v1) "
          "that has not come within NOTIFICATIONS_KEY_WAIT_MINUTES: the school cannot be told who the child is "
          "until it does. The MASH phones the school meanwhile."),
    Alert("DANotificationUnacknowledged", went_up(f"{_N}unacknowledged_total", "1h"), TICKET,
          "a DA notification was not acknowledged by the start of the school day ({{ $labels.phase }} school)",
          "The key adult has not confirmed they know: the MASH phones the school (Operation Encompass)."),
    Alert("NotificationDeliveriesPendingLong", f'sum by (service) ({_N}deliveries_pending{{age=~"lt_1d|older"}}) > 0',
          TICKET, "{{ $value }} notifications have waited over an hour to be delivered",
          "Deliveries are queued and not going out: the worker or the delivery loop is stuck.", "15m"),
    Alert("TermDatesRunningOut", f"{_TERM_LEFT} < {TERM_DATES_TICKET_DAYS} * 86400", TICKET,
          "the term dates run out in {{ $value | humanizeDuration }}",
          "After the last school day in the term dates no DA notification has a deadline: load next year's dates "
          "before then.", "1h"),
    Alert("TermDatesRunningOut", f"{_TERM_LEFT} < {TERM_DATES_PAGE_DAYS} * 86400", PAGE,
          "the term dates run out in {{ $value | humanizeDuration }}",
          "After the last school day in the term dates no DA notification has a deadline: load next year's dates "
          "now.", "1h"),
    Alert("RetentionErasureBehind", f"{_N}retention_erasure_overdue_seconds > {ERASURE_OVERDUE_SECONDS}", TICKET,
          "a notification's personal data is kept {{ $value | humanizeDuration }} past its retention",
          "Children's names and police references are kept longer than the retention schedule allows.", "1h"),
))

EARLY_HELP = Group("frontdoor-early-help.alerts", (
    Alert("EarlyHelpCaseOverdue", "frontdoor_allocation_overdue_cases > 0", TICKET,
          "{{ $value }} Early Help cases are past the 10-day target without an offer",
          "A family waits longer for help than the partnership promised.", "5m"),
    Alert("EarlyHelpDueSoonPilingUp", f'sum by (service) (frontdoor_allocation_open_cases{{days_waiting="6-10"}}) '
          f"> {DUE_SOON_CASES}", TICKET,
          "{{ $value }} Early Help cases are 6 to 10 days into the 10-day target",
          "Many families are close to the target at once: they will be overdue unless offers are made this "
          "week.", "1h"),
))

# The broker, through its JMX exporter agent (deploy/kafka/jmx-exporter.yaml): every record between the services
# passes through it, so it pages when it or its partitions are gone.
KAFKA = Group("frontdoor-kafka.alerts", (
    Alert("FrontDoorKafkaBrokerDown", 'up{job="kafka"} == 0', PAGE,
          "the Kafka broker's metrics do not answer on {{ $labels.instance }}",
          "The broker (or its metrics) is down: no contact, decision or DA alert moves between the services "
          "while it is; the APIs keep accepting into their outboxes.", "1m"),
    Alert("FrontDoorKafkaOfflinePartitions", "kafka_controller_offline_partitions > 0", PAGE,
          "{{ $value }} Kafka partitions have no leader",
          "Records on those partitions can be neither written nor read: contacts and DA alerts on them stop "
          "flowing.", "1m"),
    Alert("FrontDoorKafkaUnderReplicated", "kafka_server_under_replicated_partitions > 0", TICKET,
          "{{ $value }} Kafka partitions have fewer in-sync replicas than replicas",
          "Records still flow, but one more broker lost could lose or stop them.", "10m"),
))

GROUPS = (PLATFORM, API, NOTIFICATIONS, EARLY_HELP, KAFKA)
