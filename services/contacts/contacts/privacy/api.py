"""`POST /v1/privacy/requests` (the `privacy` role, the data protection officer's: no other role implies
it): a subject access, erasure or rectification request about one person, published for every service to
answer (`requests`). 202 once it is in the outbox (the relay publishes it); 404 when nobody on the people
index matches (audited); 429 when the key's requests matched nobody too often in the last minute; 422 for a
body that breaks a rule (a reply key no exchange works with included); 409 when a correction gives an
identifier another person holds, or names a person whose erasure is not applied yet. No answer echoes what
was sent."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError
from sqlmodel import Session

from frontdoor_platform.apikeys import Caller
from frontdoor_platform.database import for_writing
from frontdoor_platform.http import in_thread, requires
from frontdoor_platform.problems import ProblemError, problem_responses

from ..access import Role
from ..api import RETRY_AFTER, RuntimeDep
from ..person_keys import Sealing
from . import requests
from .requests import PrivacyAccepted, PrivacyRequestBody

router = APIRouter()
Officer = Annotated[Caller, Depends(requires(Role.PRIVACY))]
NOT_STORED = "the request could not be stored now: nothing was sent; retry after Retry-After"
log = logging.getLogger("contacts.privacy")


def _submit(engine: Engine, body: PrivacyRequestBody, who: Caller, sealing: Sealing, source_uri: str,
            now: datetime) -> PrivacyAccepted:
    with Session(for_writing(engine)) as session:
        try:
            accepted = requests.submit(session, body, who, sealing, source_uri, now)
        except requests.NobodyMatched:
            session.commit()  # the miss's audit entry (what the rate limit counts)
            raise
        session.commit()
    return accepted


@router.post("/v1/privacy/requests", status_code=202, tags=["privacy"], response_model=PrivacyAccepted,
             responses=problem_responses(401, 403, 404, 409, 413, 422, 429, 503))
async def request_privacy(body: PrivacyRequestBody, rt: RuntimeDep, who: Officer) -> PrivacyAccepted:
    """Ask every service what it holds about one person (`access`: each answer's part sealed to
    `reply_key`), to erase it (`erase`, as the retention schedule allows; refused for every class while a
    child named, or any contact naming them, has a safeguarding referral) or to correct it (`rectify`, with
    `corrections`; 409 while an erasure of them waits). Name the person by `nhs_number`, or `upn`, or
    `given_name`, `family_name`, `date_of_birth` and `postcode`. A request that matches nobody is 404 and
    audited; beyond 10 such a minute a key is answered 429 (Retry-After). The answers come on
    privacy.replies.v1 (`frontdoor-stack privacy` waits for them)."""
    async with rt.gate.admit():
        try:
            accepted = await in_thread(_submit, rt.engine, body, who, rt.sealing, rt.settings.source_uri,
                                       rt.clock())
        except OperationalError as exc:
            log.error("a privacy request could not be stored", extra={"error": type(exc).__name__})
            raise ProblemError(503, NOT_STORED, headers=RETRY_AFTER) from None
        except requests.NobodyMatched:
            rt.relay.wake()  # the miss's audit event
            log.info("privacy request matched nobody", extra={"kind": body.kind.value})
            raise
    log.info("privacy request made", extra={"request_id": str(accepted.request_id), "kind": accepted.kind.value,
                                            "people": accepted.people})
    return accepted
