"""The bench report's last section: how each figure was measured (the broker, the loads, the tools,
what is timed from where to where)."""

from __future__ import annotations

from .context import Sizes


def how_measured(s: Sizes) -> list[str]:
    return [
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
        "- Two workers on PostgreSQL (frontdoor_stack.bench.workers_postgresql): the contacts and allocation "
        "flows again, each service as `serve` (its API and its own `consume` child) plus a second `consume` in "
        "the same consumer group, on one database of a PostgreSQL server (Debian's, fsync off like the tests') "
        "started for the part, schema migrated once first; the flows' input and output topics emptied "
        "(delete-records) and the same contacts, or fresh decisions, pre-loaded again; measured as the SQLite "
        "lines (one worker: `serve`'s child alone).",
        "- DA contact → school webhook (frontdoor_stack.bench.da_webhook): fresh contacts and notifications "
        "services (own databases, consumer groups moved past the earlier phases' records), the demo school "
        "system (frontdoor_stack.school_receiver) and three schools put in the directory by webhook through the "
        "admin API. Non-DA demo contacts at a fixed rate and, beside them, police contacts with a DA incident "
        "(one child at one of the schools), each sent with acks=all from its own producer, after three "
        "warm-up DA contacts. Latency: from this client's send (wall clock) to the receiver getting a webhook "
        "it verified with the `standardwebhooks` library (same machine's clock); a webhook is tied to its "
        "contact through the school's inbox (notification id = webhook-id, police reference). Percentiles "
        "are nearest-rank.",
        "- DA contact → school webhook on 3 brokers (frontdoor_stack.bench.da_cluster): the same part, fresh "
        "services and load, on a cluster of three KRaft brokers (each broker and controller, on this machine) "
        "started for it, every topic replicated three times with min.insync.replicas=2 (an acks=all write waits "
        "for a second broker's copy); the single broker idles meanwhile. Both plaintext, like the rest of the "
        "bench.",
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
