"""`frontdoor-stack`: run the Front Door platform locally.

    frontdoor-stack run      broker + topics + services (+ Prometheus and Alertmanager when installed) on a
                             simulated clock, playing the seeds' year at a business day every few seconds (so the
                             board, dashboards and alerts move visibly), foreground (Ctrl-C stops all); --demo: the
                             demo stream in real time instead
    frontdoor-stack up       the same stack in the background (no demo); `down` stops it; --brokers 3: a replicated
                             cluster of three KRaft brokers (every topic on each, min.insync.replicas=2)
    frontdoor-stack down     stop what `up` (or an interrupted `run`) started; idempotent
    frontdoor-stack fetch    download the pinned Kafka broker jars once (cached in .cache/kafka)
    frontdoor-stack broker   just the Kafka broker, foreground
    frontdoor-stack topics   create the declared topics on a bootstrap (idempotent)
    frontdoor-stack demo     feed the demo stream (and its case worker) to a running stack
    frontdoor-stack seeds    the seeds' closure figures as history on a running stack, beside its KPI report
    frontdoor-stack year     the seeds' year (and its 12 months of follow-up) played on a fresh stack on a simulated
                             clock, then its live KPI report beside the seeds' figures
    frontdoor-stack privacy  access|erase|rectify one person across the four services (the person as JSON on
                             --stdin or in a --person-file only you can read), answered into one private export
                             under .run/privacy/ for the DPO to review; purge-exports deletes old exports
    frontdoor-stack bench    throughput of the project beside its anchors (deploy/bench/results.md)

FRONTDOOR_KAFKA_SECURITY=sasl_ssl makes `run`, `up` and `broker` start the broker secured (SASL SCRAM-SHA-512
over TLS, the declarations' ACLs); `demo` and `seeds` then connect as the principals of the topics they write.
`topics --bootstrap` on another secured broker connects as FRONTDOOR_KAFKA_USERNAME / _PASSWORD, trusting
FRONTDOOR_KAFKA_CA_FILE.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path

import httpx
from aiokafka.errors import KafkaError

from . import kafka_access
from .case_worker import CaseWorkerSettings
from .demo_feed import publish_with_progress
from .foreground import interrupt_on_sigterm, secured_from_env, tool_security, wait_forever
from .kafka_access import KafkaAccessError
from .kafka_broker import KafkaBroker, KafkaBrokerError
from .paths import run_dir
from .privacy.command_line import QuietParser, add_privacy_parser
from .services import SERVICES, ServiceError
from .stack import (
    KAFKA_CONTROLLER_PORT,
    KAFKA_PORT,
    LocalStack,
    StackError,
    coordinator_key,
    key_with_role,
    read_credentials,
    stop_recorded,
)
from .topics import ensure_topics
from .year.command_line import add_year_parser, run_year_visibly

DEFAULT_BOOTSTRAP = f"127.0.0.1:{KAFKA_PORT}"


def cmd_run(args: argparse.Namespace) -> int:
    if not args.demo:
        if args.brokers != 1:
            raise StackError("--brokers goes with --demo (the seeds' year runs on the single broker)")
        return run_year_visibly(args)
    interrupt_on_sigterm()
    stack = LocalStack(root=args.run_dir, monitoring=True, secured=secured_from_env(), brokers=args.brokers)
    try:
        stack.start()
        print(stack.summary(), flush=True)
        worker = None if args.no_case_worker else stack.case_worker()
        print(f"feeding the demo stream ({args.count or 'endless'} contacts at {args.rate}/s, with partner data"
              f"{', and a case worker working the cases' if worker else ''}); Ctrl-C stops everything\n", flush=True)
        asyncio.run(publish_with_progress(stack.bootstrap, args.count, args.rate, args.seed, worker, stack.access))
        print("\nthe stack keeps running; Ctrl-C stops everything", flush=True)
        wait_forever()
    except KeyboardInterrupt:
        print("\nstopping...", flush=True)
    finally:
        stack.stop()
        print("stopped.", flush=True)
    return 0


def cmd_up(args: argparse.Namespace) -> int:
    stack = LocalStack(root=args.run_dir, monitoring=True, secured=secured_from_env(), brokers=args.brokers)
    stack.start()
    stack.detach()
    print(stack.summary())
    print("`frontdoor-stack demo` feeds it a demo stream; `frontdoor-stack down` stops it.")
    return 0


def cmd_down(args: argparse.Namespace) -> int:
    stopped = stop_recorded(args.run_dir)
    print(f"stopped: {', '.join(stopped)}" if stopped else "nothing was running")
    return 0


def cmd_fetch(args: argparse.Namespace) -> int:
    broker = KafkaBroker(args.run_dir / "kafka")
    started = time.monotonic()
    if broker.fetch():
        print(f"fetched the Kafka broker jars into {broker.libs_dir} and the JMX exporter agent into "
              f"{broker.agent_dir} in {time.monotonic() - started:.1f}s")
    else:
        print(f"the Kafka broker jars are already in {broker.libs_dir} (the JMX exporter agent in {broker.agent_dir})")
    return 0


def cmd_broker(args: argparse.Namespace) -> int:
    interrupt_on_sigterm()
    broker = KafkaBroker(args.run_dir / "kafka", port=args.port, controller_port=args.controller_port,
                         secured=secured_from_env())
    try:
        with broker:
            asyncio.run(ensure_topics(broker.bootstrap, security=broker.security))
            print(f"Kafka is up on {broker.bootstrap} with the declared topics (log: {broker.log_file}); "
                  "Ctrl-C stops it", flush=True)
            wait_forever()
    except KeyboardInterrupt:
        print("\nstopped.")
    return 0


def cmd_topics(args: argparse.Namespace) -> int:
    deadline = time.monotonic() + args.wait
    while True:
        try:
            result = asyncio.run(ensure_topics(args.bootstrap, replication_factor=args.replication_factor,
                                               security=tool_security(args.run_dir)))
            break
        except Exception as exc:
            if time.monotonic() >= deadline:
                raise StackError(f"could not create topics on {args.bootstrap}: {exc!r}") from exc
            time.sleep(1.0)
    for name in result.created:
        print(f"created  {name}")
    for name in result.existing:
        print(f"exists   {name}")
    for name in result.configs_set:
        print(f"set      {name} (its configs differed from the declaration)")
    for name in result.mismatched:
        print(f"WARNING  {name} exists with a different partition count than declared")
    return 0


def _case_worker(args: argparse.Namespace) -> CaseWorkerSettings | None:
    if args.no_case_worker:
        return None
    key = args.allocation_key or coordinator_key(read_credentials(args.run_dir))
    if key is None:
        print(f"no case worker: no allocation coordinator key in {args.run_dir / 'credentials'} (give "
              "--allocation-key, or start the stack with `frontdoor-stack up`)", file=sys.stderr)
        return None
    return CaseWorkerSettings(allocation_url=args.allocation_url, api_key=key)


def cmd_demo(args: argparse.Namespace) -> int:
    worker = _case_worker(args)
    try:
        result = asyncio.run(publish_with_progress(args.bootstrap, args.count, args.rate, args.seed, worker,
                                                   kafka_access.load(args.run_dir / "kafka")))
    except KeyboardInterrupt:
        return 130
    print(f"published {result.line()}")
    return 0


def cmd_seeds(args: argparse.Namespace) -> int:
    from .seeds_scenario import ReportClient
    from .seeds_scenario import run as run_seeds

    credentials = read_credentials(args.run_dir)
    key = (args.outcomes_key or key_with_role(credentials, "outcomes", "manager")
           or key_with_role(credentials, "outcomes", "analyst"))
    if key is None:
        print(f"no outcomes key with the manager or analyst role in {args.run_dir / 'credentials'} (give "
              "--outcomes-key, or start the stack with `frontdoor-stack up`)", file=sys.stderr)
        return 2
    try:
        matched = run_seeds(args.bootstrap, ReportClient(args.outcomes_url, key),
                            access=kafka_access.load(args.run_dir / "kafka"))
    except KeyboardInterrupt:
        return 130
    except httpx.HTTPStatusError as refused:
        print(f"the outcomes service at {args.outcomes_url} answered {refused.response.status_code} (a key with the "
              "manager or analyst role is needed)", file=sys.stderr)
        return 2
    except (httpx.HTTPError, KafkaError, OSError) as unreachable:
        print(f"the broker at {args.bootstrap} or the outcomes service at {args.outcomes_url} did not answer "
              f"({type(unreachable).__name__}): is the stack up (`frontdoor-stack up`)?", file=sys.stderr)
        return 2
    print("every figure is the seeds'" if matched else "the report differs from the seeds (see NO above)")
    return 0 if matched else 1


def cmd_bench(args: argparse.Namespace) -> int:
    from .bench.context import Sizes
    from .bench.runner import run as run_bench

    sizes = Sizes(contacts=args.contacts, decisions=args.decisions, duration=args.duration, time_cap=args.time_cap,
                  rate=args.rate, da_rate=args.da_rate, da_duration=args.da_duration, da_probe_rate=args.da_probes,
                  rebuild_events=args.rebuild_events)
    only = frozenset(part for parts in args.only for part in parts.split(",") if part) if args.only else None
    return run_bench(args.run_dir, sizes, seed=args.seed, results_path=args.results, only=only)


def _demo_options(parser: argparse.ArgumentParser, count: int) -> None:
    parser.add_argument("--count", type=int, default=count, help=f"contacts to publish, 0 = endless (default {count})")
    parser.add_argument("--rate", type=float, default=1.0, help="contacts per second (default 1.0; 0 = flat out)")
    parser.add_argument("--seed", type=int, default=None, help="random seed for a repeatable stream")
    parser.add_argument("--no-case-worker", action="store_true",
                        help="do not allocate, offer and close the Early Help cases through the allocation API")


def _stack_options(parser: argparse.ArgumentParser, service: str, url_help: str, key_help: str) -> None:
    """--bootstrap, and --<service>-url and --<service>-key of the running stack's `service`."""
    spec = next(spec for spec in SERVICES if spec.name == service)
    parser.add_argument("--bootstrap", default=DEFAULT_BOOTSTRAP)
    parser.add_argument(f"--{service}-url", default=f"http://127.0.0.1:{spec.port}",
                        help=f"{url_help} (default %(default)s)")
    parser.add_argument(f"--{service}-key", default=None,
                        help=f"{key_help} for it (default: the stack's, from .run/credentials)")


