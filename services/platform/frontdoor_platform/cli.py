"""The command line every service shares: `serve`, `migrate`, the API
client commands (`create-client`, `list-clients`, `revoke-client`; a key
made or revoked is audited with the operator as `cli:<user>`, in the same
transaction) and the outbox's parked rows (`outbox parked | resend |
discard`)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import inspect as sa_inspect
from sqlalchemy.engine import Engine
from sqlmodel import Session

from frontdoor_contracts.retention import ScheduleError

from . import audit, collector, workers
from .apikeys import ANY_SOURCE, KeyRing
from .clock import utc_now
from .database import Schema, build_engine, for_writing
from .settings import ServiceSettings

if TYPE_CHECKING:
    from .outbox import OutboxFields


def add_client_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser], keyring: KeyRing,
                        default_roles: str, scope_help: str | None = None) -> None:
    create = commands.add_parser("create-client", help="create an API client and print its key once")
    create.add_argument("--name", required=True, help="a staff or system identifier, never a person's name")
    roles = ", ".join(r.value for r in keyring.roles)
    create.add_argument("--roles", default=default_roles, help=f"comma-separated: {roles}")
    create.add_argument("--expires-in-days", type=float, default=None, help="the key stops working after this")
    if scope_help or keyring.sources is not None:
        create.add_argument("--scope", default=None, help=scope_help or "what the key is bound to, where the "
                            "service's key rules ask for it (contacts: a school key's URN)")
    if keyring.sources is not None:
        sources = ", ".join(s.value for s in keyring.sources)
        create.add_argument("--sources", default=None, help=f"what the key's holder may claim to be: all, or "
                            f"comma-separated: {sources}")
    commands.add_parser("list-clients", help="list API clients (names, roles, status; never keys)")
    revoke = commands.add_parser("revoke-client", help="revoke a client's key at once")
    revoke.add_argument("--name", required=True)


def run_client_command(args: argparse.Namespace, parser: argparse.ArgumentParser, engine: Engine,
                       keyring: KeyRing, source: str) -> int:
    now = utc_now()
    trail = audit.trail_beside(keyring.table, source)
    with Session(for_writing(engine)) as session:
        if args.command == "create-client":
            try:
                roles = keyring.parse_roles(args.roles)
                claims = keyring.parse_sources(args.sources) if getattr(args, "sources", None) else frozenset()
                expires = now + timedelta(days=args.expires_in_days) if args.expires_in_days else None
                scope = getattr(args, "scope", None)
                token = keyring.create(session, args.name, roles, now, expires, scope, claims, commit=False)
            except ValueError as error:
                parser.error(str(error))
            made = {"name": args.name, "roles": sorted(roles), "scope": scope, "expires_at": expires}
            if keyring.sources is not None:
                made["sources"] = ["all"] if ANY_SOURCE in claims else sorted(claims)
            _audited(session, trail, "api_client.created", args.name, made, now)
            print(token)
            return 0
        if args.command == "list-clients":
            for client in keyring.list(session):
                expiry = client.expires_at.isoformat() if client.expires_at else "-"
                claims_text = "" if keyring.sources is None else f"\tsources {client.sources or '-'}"
                print(f"{client.name}\t{client.roles}\t{client.scope or '-'}\t{client.status(now)}\texpires {expiry}"
                      f"{claims_text}")
            return 0
        if args.command == "revoke-client":
            if not keyring.revoke(session, args.name, now, commit=False):
                parser.error("no active client with this name")
            _audited(session, trail, "api_client.revoked", args.name, {"revoked_at": now}, now)
            print(f"revoked {args.name}")
            return 0
    parser.error(f"unknown command {args.command}")
    return 2


def _audited(session: Session, trail: audit.AuditTrail | None, action: str, name: str, after: dict[str, Any],
             now: datetime) -> None:
    """The key's change and its audit row and event, committed together (a service without an audit table:
    the change alone)."""
    if trail is not None:
        trail.record(session, audit.cli_actor(), action, f"api_client:{name}", None, after, now)
    session.commit()


def add_outbox_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    outbox = commands.add_parser("outbox", help="the outbox rows parked because they can never be published as "
                                 "they are: list, re-send or discard them")
    actions = outbox.add_subparsers(dest="outbox_command", required=True)
    actions.add_parser("parked", help="list parked rows: id, event id, topic, key, payload bytes, reason, when "
                       "parked, and how many later rows of its key wait behind it")
    for name, what in (("resend", "un-park: the relay tries them again, and the rows waiting behind them follow"),
                       ("discard", "never publish them (kept in the table, marked discarded); their keys go on")):
        action = actions.add_parser(name, help=what)
        action.add_argument("ids", nargs="*", type=int, metavar="ID", help="parked row ids (from `outbox parked`)")
        action.add_argument("--all", action="store_true", help="every parked row")


def outbox_table(keyring: KeyRing) -> type[OutboxFields] | None:
    """The service's outbox table: the one declared beside its API clients' table."""
    from .outbox import OutboxFields

    for mapper in sa_inspect(keyring.table).registry.mappers:
        if issubclass(mapper.class_, OutboxFields):
            return mapper.class_  # type: ignore[no-any-return]
    return None


def run_outbox_command(args: argparse.Namespace, parser: argparse.ArgumentParser, engine: Engine,
                       keyring: KeyRing) -> int:
    from . import outbox

    table = outbox_table(keyring)
    if table is None:
        parser.error("this service has no outbox")
    with Session(for_writing(engine)) as session:
        if args.outbox_command == "parked":
            rows = outbox.parked_rows(session, table)
            print("id\tevent_id\ttopic\tkey\tpayload_bytes\treason\tparked_at\twaiting_behind")
            for r in rows:
                print(f"{r.id}\t{r.event_id}\t{r.topic}\t{r.key}\t{r.payload_bytes}\t{r.reason}\t"
                      f"{r.parked_at.isoformat()}\t{r.waiting}")
            print(f"{len(rows)} parked", file=sys.stderr)
            return 0
        if bool(args.ids) == args.all:
            parser.error("give parked row ids or --all (not both)")
        ids = None if args.all else args.ids
        try:
            if args.outbox_command == "resend":
                done = outbox.resend(session, table, ids)
                print(f"re-sent {_listed(done)}: the relay publishes them next" if done else "no parked rows")
            else:
                done = outbox.discard(session, table, ids, utc_now())
                print(f"discarded {_listed(done)}: kept, never published" if done else "no parked rows")
        except ValueError as error:
            parser.error(f"{error} (nothing changed)")
    return 0


def _listed(ids: list[int]) -> str:
    return f"{len(ids)} parked row{'s' if len(ids) > 1 else ''} ({', '.join(map(str, ids))})"


@dataclass(frozen=True)
class ExtraCommand:
    """A service's own command: its help, its arguments, and what it runs (returns the exit status)."""

    help: str
    configure: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace, Any], int]


