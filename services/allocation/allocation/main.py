"""Command line: `frontdoor-allocation serve | create-client`."""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime

from sqlmodel import Session

from .auth import create_client, parse_roles
from .database import build_engine, create_schema
from .settings import Settings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="frontdoor-allocation", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("serve", help="run the API, the trigger consumer, the outbox relay and the SLA timer")
    client = commands.add_parser("create-client", help="create an API client and print its key once")
    client.add_argument("--name", required=True, help="a staff or system identifier, never a person's name")
    client.add_argument("--roles", default="coordinator,read", help="comma-separated: coordinator, agency, read")
    args = parser.parse_args(argv)
    settings = Settings()
    if args.command == "serve":
        import uvicorn

        from .app import create_app

        uvicorn.run(create_app(settings), host=settings.host, port=settings.port, log_config=None, access_log=False)
        return 0
    engine = build_engine(settings.database_url)
    create_schema(engine)
    try:
        roles = parse_roles(args.roles)
        with Session(engine) as session:
            print(create_client(session, args.name, roles, datetime.now(UTC)))
    except ValueError as error:
        parser.error(str(error))
    return 0


if __name__ == "__main__":
    sys.exit(main())
