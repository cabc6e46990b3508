"""The JSON body a recipient receives, built at send time from the
notification row (so an erased or corrected row is never sent stale).

A DA incident says exactly what the school's key adult needs that morning
(`domain.schools.notice_for`): the child's given and family name, date of
birth and UPN, when the incident happened, that police attended, the police
reference, whether the child was present and how to reach the MASH; plus the
notification id (also the `webhook-id`), its kind and its deadline. An
allocation message carries its `details` (ids and categories only)."""

from __future__ import annotations

import dataclasses
import json
from datetime import date, datetime
from typing import Any

from frontdoor_contracts.notifications import NotificationKind

from ..domain.schools import notice_for
from ..models import NotificationRow


class PayloadUnavailable(Exception):
    """The row holds no sendable content (its personal data was erased, or
    never recorded). The message names no value."""


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def body_of(row: NotificationRow, mash_contact: str) -> bytes:
    document: dict[str, Any] = {"notification_id": str(row.notification_id), "kind": row.kind,
                                "deadline": _plain(row.deadline)}
    if row.erased_at is not None:
        raise PayloadUnavailable("the notification's personal data has been erased")
    if row.kind == NotificationKind.DA_INCIDENT:
        if row.given_name is None or row.family_name is None or row.incident_at is None \
                or row.police_reference is None or row.child_present is None:
            raise PayloadUnavailable("the notification lacks the incident's details")
        notice = notice_for(given_name=row.given_name, family_name=row.family_name,
                            date_of_birth=row.date_of_birth, upn=row.upn, incident_at=row.incident_at,
                            police_reference=row.police_reference, present=row.child_present,
                            mash_contact=mash_contact)
        document |= {name: _plain(value) for name, value in dataclasses.asdict(notice).items()}
    else:
        try:
            document["details"] = json.loads(row.details) if row.details else {}
        except ValueError:
            raise PayloadUnavailable("the notification's details are not JSON") from None
    return json.dumps(document, separators=(",", ":"), sort_keys=True).encode()