def service_main(argv: list[str] | None, *, prog: str, module: str, description: str | None, serve_help: str,
                 keyring: KeyRing,
                 default_roles: str, settings: Callable[[], ServiceSettings], app: Callable[[Any], Any],
                 database_url: Callable[[Any], str], schema: Schema,
                 scope_help: str | None = None, extra: Mapping[str, ExtraCommand] | None = None) -> int:
    """`serve | migrate | create-client | list-clients | revoke-client |
    outbox` for a service, and any `extra` commands of its own (outcomes:
    `rebuild`)."""
    parser = argparse.ArgumentParser(prog=prog, description=description)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("serve", help=serve_help)
    commands.add_parser("consume", help="the worker `serve` starts: consumer, outbox relay and timers, no HTTP")
    migrate = commands.add_parser("migrate", help="bring the database schema up to date")
    migrate.add_argument("--new", metavar="MESSAGE", default=None,
                         help="instead, write the next revision, empty, from the kit's template (for developers)")
    add_client_commands(commands, keyring, default_roles, scope_help)
    add_outbox_commands(commands)
    for name, command in (extra or {}).items():
        command.configure(commands.add_parser(name, help=command.help))
    args = parser.parse_args(argv)
    config = settings()
    if extra and args.command in extra:
        return extra[args.command].run(args, config)
    if args.command in ("serve", "consume"):
        try:
            return _run_service(args.command, app, module, config)
        except ScheduleError as refused:  # one line naming the field and the rule, not a traceback
            print(f"{module}: cannot start: the retention schedule is refused. ScheduleError: {refused}",
                  file=sys.stderr)
            return 2
    if args.command == "migrate" and args.new:
        print(schema.new_revision(args.new))
        return 0
    engine = build_engine(database_url(config))
    schema.migrate(engine)
    if args.command == "migrate":
        return 0
    if args.command == "outbox":
        return run_outbox_command(args, parser, engine, keyring)
    return run_client_command(args, parser, engine, keyring, config.source_uri)


def _run_service(command: str, app: Callable[[ServiceSettings], Any], module: str, config: ServiceSettings) -> int:
    collector.tune()  # the API and its worker: see collector.py
    if command == "serve":
        import uvicorn

        def serve(settings: ServiceSettings) -> None:
            uvicorn.run(app(settings), host=settings.host, port=settings.port, log_config=None, access_log=False)

        if config.consumer_process and config.role == "all":
            workers.serve_with_worker(module, lambda: serve(config.model_copy(update={"role": "api"})))
        else:
            serve(config)
        return 0
    workers.run_worker(app(config.model_copy(update={"role": "worker"})))
    return 0
