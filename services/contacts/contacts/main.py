"""Command line: `frontdoor-contacts serve | migrate | create-client |
list-clients | revoke-client`."""

from __future__ import annotations

import argparse
import sys

from frontdoor_platform.cli import add_client_commands, run_client_command

from .access import keyring
from .database import build_engine, migrate
from .settings import Settings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="frontdoor-contacts", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("serve", help="run the API, the consumer and the outbox relay")
    commands.add_parser("migrate", help="bring the database schema up to date")
    add_client_commands(commands, keyring(), default_roles="intake,decide,read")
    args = parser.parse_args(argv)
    settings = Settings()

    if args.command == "serve":
        import uvicorn

        from .app import create_app

        uvicorn.run(create_app(settings), host=settings.host, port=settings.port, log_config=None,
                    access_log=False)
        return 0
    engine = build_engine(settings.database_url)
    migrate(engine)
    if args.command == "migrate":
        return 0
    return run_client_command(args, parser, engine, keyring())


if __name__ == "__main__":
    sys.exit(main())
