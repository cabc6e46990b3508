"""Command line: `frontdoor-allocation serve | migrate | create-client |
list-clients | revoke-client | accounts add` (a staff account for the board's
pages: `accounts add --staff-id X --role coordinator|agency|read [--scope
AGENCY]`, printing a one-time set-password link)."""

from __future__ import annotations

import sys
from typing import Any

from frontdoor_platform.cli import service_main
from frontdoor_platform.staff.cli import accounts_command

from .access import keyring
from .migrations import SCHEMA
from .page import PAGES
from .settings import Settings


def _app(settings: Settings) -> Any:
    from .app import create_app

    return create_app(settings)


def main(argv: list[str] | None = None) -> int:
    return service_main(argv, prog="frontdoor-allocation", module="allocation.main",
                        description=__doc__, keyring=keyring(),
                        serve_help="run the API, the trigger consumer, the outbox relay and the SLA timer",
                        default_roles="coordinator,read", settings=Settings, app=_app,
                        database_url=lambda s: s.database_url, schema=SCHEMA,
                        scope_help="for an agency key: the agency it acts for (its lead_agency_id)",
                        extra={"accounts": accounts_command(PAGES, SCHEMA)})


if __name__ == "__main__":
    sys.exit(main())
