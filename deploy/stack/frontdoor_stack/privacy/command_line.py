"""`frontdoor-stack privacy ...` on the stack tool's command line:

- `access|erase|rectify`: the person and a rectify's corrections from `--person-file PATH` or `--stdin` (a
  JSON document: person_input.py; the way for a real person, since options show in `ps` and the shell's
  history) or from the options (`--nhs-number ...`, `--set-family-name ...`: synthetic test data), checked
  before anything is sent (`options.py`), then the request (`command.py`);
- `purge-exports [--older-than DAYS]`: the exports under `.run/privacy/` older than DAYS deleted
  (`purge.py`).

Parsers here never quote what was typed in an error (`QuietParser`): it may be a name or an identifier."""

from __future__ import annotations

import argparse
import asyncio
import math
import sys
from pathlib import Path
from typing import Any, NoReturn

from ..foreground import tool_security
from ..services import SERVICES
from ..stack import key_with_role, read_credentials
from .command import ask, say
from .export import KEEP_DAYS
from .options import CORRECTABLE, PERSON_FIELDS, Naming, OptionError, PrivacyOrder, option_name, order_of, redacted
from .person_input import given_on_the_command_line, read_person_file, read_stdin, values_of
from .purge import purge_exports

PRIVACY_ROLE = "privacy"
KINDS = {"access": "a subject access request: what every service holds about the person, and who read it",
         "erase": "an erasure request: the person's data erased where the retention schedule allows",
         "rectify": "a rectification request: the person's details corrected"}


class QuietParser(argparse.ArgumentParser):
    """An argument parser whose errors never quote what was typed (it may be a name or an identifier)."""

    def error(self, message: str) -> NoReturn:
        super().error(redacted(message))


def _values(args: argparse.Namespace) -> tuple[dict[str, str | None], dict[str, str | None], Naming]:
    """The person's and the corrections' values, from the document given (`--person-file`, `--stdin`) or else
    from the options; a document given with person or correction options is refused (one source only)."""
    person = {name: getattr(args, name) for name in PERSON_FIELDS}
    corrections = {name: getattr(args, f"set_{name}") for name in CORRECTABLE}
    if args.person_file is None and not args.stdin:
        return person, corrections, Naming()
    option = "--person-file" if args.person_file is not None else "--stdin"
    if args.person_file is not None and args.stdin:
        raise OptionError(option, "must not be given with --stdin (the person comes from one place)")
    typed = given_on_the_command_line(person, corrections)
    if typed:
        raise OptionError(option, f"must not be given with {', '.join(typed)} (the person comes from one place)")
    raw = read_person_file(args.person_file) if args.person_file is not None else read_stdin(_stdin())
    person, corrections = values_of(raw, option)
    return person, corrections, Naming(option)


def _stdin() -> Any:
    return getattr(sys.stdin, "buffer", sys.stdin)


def order_from(args: argparse.Namespace) -> PrivacyOrder:
    person, corrections, naming = _values(args)
    return order_of(args.kind, person, corrections, args.timeout, args.out, naming)


def cmd_privacy(args: argparse.Namespace) -> int:
    try:
        order = order_from(args)
    except OptionError as error:
        say(f"frontdoor-stack privacy: {error}")
        return 2
    key = args.contacts_key or key_with_role(read_credentials(args.run_dir), "contacts", PRIVACY_ROLE)
    if key is None:
        say(f"frontdoor-stack privacy: no contacts key with the privacy role in {args.run_dir / 'credentials'} "
            "(give --contacts-key, or start the stack with `frontdoor-stack up`)")
        return 2
    try:
        return asyncio.run(ask(order, args.contacts_url, key, args.bootstrap, tool_security(args.run_dir),
                               args.run_dir))
    except KeyboardInterrupt:
        return 130


def cmd_purge_exports(args: argparse.Namespace) -> int:
    if not math.isfinite(args.older_than) or args.older_than < 0:
        say("frontdoor-stack privacy purge-exports: --older-than: must be a number of days, 0 or more")
        return 2
    folder = args.run_dir / "privacy"
    purged = purge_exports(folder, args.older_than)
    print(f"privacy exports in {folder}: {len(purged.deleted)} deleted (over {args.older_than:g} days old), "
          f"{purged.kept} kept")
    for request_id in purged.deleted:
        print(f"  deleted {request_id}")
    if purged.left:
        say(f"  {purged.left} entries there are not exports the command wrote: left as they are")
    return 0


def _request_parser(kinds: argparse._SubParsersAction[Any], kind: str, bootstrap: str) -> None:
    contacts = next(spec for spec in SERVICES if spec.name == "contacts")
    parser = kinds.add_parser(kind, help=KINDS[kind])
    given = parser.add_argument_group("the person, for a real person (not on the command line: it shows in `ps` "
                                      "and the shell's history)")
    given.add_argument("--person-file", type=Path, default=None, metavar="PATH",
                       help='a JSON file only you can read (chmod 600): {"nhs_number": "..."}, {"upn": "..."} or '
                       '{"given_name", "family_name", "date_of_birth", "postcode"}, and for rectify "corrections": '
                       "{field: value}")
    given.add_argument("--stdin", action="store_true", help="the same JSON document on standard input")
    person = parser.add_argument_group("the person as options (synthetic test data only; one way: an NHS number, "
                                       "a UPN, or name + date of birth + postcode)")
    for name in PERSON_FIELDS:
        person.add_argument(option_name(name), dest=name, default=None, metavar="VALUE")
    fixes = parser.add_argument_group("rectify's corrections as options (test data only)")
    for name in CORRECTABLE:
        fixes.add_argument(option_name(name, "set-"), dest=f"set_{name}", default=None, metavar="VALUE")
    parser.add_argument("--timeout", type=float, default=120.0,
                        help="seconds to wait for every service's answer (default %(default)s)")
    parser.add_argument("--out", type=Path, default=None,
                        help="a new directory for the export (default .run/privacy/<request id>/, 0700)")
    parser.add_argument("--bootstrap", default=bootstrap)
    parser.add_argument("--contacts-url", default=f"http://127.0.0.1:{contacts.port}",
                        help="the contacts service (default %(default)s)")
    parser.add_argument("--contacts-key", default=None,
                        help="a key with the privacy role for it (default: the stack's, from .run/credentials)")
    parser.set_defaults(func=cmd_privacy)


def add_privacy_parser(sub: argparse._SubParsersAction[Any], bootstrap: str) -> None:
    """`privacy` on the stack tool's command line."""
    parser = sub.add_parser("privacy", help="a subject access, erasure or rectification request across the four "
                            "services, answered into one private export; purge-exports deletes old exports")
    kinds = parser.add_subparsers(dest="kind", required=True, metavar="{access,erase,rectify,purge-exports}")
    for kind in KINDS:
        _request_parser(kinds, kind, bootstrap)
    purge = kinds.add_parser("purge-exports", help="delete the exports under .run/privacy/ older than DAYS")
    purge.add_argument("--older-than", type=float, default=float(KEEP_DAYS), metavar="DAYS",
                       help="days since an export was written (default %(default)g; 0: every one)")
    purge.set_defaults(func=cmd_purge_exports)
