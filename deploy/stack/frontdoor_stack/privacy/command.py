"""`frontdoor-stack privacy access|erase|rectify`: the options checked (`command_line.py`, `options.py`,
`person_input.py`), the reply topic's reader started (so an unreachable broker stops it before anything is
asked), a one-off X25519 key pair made, contacts' `POST /v1/privacy/requests` called with the stack's
contacts privacy key, every service's answer awaited (progress on stderr; an answer whose source is not the
service's it names is ignored and said so), the export written (`export.py`), what each service did
printed, and where the export is and what the DPO must do with it (review it for third parties' data,
delete it once sent) said on stderr.

Exit codes: 0 every service answered and the export is written; 1 the request failed (contacts refused it,
nobody matched, a part did not open, the broker or contacts unreachable); 2 an option or the key is wrong;
3 a service did not answer in time (the export of those that did is written, marked incomplete).

Nothing the command prints holds personal data: ids, services, classes, actions and counts."""

from __future__ import annotations

import sys
import uuid
from pathlib import Path
from typing import Any

import httpx
from aiokafka.errors import KafkaError
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from frontdoor_contracts import retention
from frontdoor_contracts.personal import new_reply_keys
from frontdoor_contracts.retention import Schedule, ScheduleError
from frontdoor_contracts.sources import SERVICE_SOURCES
from frontdoor_contracts.topics import SERVICES as ALL_SERVICES
from frontdoor_platform.kafka_security import KafkaSecurity

from . import export
from .options import PrivacyOrder
from .replies import Answers, ReplyReader

PATH = "/v1/privacy/requests"


def say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


class Shown:
    """Progress on stderr: each service as it answers, every 10 s who is still awaited, and each answer ignored
    because its source is not the service's it names (the service named and the count: nothing personal)."""

    def __init__(self, expected: tuple[str, ...]) -> None:
        self.expected, self.seen, self.next_note = expected, 0, 10.0
        self.refused: dict[str, int] = {}

    def __call__(self, answers: Answers, waited: float) -> None:
        for service, count in sorted(answers.refused.items()):
            if count > self.refused.get(service, 0):
                say(f"  ignored an answer naming {service} whose CloudEvent source is not in the namespace of "
                    f"{service} ({SERVICE_SOURCES.get(service, 'none')}): {count} so far")
        self.refused = dict(answers.refused)
        if len(answers.by_service) > self.seen:
            self.seen = len(answers.by_service)
            say(f"  answered ({self.seen} of {len(self.expected)}): {', '.join(sorted(answers.by_service))}")
        elif waited >= self.next_note:
            say(f"  waiting {waited:.0f} s for: {', '.join(answers.missing)}")
            self.next_note = waited + 10.0


def _schedule() -> Schedule | None:
    try:
        return retention.configured()
    except ScheduleError:
        return None


async def _post(url: str, key: str, body: dict[str, Any]) -> httpx.Response:
    async with httpx.AsyncClient(timeout=30.0) as client:
        return await client.post(f"{url}{PATH}", json=body, headers={"Authorization": f"Bearer {key}"})


def _refusal(response: httpx.Response) -> tuple[str, int]:
    """What a non-202 answer means, from its status and its problem's field errors (each the field and the
    rule in words: the services' problems never hold a value)."""
    if response.status_code == 404:
        return "nobody in the people index matches the person named (contacts answered 404)", 1
    if response.status_code in (401, 403):
        return f"contacts refused the key ({response.status_code}): the request needs its privacy role", 2
    errors: list[str] = []
    try:
        problem = response.json()
        errors = [f"{e.get('field') or 'the request'}: {e.get('message') or e.get('reason')}"
                  for e in problem.get("errors", []) if isinstance(e, dict)]
    except (ValueError, AttributeError):
        pass
    named = f": {'; '.join(errors[:10])}" if errors else ""
    return f"contacts refused the request ({response.status_code}){named}", 1


