"""The family's chronology for the board's end-to-end test: the outcomes
service on the same broker (`frontdoor-outcomes serve`, staff accounts made by
its CLI as `make run` makes them), the contact the board's decision was made
on (contacts.recorded.v1, as the contacts service records it: the same contact
and family ids, the same children, ids and categories only), and the
chronology page read in the browser: the Early Help manager and the case's
lead agency see every step in order, another agency gets "Family not found"."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any, Literal

from outcomes_e2e_kit import OutcomesService, cli, start_outcomes
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from frontdoor_contracts.contacts import ContactDecided, ContactRecorded, RecordedChild
from frontdoor_contracts.envelope import CloudEvent, new_event
from frontdoor_contracts.vocabulary import Channel

# The staff of the chronology page: the Early Help manager (every family) and an agency's worker (its cases).
ACCOUNTS = {"eh-manager-e2e": ("manager", None), "hv-worker-1": ("agency", "hv-team-3"),
            "vs-worker-1": ("agency", "vs-42")}
# The steps of the family's story the board's test makes, in order (the page's row classes: `event-<kind>`).
STEPS = ["contact_recorded", "contact_decided", "case_opened", "case_allocated", "offer_made", "offer_answered",
         "case_closed"]
# What the outcomes service's own rules add in between (a plan from the case's problems, a review's findings).
RULES_OWN = {"plan_made", "family_identified", "target_met", "outcome_achieved", "claim_eligible"}


def start_with_accounts(tmp: Path, bootstrap: str, passwords: dict[str, str]) -> OutcomesService:
    """The outcomes service (API and stream) on `bootstrap`, with the chronology page's staff accounts."""
    tmp.mkdir(parents=True, exist_ok=True)
    service = start_outcomes(tmp, bootstrap, review_seconds=2.0)
    for staff_id, (role, scope) in ACCOUNTS.items():
        cli(service.env, "accounts", "add", "--staff-id", staff_id, "--role", role,
            *(["--scope", scope] if scope else []), "--password", passwords[staff_id])
    return service


def recorded_before(decision: CloudEvent[ContactDecided], *, hours: int = 3) -> CloudEvent[ContactRecorded]:
    """The contact `decision` was made on, recorded by the contacts service `hours` before the decision: the
    same contact, family and children, the school's referral about neglect."""
    decided = decision.data
    received_at = decided.decided_at - timedelta(hours=hours)
    data = ContactRecorded(
        contact_id=decided.contact_id, family_id=decided.family_id, referrer_source=decided.referrer_source,
        channel=Channel.KAFKA, received_at=received_at,
        children=[RecordedChild(child_id=child.child_id) for child in decided.children], adult_count=1,
        concerns=list(decided.concerns), da_incident=False)
    return new_event(data, source="urn:frontdoor:contacts", time=received_at)


def kinds_shown(browser: webdriver.Chrome) -> list[str]:
    rows = browser.find_elements(By.CSS_SELECTOR, "#chronology tbody tr")
    return [str(row.get_attribute("class")).removeprefix("event event-") for row in rows]


def sign_in(browser: webdriver.Chrome, url: str, staff_id: str, password: str) -> None:
    browser.get(f"{url}/chronology/")
    assert browser.current_url == f"{url}/chronology/sign-in"  # signed out: sent to sign in
    browser.find_element(By.ID, "staff_id").send_keys(staff_id)
    browser.find_element(By.ID, "password").send_keys(password)
    browser.find_element(By.CSS_SELECTOR, "main form button[type=submit]").click()
    WebDriverWait(browser, 15).until(lambda b: b.current_url == f"{url}/chronology/")


def sign_out(browser: webdriver.Chrome, url: str) -> None:
    browser.find_element(By.CSS_SELECTOR, "form.sign-out button").click()
    WebDriverWait(browser, 15).until(lambda b: "/chronology/sign-in" in b.current_url)


def open_family(browser: webdriver.Chrome, url: str, family_id: str) -> None:
    """The family found by its id from the chronology's start page."""
    browser.find_element(By.ID, "family_id").send_keys(family_id)
    browser.find_element(By.CSS_SELECTOR, "main form button[type=submit]").click()
    WebDriverWait(browser, 15).until(lambda b: f"/chronology/families/{family_id}" in b.current_url)


def wait_closed(browser: webdriver.Chrome, timeout: float = 300) -> list[str]:
    """Reload until the stream has read every step (the closure's topic may be read before the answer's); the
    steps shown then (without the rules' own). A new
    stream reads the topics from their earliest offsets: in a whole suite's run on one broker, after the
    synthetic years, that is a backlog first (hence the guard's length; alone, it takes seconds)."""

    def closed(b: webdriver.Chrome) -> list[str] | Literal[False]:
        steps = [kind for kind in kinds_shown(b) if kind not in RULES_OWN]
        if set(steps) >= set(STEPS):  # every step's topic read (the stream reads the topics side by side)
            return steps
        b.refresh()
        return False

    found: list[str] = WebDriverWait(browser, timeout, poll_frequency=1.0).until(closed)
    return found


def row_text(browser: webdriver.Chrome, kind: str) -> str:
    return str(browser.find_element(By.CSS_SELECTOR, f"#chronology tbody tr.event-{kind}").text)


def assert_the_story(browser: webdriver.Chrome, ids: dict[str, Any]) -> None:
    """Every step in order, from the contact to the closure, each naming the contact or the case by id and the
    categories the board's moves set; nothing but ids, categories and times."""
    shown = wait_closed(browser)
    assert shown == STEPS, shown
    assert ids["contact_id"] in row_text(browser, "contact_recorded")
    assert "school" in row_text(browser, "contact_recorded") and "neglect" in row_text(browser, "contact_recorded")
    assert "early help" in row_text(browser, "contact_decided")
    for kind in STEPS[2:]:
        assert ids["case_id"] in row_text(browser, kind), kind
    assert "hv-team-3" in row_text(browser, "case_allocated") and "hv-worker-1" in row_text(browser, "case_allocated")
    assert "accepted" in row_text(browser, "offer_answered")
    assert "positive outcome" in row_text(browser, "case_closed")
