"""What every staff page shares: the headers every response carries, the
templates (the service's own first, then the kit's `staff_base.html`,
`staff_error.html` and sign-in pages), the `london` filter (times as people
in the council read them), the form's fields, the database in worker
threads, and the per-app state (`Web`: the settings, the sign-in throttle
and argon2's bound, the sealer of second factors)."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from jinja2 import BaseLoader, ChoiceLoader, Environment, FileSystemLoader, PackageLoader, StrictUndefined
from sqlalchemy.engine import Engine
from sqlmodel import Session

from ..database import for_writing
from .config import StaffConfig
from .second_factor import Sealer
from .signin import SignIns
from .throttle import Networks

T = TypeVar("T")
LONDON = ZoneInfo("Europe/London")
HEADERS: Mapping[str, str] = {
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": ("default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
                                "frame-ancestors 'none'; base-uri 'none'"),
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
}
MAX_STAFF_ID = 64
MAX_CODE = 64


def london(moment: datetime | None) -> str:
    """A time as people here read it: Europe/London, e.g. "Monday 7 December 2026, 08:45 (GMT)"."""
    if moment is None:
        return "not set"
    local = moment.astimezone(LONDON)
    return f"{local:%A} {local.day} {local:%B %Y, %H:%M} ({local.tzname()})"


def environment(package: str | None) -> Environment:
    """The templates: the service's first (`templates/` of the package named, or a directory: its pages, and
    any kit page it replaces), then the kit's. Autoescaped; an undefined name is an error, never an empty
    string."""
    loaders: list[BaseLoader] = []
    if package:
        loaders.append(FileSystemLoader(package) if os.path.isdir(package) else PackageLoader(package, "templates"))
    loaders.append(PackageLoader("frontdoor_platform.staff", "templates"))
    env = Environment(loader=ChoiceLoader(loaders), autoescape=True, undefined=StrictUndefined, trim_blocks=True,
                      lstrip_blocks=True)
    env.filters["london"] = london
    return env


def reading(engine: Engine, work: Callable[[Session], T]) -> T:
    with Session(engine) as db:
        return work(db)


def writing(engine: Engine, work: Callable[[Session], T]) -> T:
    with Session(for_writing(engine)) as db:
        result = work(db)
        db.commit()
        return result


def form_value(form: Any, name: str) -> str | None:
    value = form.get(name)
    return value if isinstance(value, str) else None


def staff_id_of(form: Any) -> str:
    return (form_value(form, "staff_id") or "").strip()[:MAX_STAFF_ID]


def code_of(form: Any) -> str:
    return (form_value(form, "code") or "")[:MAX_CODE]


@dataclass
class Web:
    """One app's staff pages at run time (on `app.state`, made by `StaffPages.install`)."""

    config: StaffConfig
    settings: Any  # the service's own settings, as given to `install`
    sign_ins: SignIns
    proxies: Networks
    sealer: Sealer | None
