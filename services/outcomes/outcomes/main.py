"""`frontdoor-outcomes serve`: run the outcomes service."""

from __future__ import annotations

import argparse
import sys


def serve() -> None:
    import uvicorn

    from .api import create_app
    from .settings import Settings

    settings = Settings()
    uvicorn.run(create_app(settings), host=settings.host, port=settings.port, log_level=settings.log_level.lower())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="frontdoor-outcomes")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("serve", help="run the HTTP API")
    args = parser.parse_args(argv)
    if args.command == "serve":
        serve()
    return 0


if __name__ == "__main__":
    sys.exit(main())
