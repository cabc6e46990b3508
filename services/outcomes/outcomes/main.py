"""Command line: `frontdoor-outcomes serve | consume | migrate | rebuild |
create-client | list-clients | revoke-client | accounts add` (the chronology
page's staff accounts: the kit's `accounts` command)."""

from __future__ import annotations

import argparse
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

from frontdoor_platform.cli import ExtraCommand, service_main
from frontdoor_platform.kafka_security import KafkaSecurity

from .access import keyring
from .migrations import SCHEMA
from .settings import Settings


def _app(settings: Settings) -> Any:
    from .app import create_app

    return create_app(settings)


def _configure_rebuild(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--into", required=True, help="the database URL to build into (emptied first, e.g. "
                        "sqlite:///.data/outcomes-rebuilt.db); never the live one")
    parser.add_argument("--start", type=datetime.fromisoformat, default=None,
                        help="the KPI report's period start (ISO 8601 with offset; default 12 calendar "
                        "months before --end, in England)")
    parser.add_argument("--end", type=datetime.fromisoformat, default=None, help="its end (default now)")
    parser.add_argument("--report", type=Path, default=None, help="write the KPI report (JSON) here")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.add_argument("--families-in-memory", type=_at_least_one, default=None, metavar="N",
                        help="family pictures held in memory, the least recently used others in a temporary file "
                        "(default 20,000: about 300 MB; more is faster when families are read back often)")


def _at_least_one(text: str) -> int:
    try:
        number = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError("a whole number is needed") from None
    if number < 1:
        raise argparse.ArgumentTypeError("it must be at least 1")
    return number


def _rebuild(args: argparse.Namespace, settings: Settings) -> int:
    from frontdoor_platform.clock import configured_clock
    from frontdoor_platform.database import build_engine, checkpoint

    from .readmodel.calculations import year_before
    from .stream.partitions import StalledError
    from .stream.pictures import KEEP
    from .stream.rebuild import rebuild, report_of
    from .stream.wipe import empty
    from .thresholds_loader import load_thresholds

    if same_database(args.into, settings.database_url):
        print("refusing to rebuild into the live database: give another --into", file=sys.stderr)
        return 2
    now = configured_clock()()
    end = args.end or now
    if end.tzinfo is None or (args.start is not None and args.start.tzinfo is None):
        print("--start and --end need a UTC offset", file=sys.stderr)
        return 2
    start = args.start or year_before(end)
    if start >= end:
        print("--start must be before --end", file=sys.stderr)
        return 2
    engine = build_engine(args.into, durable=False)  # emptied first: run again from the topics if stopped
    empty(engine)
    SCHEMA.migrate(engine)
    try:
        done = rebuild(settings.kafka_bootstrap, engine, load_thresholds(settings.thresholds), settings.source_uri,
                       now, show=not args.quiet, security=KafkaSecurity.of(settings),
                       keep=args.families_in_memory or KEEP)
    except StalledError as error:
        print(f"the rebuild stopped: {error}", file=sys.stderr)
        engine.dispose()
        return 1
    report = report_of(engine, start, end, now).model_dump_json(indent=2)
    checkpoint(engine)  # the log written into the file and synced (durable=False): only then is it said done
    engine.dispose()
    if args.report:
        args.report.write_text(report + "\n")
    else:
        print(report)
    print(done.summary(), file=sys.stderr)
    return 0


def same_database(one: str, other: str) -> bool:
    """The same database, however its URL is spelt: SQLite files by their resolved paths (a relative and an
    absolute path of the live file are the live file), others by their URLs without the password."""
    from sqlalchemy.engine import make_url

    first, second = make_url(one), make_url(other)
    files = [url.database for url in (first, second) if url.get_backend_name() == "sqlite"
             and url.database and url.database != ":memory:" and not url.database.startswith("file:")]
    if len(files) == 2:
        return Path(files[0]).resolve() == Path(files[1]).resolve()
    return first.render_as_string(hide_password=True) == second.render_as_string(hide_password=True)


def _accounts() -> ExtraCommand:
    from frontdoor_platform.staff.cli import accounts_command

    from .page import PAGES

    return accounts_command(PAGES, SCHEMA)


def main(argv: list[str] | None = None) -> int:
    return service_main(argv, prog="frontdoor-outcomes", module="outcomes.main",
                        description=__doc__, keyring=keyring(),
                        serve_help="run the API, the faust stream and the outbox relay",
                        default_roles="analyst", settings=Settings, app=_app,
                        scope_help="the agency an agency key acts for (its families' chronologies only)",
                        database_url=lambda s: s.database_url, schema=SCHEMA,
                        extra={"accounts": _accounts(),
                               "rebuild": ExtraCommand("rebuild every projection from the topics' first offsets "
                                                       "into another database, and print its KPI report",
                                                       _configure_rebuild, _rebuild)})


if __name__ == "__main__":
    sys.exit(main())
