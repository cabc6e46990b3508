"""The dev keys `frontdoor-stack up` makes (one client per service with the
roles the local stack needs), as written to and read back from
.run/credentials (0600): `demo`, `seeds` and `privacy` find their keys
there."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

CREDENTIALS_FILE = "credentials"
COORDINATOR = "coordinator"  # the allocation role the demo's case worker acts with


@dataclass
class Credentials:
    service: str
    name: str
    roles: str
    api_key: str
    scope: str | None = None

    def line(self) -> str:
        scope = f" scope={self.scope}" if self.scope else ""
        return f"{self.service}: name={self.name} roles={self.roles}{scope} api_key={self.api_key}\n"


def read_credentials(root: Path) -> list[Credentials]:
    """The dev keys in .run/credentials (as `write_credentials` wrote them); none when there is no file."""
    try:
        text = (root / CREDENTIALS_FILE).read_text()
    except OSError:
        return []
    found = []
    for line in text.splitlines():
        service, _, rest = line.partition(": ")
        fields = dict(part.split("=", 1) for part in rest.split() if "=" in part)
        if service != "page" and {"name", "roles", "api_key"} <= fields.keys():
            found.append(Credentials(service, fields["name"], fields["roles"], fields["api_key"], fields.get("scope")))
    return found


def key_with_role(credentials: list[Credentials], service: str, role: str) -> str | None:
    """`service`'s unscoped key with `role` (the newest: the file is rewritten at each start)."""
    keys = [c.api_key for c in credentials
            if c.service == service and role in c.roles.split(",") and c.scope is None]
    return keys[-1] if keys else None


def coordinator_key(credentials: list[Credentials]) -> str | None:
    """The allocation key with the coordinator role."""
    return key_with_role(credentials, "allocation", COORDINATOR)