def _brokers(text: str) -> int:
    brokers = int(text)
    if brokers not in (1, 3):
        raise argparse.ArgumentTypeError("1 (the embedded broker) or 3 (a replicated cluster)")
    return brokers


def _brokers_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--brokers", type=_brokers, default=1, choices=(1, 3),
                        help="1: the single embedded broker (default); 3: a replicated KRaft cluster on this machine "
                             "(clients on 9092, 9094, 9096; every topic replicated 3 times, min.insync.replicas=2)")


def build_parser() -> argparse.ArgumentParser:
    parser = QuietParser(prog="frontdoor-stack", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run-dir", type=Path, default=None, help="where state, logs and pids go (default .run/)")
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="the whole stack in the foreground, playing the seeds' year at a visible pace")
    run.add_argument("--day-seconds", type=float, default=4.0,
                     help="wall seconds per business day of the year (default %(default)s)")
    run.add_argument("--demo", action="store_true",
                     help="feed the demo stream in real time instead (--count, --rate, --seed, --no-case-worker)")
    _demo_options(run, count=200)
    _brokers_option(run)
    run.set_defaults(func=cmd_run)
    up = sub.add_parser("up", help="the whole stack in the background")
    _brokers_option(up)
    up.set_defaults(func=cmd_up)
    sub.add_parser("down", help="stop what `up` started").set_defaults(func=cmd_down)

    sub.add_parser("fetch", help="download the pinned Kafka broker jars (once)").set_defaults(func=cmd_fetch)

    broker = sub.add_parser("broker", help="just the Kafka broker (with topics), foreground")
    broker.add_argument("--port", type=int, default=KAFKA_PORT)
    broker.add_argument("--controller-port", type=int, default=KAFKA_CONTROLLER_PORT)
    broker.set_defaults(func=cmd_broker)

    topics = sub.add_parser("topics", help="create the declared topics (idempotent)")
    topics.add_argument("--bootstrap", default=DEFAULT_BOOTSTRAP)
    topics.add_argument("--replication-factor", type=int, default=None)
    topics.add_argument("--wait", type=float, default=60.0, help="seconds to keep retrying an unreachable broker")
    topics.set_defaults(func=cmd_topics)

    demo = sub.add_parser("demo", help="feed the demo stream to a running stack")
    _stack_options(demo, "allocation", "the allocation service the case worker works through", "a coordinator key")
    _demo_options(demo, count=100)
    demo.set_defaults(func=cmd_demo)

    seeds = sub.add_parser("seeds", help="publish the seeds' closure figures as history (2014-2017) to a running "
                           "stack and set its KPI report beside them")
    _stack_options(seeds, "outcomes", "the outcomes service whose report is read", "an analyst or manager key")
    seeds.set_defaults(func=cmd_seeds)

    add_year_parser(sub)
    add_privacy_parser(sub, DEFAULT_BOOTSTRAP)

    bench = sub.add_parser("bench", help="throughput of the project beside its anchors, one run (make bench)")
    bench.add_argument("--contacts", type=int, default=20_000, help="contacts on the Kafka paths (default 20000)")
    bench.add_argument("--decisions", type=int, default=10_000, help="decisions for allocation (default 10000)")
    bench.add_argument("--duration", type=float, default=10.0, help="seconds of each HTTP load (default 10)")
    bench.add_argument("--time-cap", type=float, default=90.0,
                       help="longest wait for a project step's output, seconds (default 90)")
    bench.add_argument("--rate", type=float, default=500.0, help="fixed rate for the p99, requests/s (default 500)")
    bench.add_argument("--da-rate", type=float, default=200.0,
                       help="background non-DA contacts/s while DA contacts go to school webhooks (default 200)")
    bench.add_argument("--da-duration", type=float, default=30.0, help="seconds of that load (default 30)")
    bench.add_argument("--da-probes", type=float, default=5.0, help="DA contacts/s measured beside it (default 5)")
    bench.add_argument("--rebuild-events", type=int, default=100_000,
                       help="synthetic events on the outcomes topics for `frontdoor-outcomes rebuild` (default "
                            "100000)")
    bench.add_argument("--only", action="append", default=None, metavar="PART[,PART]",
                       help="run only these parts: anchors, contacts, allocation, two-workers-postgresql, "
                            "da-webhook, da-webhook-3-brokers, da-sign-in-hammer, outcomes-rebuild "
                            "(then the results go to .run/bench/results.md unless --results says otherwise)")
    bench.add_argument("--seed", type=int, default=2024, help="seed of the synthetic contacts")
    bench.add_argument("--results", type=Path, default=None,
                       help="default deploy/bench/results.md (the whole bench) or .run/bench/results.md (--only)")
    bench.set_defaults(func=cmd_bench)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    args.run_dir = (args.run_dir or run_dir()).resolve()
    try:
        return int(args.func(args))
    except (KafkaBrokerError, KafkaAccessError, ServiceError, StackError) as exc:
        print(f"frontdoor-stack: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
