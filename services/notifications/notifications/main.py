"""Command line: `frontdoor-notifications serve | migrate | create-client |
list-clients | revoke-client | secrets rekey | accounts add` (a key adult's
page account and its one-time set-password link: the kit's)."""

from __future__ import annotations

import argparse
import logging
import sys
from typing import Any

from frontdoor_platform import logs
from frontdoor_platform.cli import ExtraCommand, service_main
from frontdoor_platform.staff.cli import accounts_command

from .access import keyring
from .migrations import SCHEMA
from .page.pages import PAGES, PREFIX
from .settings import Settings

DEVELOPMENT_KEY_WARNING = ("secrets_keys holds the development key (published in the source): the signing and TOTP "
                           "secrets at rest are as good as plain text; set NOTIFICATIONS_SECRETS_KEYS and "
                           "NOTIFICATIONS_SECRETS_KEY_ID outside development (production refuses it)")


def _app(settings: Settings) -> Any:
    from .app import create_app

    if settings.sealing_keys.development:  # production has refused it already (the settings)
        logs.configure(settings.log_level)
        logging.getLogger("notifications").warning(DEVELOPMENT_KEY_WARNING)
    return create_app(settings)


def _configure_secrets(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="secrets_command", required=True)
    actions.add_parser("rekey", help="seal again under NOTIFICATIONS_SECRETS_KEY_ID every secret sealed under "
                       "another key (webhook signing secrets, key adults' TOTP secrets); then the old key can go")


def _secrets(args: argparse.Namespace, settings: Settings) -> int:
    from frontdoor_platform.database import build_engine

    from .rekey import UnknownKeys, rekey

    engine = build_engine(settings.database_url)
    try:
        SCHEMA.migrate(engine)
        done = rekey(engine, settings.sealing_keys)
    except UnknownKeys as refused:
        print(str(refused), file=sys.stderr)
        return 1
    finally:
        engine.dispose()
    print(f"sealed again under key id {settings.secrets_key_id}: {done.signing_secrets} signing secrets, "
          f"{done.second_factors} second factors, {done.enrolments} enrolments under way")
    return 0


def main(argv: list[str] | None = None) -> int:
    return service_main(argv, prog="frontdoor-notifications", module="notifications.main",
                        description=__doc__, keyring=keyring(),
                        serve_help="run the API, the consumer and the outbox relay",
                        default_roles="mash", settings=Settings, app=_app,
                        database_url=lambda s: s.database_url, schema=SCHEMA,
                        scope_help="a school key's school URN (a school sees only its own notifications)",
                        extra={"secrets": ExtraCommand("the secrets at rest: `rekey` seals again under the "
                                                       "current key", _configure_secrets, _secrets),
                               "accounts": accounts_command(PAGES, SCHEMA, base_url=_page_base)})


def _page_base(settings: Settings) -> str:
    """The page's public address without its prefix (NOTIFICATIONS_PAGE_URL ends with it)."""
    return settings.page_url.rstrip("/").removesuffix(PREFIX)


if __name__ == "__main__":
    sys.exit(main())
