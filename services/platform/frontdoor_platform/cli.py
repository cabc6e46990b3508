"""The command line every service shares: `serve`, `migrate`, and the API
client commands (`create-client`, `list-clients`, `revoke-client`)."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session

from . import workers
from .apikeys import KeyRing
from .clock import utc_now
from .database import build_engine, for_writing
from .settings import ServiceSettings


def add_client_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser], keyring: KeyRing,
                        default_roles: str, scope_help: str | None = None) -> None:
    create = commands.add_parser("create-client", help="create an API client and print its key once")
    create.add_argument("--name", required=True, help="a staff or system identifier, never a person's name")
    roles = ", ".join(r.value for r in keyring.roles)
    create.add_argument("--roles", default=default_roles, help=f"comma-separated: {roles}")
    create.add_argument("--expires-in-days", type=float, default=None, help="the key stops working after this")
    if scope_help:
        create.add_argument("--scope", default=None, help=scope_help)
    commands.add_parser("list-clients", help="list API clients (names, roles, status; never keys)")
    revoke = commands.add_parser("revoke-client", help="revoke a client's key at once")
    revoke.add_argument("--name", required=True)


def run_client_command(args: argparse.Namespace, parser: argparse.ArgumentParser, engine: Engine,
                       keyring: KeyRing) -> int:
    now = utc_now()
    with Session(for_writing(engine)) as session:
        if args.command == "create-client":
            try:
                roles = keyring.parse_roles(args.roles)
                expires = now + timedelta(days=args.expires_in_days) if args.expires_in_days else None
                print(keyring.create(session, args.name, roles, now, expires, getattr(args, "scope", None)))
            except ValueError as error:
                parser.error(str(error))
            return 0
        if args.command == "list-clients":
            for client in keyring.list(session):
                expiry = client.expires_at.isoformat() if client.expires_at else "-"
                print(f"{client.name}\t{client.roles}\t{client.scope or '-'}\t{client.status(now)}\texpires {expiry}")
            return 0
        if args.command == "revoke-client":
            if not keyring.revoke(session, args.name, now):
                parser.error("no active client with this name")
            print(f"revoked {args.name}")
            return 0
    parser.error(f"unknown command {args.command}")
    return 2


@dataclass(frozen=True)
class ExtraCommand:
    """A service's own command: its help, its arguments, and what it runs (returns the exit status)."""

    help: str
    configure: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace, Any], int]


def is_client_command(command: str) -> bool:
    return command in ("create-client", "list-clients", "revoke-client")


def service_main(argv: list[str] | None, *, prog: str, module: str, description: str | None, serve_help: str,
                 keyring: KeyRing,
                 default_roles: str, settings: Callable[[], ServiceSettings], app: Callable[[Any], Any],
                 database_url: Callable[[Any], str], migrate: Callable[[Engine], None],
                 scope_help: str | None = None, extra: Mapping[str, ExtraCommand] | None = None) -> int:
    """`serve | migrate | create-client | list-clients | revoke-client` for a
    service, and any `extra` commands of its own (outcomes: `rebuild`)."""
    parser = argparse.ArgumentParser(prog=prog, description=description)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("serve", help=serve_help)
    commands.add_parser("consume", help="the worker `serve` starts: consumer, outbox relay and timers, no HTTP")
    commands.add_parser("migrate", help="bring the database schema up to date")
    add_client_commands(commands, keyring, default_roles, scope_help)
    for name, command in (extra or {}).items():
        command.configure(commands.add_parser(name, help=command.help))
    args = parser.parse_args(argv)
    config = settings()
    if extra and args.command in extra:
        return extra[args.command].run(args, config)
    if args.command == "serve":
        import uvicorn

        def serve(settings: ServiceSettings) -> None:
            uvicorn.run(app(settings), host=settings.host, port=settings.port, log_config=None, access_log=False)

        if config.consumer_process and config.role == "all":
            workers.serve_with_worker(module, lambda: serve(config.model_copy(update={"role": "api"})))
        else:
            serve(config)
        return 0
    if args.command == "consume":
        workers.run_worker(app(config.model_copy(update={"role": "worker"})))
        return 0
    engine = build_engine(database_url(config))
    migrate(engine)
    if args.command == "migrate":
        return 0
    return run_client_command(args, parser, engine, keyring)
