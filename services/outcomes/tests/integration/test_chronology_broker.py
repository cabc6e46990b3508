"""The chronology fills from the topics, through the real broker: the outcomes service as a process (its API
and its faust worker) reads a family's story as the producers publish it (a contact, the MASH decision, a
partner's fact, the case opened, allocated, offered, accepted, a re-referral flag corrected, the case closed,
the school told of a DA incident and acknowledging it)
and `GET /v1/families/{family_id}/chronology` shows every step in order, to the manager and to the lead
agency, and to no other agency; the same events published again (same ids) add nothing once the stream has
applied them. In headless Chromium (Debian's chromium and chromium-driver, `make chromium`), the lead agency's
worker, signed in to the page with an account `accounts add` made, finds the family by its id and sees the same
steps; another agency's worker gets "Family not found". Screenshots (laptop and phone widths) are saved in the
test's temporary directory and .run/e2e-chronology/."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from browser_kit import chromium, save_page
from outcomes_e2e_kit import Out, OutcomesService, cli, publish_all, start_outcomes, stop_outcomes, until, wait_applied
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from frontdoor_contracts.topics import all_topics

pytestmark = pytest.mark.e2e
PASSWORD = "a long pass phrase for the e2e lead"
RUN_FOLDER = Path(__file__).resolve().parents[4] / ".run" / "e2e-chronology"
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


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[webdriver.Chrome]:
    with chromium(tmp_path) as chrome:
        yield chrome


def screenshot(browser: webdriver.Chrome, tmp_path: Path, name: str, width: int = 1366) -> None:
    """The whole page at `width` (a laptop's, or a phone's), saved for a person to look at (the test's temporary
    directory and .run/e2e-chronology/)."""
    save_page(browser, (tmp_path / "screenshots", RUN_FOLDER), name, width)


def sign_in(browser: webdriver.Chrome, url: str, staff_id: str) -> None:
    browser.get(f"{url}/chronology/")
    assert browser.current_url == f"{url}/chronology/sign-in"  # signed out: sent to sign in
    browser.find_element(By.ID, "staff_id").send_keys(staff_id)
    browser.find_element(By.ID, "password").send_keys(PASSWORD)
    browser.find_element(By.CSS_SELECTOR, "main form button[type=submit]").click()
    WebDriverWait(browser, 15).until(lambda b: b.current_url == f"{url}/chronology/")


def kinds_shown(browser: webdriver.Chrome) -> list[str]:
    rows = browser.find_elements(By.CSS_SELECTOR, "#chronology tbody tr")
    return [str(row.get_attribute("class")).removeprefix("event event-") for row in rows]


def the_page(browser: webdriver.Chrome, service: OutcomesService, story: Any, tmp_path: Path) -> None:
    """The lead's worker finds the family by its id and reads its chronology; another agency's worker finds
    nothing (the family's id nowhere in the page but the address)."""
    sign_in(browser, service.url, "lead-e2e")
    browser.find_element(By.ID, "family_id").send_keys(str(story.family_id))
    browser.find_element(By.CSS_SELECTOR, "main form button[type=submit]").click()
    WebDriverWait(browser, 15).until(lambda b: f"/chronology/families/{story.family_id}" in b.current_url)
    assert [kind for kind in kinds_shown(browser) if kind not in RULES_OWN] == story.TOLD_KINDS
    assert "Case allocated" in browser.page_source and "positive outcome" in browser.page_source
    assert "School notified" in browser.page_source and "School acknowledged" in browser.page_source
    screenshot(browser, tmp_path, "chronology")
    screenshot(browser, tmp_path, "chronology-phone", width=390)
    browser.find_element(By.CSS_SELECTOR, "form.sign-out button").click()
    WebDriverWait(browser, 15).until(lambda b: "/chronology/sign-in" in b.current_url)
    sign_in(browser, service.url, "other-e2e")
    browser.get(f"{service.url}/chronology/families/{story.family_id}")
    assert browser.find_element(By.TAG_NAME, "h1").text == "Family not found"
    assert kinds_shown(browser) == [] and story.agency not in browser.page_source
    screenshot(browser, tmp_path, "chronology-another-agency")


async def test_a_familys_chronology_fills_from_the_topics_once(kafka_bootstrap: str, tmp_path: Path,
                                                               new_story: Any, browser: webdriver.Chrome) -> None:
    # Closed 30 days ago: the stream's review (on the wall clock) identifies it in data only after 90 quiet days.
    story = new_story(agency=f"agency-{uuid.uuid4().hex[:8]}", start=datetime.now(UTC) - timedelta(days=120))
    service = start_outcomes(tmp_path, kafka_bootstrap, review_seconds=2.0)
    try:
        lead = cli(service.env, "create-client", "--name", "e2e-lead", "--roles", "agency",
                   "--scope", story.agency).stdout.strip()
        other = cli(service.env, "create-client", "--name", "e2e-other", "--roles", "agency",
                    "--scope", "agency-elsewhere").stdout.strip()
        for staff_id, agency in (("lead-e2e", story.agency), ("other-e2e", "agency-elsewhere")):
            cli(service.env, "accounts", "add", "--staff-id", staff_id, "--role", "agency", "--scope", agency,
                "--password", PASSWORD)
        events = story.events()
        items = events + story.school_told()  # the school told of a DA incident, by notifications
        await publish_all(kafka_bootstrap, outs(items))

        def complete() -> dict[str, Any] | None:
            answer = chronology(service, service.manager, story.family_id)
            if answer.status_code != 200:
                return None
            body: dict[str, Any] = answer.json()
            return body if steps(body) == story.TOLD_KINDS else None

        first = await until(complete, timeout=180, what="the family's chronology with every step")
        published = [event.id for _, event in events]  # the told ones' places: TOLD_KINDS
        assert [i["event_id"] for i in first["items"] if i["event_id"] in published] == published
        assert chronology(service, lead, story.family_id).json() == first
        refused = chronology(service, other, story.family_id)
        assert refused.status_code == 404 and str(story.family_id) not in refused.text

        await publish_all(kafka_bootstrap, outs(items))  # the same events again: a producer's retry
        await wait_applied(kafka_bootstrap, service.database_url, sorted({topic for topic, _ in items}), 180)
        assert chronology(service, service.manager, story.family_id).json() == first
        await asyncio.to_thread(the_page, browser, service, story, tmp_path)
    finally:
        stop_outcomes(service)
