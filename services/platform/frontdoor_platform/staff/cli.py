"""`<service> accounts add --staff-id X --role R [--scope S]`: a staff
account, and a one-time set-password link printed for its owner (the
administrator never knows the password). `--password` is for development
only (`make run`'s demo accounts): refused when FRONTDOOR_ENV=production.
Each service's CLI adds it with `accounts_command(pages, schema)` among its
`extra` commands. The account is audited with the operator as `cli:<user>`
(never a password or a code)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from sqlmodel import Session

from .. import audit
from ..cli import ExtraCommand
from ..clock import utc_now
from ..database import Schema, build_engine, for_writing
from . import accounts, links
from .config import StaffConfig

if TYPE_CHECKING:
    from .pages import StaffPages

PASSWORD_REFUSED = "--password is for development only: refused when FRONTDOOR_ENV=production (use the link)"


def _base_url(settings: Any) -> str:
    host = getattr(settings, "host", "127.0.0.1")
    return f"http://{'127.0.0.1' if host in ('0.0.0.0', '::') else host}:{getattr(settings, 'port', 8000)}"


def accounts_command(pages: StaffPages, schema: Schema,
                     base_url: Callable[[Any], str] = _base_url) -> ExtraCommand:
    """The `accounts` command for a service's `service_main(extra=...)`."""

    def configure(parser: argparse.ArgumentParser) -> None:
        actions = parser.add_subparsers(dest="accounts_command", required=True)
        add = actions.add_parser("add", help="add a staff account (or issue a new set-password link for one) and "
                                 "print its one-time set-password link")
        add.add_argument("--staff-id", required=True, help="a staff identifier, never a person's name")
        roles = ", ".join(str(role.value) for role in pages.roles) if pages.roles else "the service's roles"
        add.add_argument("--role", action="append", required=True, help=f"one of: {roles} (repeat for more)")
        add.add_argument("--scope", default=None, help="what the account is bound to (an agency, a school URN)")
        add.add_argument("--password", default=None, help="DEVELOPMENT ONLY: set this password instead of printing "
                         "a link (refused when FRONTDOOR_ENV=production)")

    def run(args: argparse.Namespace, settings: Any) -> int:
        config = StaffConfig.of(settings)
        try:
            return add(pages, schema, settings, config, args, base_url(settings))
        except ValueError as refused:
            print(str(refused), file=sys.stderr)
            return 2

    return ExtraCommand("staff accounts of the service's pages: `add`", configure, run)


def _roles(pages: StaffPages, given: list[str]) -> frozenset[str]:
    known = {str(role.value) for role in pages.roles} if pages.roles else None
    roles = frozenset(role.strip() for role in given if role.strip())
    unknown = sorted(roles - known) if known is not None else []
    if unknown or not roles:
        raise ValueError(f"--role must be one of: {', '.join(sorted(known or ()))}")
    return roles


def add(pages: StaffPages, schema: Schema, settings: Any, config: StaffConfig, args: argparse.Namespace,
        base_url: str) -> int:
    if args.password is not None and config.environment == "production":
        raise ValueError(PASSWORD_REFUSED)
    if args.password is not None:
        accounts.check_password_policy(args.password)
    roles, now, tables = _roles(pages, args.role), utc_now(), pages.tables
    engine = build_engine(settings.database_url)
    try:
        schema.migrate(engine)
        with Session(for_writing(engine)) as db:
            existing = db.get(tables.accounts, args.staff_id)
            if existing is None:
                db.add(tables.accounts.for_staff(args.staff_id, roles, args.scope, now))
                db.flush()
            elif existing.staff_roles() != roles or existing.staff_scope() != args.scope:
                raise ValueError("an account with this staff id exists with other roles or scope (nothing changed)")
            trail = audit.trail_beside(tables.accounts, config.source_uri)
            if trail is not None and existing is None:
                trail.record(db, audit.cli_actor(), f"{pages.audit_subject}.created",
                             f"{pages.audit_subject}:{args.staff_id}", None,
                             {"roles": sorted(roles), "scope": args.scope}, now)
            if args.password is not None:
                accounts.set_password(db, tables, args.staff_id, args.password, now)
                issued = None
            else:
                issued = links.issue(db, tables, args.staff_id, now, config.link_lifetime)
            db.commit()
    finally:
        engine.dispose()
    if issued is None:
        print(f"{args.staff_id}: password set (development only); sign in at {base_url}{pages.prefix}/sign-in")
        return 0
    code, expires = issued
    print(f"{args.staff_id}: set-password link (works once, until {expires.isoformat()}):")
    print(f"{base_url}{pages.prefix}/password/{code}")
    return 0
