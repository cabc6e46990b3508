"""The chronology fills from the topics, through the real broker: the outcomes service as a process (its API
and its faust worker) reads a family's story as the producers publish it (a contact, the MASH decision, a
partner's fact, the case opened, allocated, offered, accepted, a re-referral flag corrected, the case closed)
and `GET /v1/families/{family_id}/chronology` shows every step in order, to the manager and to the lead
agency, and to no other agency; the same events published again (same ids) add nothing once the stream has
applied them; the lead agency's worker, signed in to the page with an account `accounts add` made, sees the
same steps."""

from __future__ import annotations

import html
import re
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from outcomes_e2e_kit import Out, OutcomesService, cli, publish_all, start_outcomes, stop_outcomes, until, wait_applied

from frontdoor_contracts.topics import all_topics

pytestmark = pytest.mark.e2e
PASSWORD = "a long pass phrase for the e2e lead"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
RULES_OWN = {"family_identified", "outcome_achieved", "claim_eligible", "target_met"}


def outs(items: list[tuple[str, Any]]) -> list[Out]:
    """Each event on its topic under the topic's declared key."""
    keys = {spec.name: spec.key for spec in all_topics()}
    return [Out(topic, str(getattr(event.data, keys[topic])), event) for topic, event in items]


def steps(body: dict[str, Any]) -> list[str]:
    """The story's steps shown, without what the service's own rules made of them: the stream reads the topics
    in its own interleaving, so a family can be identified in data at the partner's fact, before the stream
    has read its case's opening (the outputs' order caveat in the README)."""
    return [i["kind"] for i in body["items"] if i["kind"] not in RULES_OWN]


def chronology(service: OutcomesService, token: str, family_id: uuid.UUID) -> httpx.Response:
    return httpx.get(f"{service.url}/v1/families/{family_id}/chronology", headers=service.headers(token),
                     timeout=10)


def page_kinds(service: OutcomesService, family_id: uuid.UUID) -> list[str]:
    """The kinds of the rows the lead's page shows, signed in through the kit's sign-in."""
    with httpx.Client(base_url=service.url, timeout=30, follow_redirects=True) as browser:
        form = browser.get("/chronology/sign-in")
        token = CSRF.search(form.text)
        assert token is not None
        signed = browser.post("/chronology/sign-in", data={"staff_id": "lead-e2e", "password": PASSWORD,
                                                           "csrf_token": html.unescape(token.group(1))})
        assert signed.status_code == 200, signed.status_code
        shown = browser.get(f"/chronology/families/{family_id}")
        assert shown.status_code == 200
        return re.findall(r'<tr class="event event-([a-z_]+)">', shown.text)


async def test_a_familys_chronology_fills_from_the_topics_once(kafka_bootstrap: str, tmp_path: Path,
                                                               new_story: Any) -> None:
    # Closed 30 days ago: the stream's review (on the wall clock) identifies it in data only after 90 quiet days.
    story = new_story(agency=f"agency-{uuid.uuid4().hex[:8]}", start=datetime.now(UTC) - timedelta(days=120))
    service = start_outcomes(tmp_path, kafka_bootstrap, review_seconds=2.0)
    try:
        lead = cli(service.env, "create-client", "--name", "e2e-lead", "--roles", "agency",
                   "--scope", story.agency).stdout.strip()
        other = cli(service.env, "create-client", "--name", "e2e-other", "--roles", "agency",
                    "--scope", "agency-elsewhere").stdout.strip()
        cli(service.env, "accounts", "add", "--staff-id", "lead-e2e", "--role", "agency", "--scope", story.agency,
            "--password", PASSWORD)
        items = story.events()
        await publish_all(kafka_bootstrap, outs(items))

        def complete() -> dict[str, Any] | None:
            answer = chronology(service, service.manager, story.family_id)
            if answer.status_code != 200:
                return None
            body: dict[str, Any] = answer.json()
            return body if steps(body) == story.KINDS else None

        first = await until(complete, timeout=180, what="the family's chronology with every step")
        published = [event.id for _, event in items]
        assert [i["event_id"] for i in first["items"] if i["event_id"] in published] == published
        assert chronology(service, lead, story.family_id).json() == first
        refused = chronology(service, other, story.family_id)
        assert refused.status_code == 404 and str(story.family_id) not in refused.text

        await publish_all(kafka_bootstrap, outs(items))  # the same events again: a producer's retry
        await wait_applied(kafka_bootstrap, service.database_url, sorted({topic for topic, _ in items}), 180)
        assert chronology(service, service.manager, story.family_id).json() == first
        assert [kind for kind in page_kinds(service, story.family_id) if kind not in RULES_OWN] == story.KINDS
    finally:
        stop_outcomes(service)