def _accepted(response: httpx.Response) -> tuple[dict[str, Any], uuid.UUID, tuple[str, ...]] | None:
    """Contacts' 202: its body, the request id and the services that will answer (all four unless it says)."""
    try:
        asked = response.json()
        request_id = uuid.UUID(str(asked["request_id"]))
    except (ValueError, KeyError, TypeError):
        return None
    services = asked.get("services")
    named = tuple(str(s) for s in services) if isinstance(services, list) and services else ALL_SERVICES
    return asked, request_id, named


def people_count(asked: dict[str, Any]) -> int:
    """How many people the request is about (contacts says how many; a list of ids is counted)."""
    people = asked.get("people")
    return people if isinstance(people, int) else len(people) if isinstance(people, list) else 0


async def ask(order: PrivacyOrder, contacts_url: str, key: str, bootstrap: str, security: KafkaSecurity,
              run_dir: Path) -> int:
    reader = ReplyReader(bootstrap, security)
    try:
        await reader.start()
    except (KafkaError, OSError) as error:
        await reader.stop()
        say(f"frontdoor-stack privacy: the broker at {bootstrap} did not answer ({type(error).__name__}); nothing "
            "was asked")
        return 1
    try:
        private_key, public_key = new_reply_keys()
        try:
            response = await _post(contacts_url, key, order.body(public_key))
        except httpx.HTTPError as error:
            say(f"frontdoor-stack privacy: contacts at {contacts_url} did not answer ({type(error).__name__})")
            return 1
        if response.status_code != 202:
            message, code = _refusal(response)
            say(f"frontdoor-stack privacy: {message}")
            return code
        accepted = _accepted(response)
        if accepted is None:
            say("frontdoor-stack privacy: contacts answered 202 without a request id; the answers cannot be told "
                "apart from others")
            return 1
        asked, request_id, expected = accepted
        count = people_count(asked)
        say(f"request {request_id} ({order.kind.value}) sent about {count} {'person' if count == 1 else 'people'}; "
            f"waiting up to {order.timeout:g} s for {', '.join(expected)}")
        if asked.get("erasure_refused"):
            say(f"  erasure refused for every class: {asked['erasure_refused']}")
        answers = await reader.answers(request_id, expected, order.timeout, Shown(expected))
    finally:
        await reader.stop()
    return finish(order, request_id, asked, answers, private_key, run_dir)


def finish(order: PrivacyOrder, request_id: uuid.UUID, asked: dict[str, Any], answers: Answers,
           private_key: X25519PrivateKey, run_dir: Path) -> int:
    made = export.assemble(request_id, order.kind, asked, answers.by_service, answers.missing, private_key,
                           _schedule(), answers.refused)
    directory = order.out or run_dir / "privacy" / str(request_id)
    try:
        if order.out is None:
            export.private_directory(directory.parent)  # .run/privacy/ itself 0700
        json_path, html_path = export.write(directory, made)
    except OSError as error:
        say(f"frontdoor-stack privacy: could not write the export to {directory} ({type(error).__name__})")
        return 1
    print(f"privacy {order.kind.value} {request_id}: {len(answers.by_service)} of {len(answers.expected)} "
          "services answered")
    print("\n".join(export.summary_lines(answers.by_service)))
    print(f"export: {json_path} and {html_path} (0600)")
    for line in export.review_lines(directory):
        say(line)
    if answers.refused:
        say(f"frontdoor-stack privacy: {sum(answers.refused.values())} answer(s) ignored: their CloudEvent source "
            f"was not the namespace of the service they named ({', '.join(sorted(answers.refused))})")
    if answers.missing:
        say(f"frontdoor-stack privacy: no answer within {order.timeout:g} s from: {', '.join(answers.missing)}")
        return 3
    if made.broken:
        say(f"frontdoor-stack privacy: {export.PART_BROKEN}: {', '.join(made.broken)}")
        return 1
    return 0
