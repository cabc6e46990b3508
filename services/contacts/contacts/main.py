"""Command line: `frontdoor-contacts serve | migrate | create-client |
list-clients | revoke-client`."""

from __future__ import annotations

import sys
from typing import Any

from frontdoor_platform.cli import service_main

from .access import keyring
from .migrations import SCHEMA
from .settings import Settings


def _app(settings: Settings) -> Any:
    from .app import create_app

    return create_app(settings)


def main(argv: list[str] | None = None) -> int:
    return service_main(argv, prog="frontdoor-contacts", module="contacts.main",
                        description=__doc__, keyring=keyring(),
                        serve_help="run the API, the consumer and the outbox relay",
                        default_roles="intake,decide,read", settings=Settings, app=_app,
                        database_url=lambda s: s.database_url, schema=SCHEMA)


if __name__ == "__main__":
    sys.exit(main())
