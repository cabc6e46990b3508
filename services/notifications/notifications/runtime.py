"""What the running service is made of, built once by the app's lifespan;
the routes take it as a dependency (`RuntimeDep`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import Depends
from pydantic import BaseModel
from sqlalchemy.engine import Engine
from sqlmodel import Session

from frontdoor_platform import audit
from frontdoor_platform.apikeys import Caller
from frontdoor_platform.clock import Clock
from frontdoor_platform.http import app_runtime
from frontdoor_platform.outbox import OutboxRelay

from .access import audit_trail
from .handlers import Rules
from .metrics import Metrics
from .settings import Settings

Change = BaseModel | dict[str, Any] | None  # an entry before or after a change, as the audit keeps it


@dataclass
class Runtime:
    settings: Settings
    engine: Engine
    rules: Rules
    metrics: Metrics
    relay: OutboxRelay
    clock: Clock
    wake_delivery: Callable[[], None] = field(default=lambda: None)

    def audit(self, db: Session, who: Caller, action: str, target: str, before: Change = None,
              after: Change = None) -> None:
        """An API client's change: its audit row and event, in the route's transaction (committed with it)."""
        audit_trail(self.settings.source_uri).record(db, audit.client_actor(who), action, target, _entry(before),
                                                     _entry(after), self.clock())


def _entry(view: Change) -> dict[str, Any] | None:
    return view.model_dump(mode="json") if isinstance(view, BaseModel) else view


RuntimeDep = Annotated[Runtime, Depends(app_runtime)]
