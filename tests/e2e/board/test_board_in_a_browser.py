"""The allocations board in a real browser, against the real service and broker.

The allocation service runs as `make up` runs it (`frontdoor-allocation
serve`), with three staff accounts made by its CLI (`accounts add
--password`, the development option `make run` uses): the coordinator, a
health visiting team's worker and a charity's worker. An Early Help decision
made two days ago is published on contacts.decided.v1. In headless Chromium:
the coordinator sees it on the board with 8 days left and allocates it from
the page to the health visiting team's worker; the worker sees it in their
caseload with the offer outstanding, records the offer and the family's
acceptance, and closes it with a positive outcome, which their caseload
counts; the charity's worker sees none of it (the case's address is "page
not found"). Each move is on Kafka (allocated, offer made, answered,
closed), by the staff id that made it. The outcomes service runs on the
same broker, with staff accounts made by its CLI; the contact the decision
was made on is published first (contacts.recorded.v1: the same contact and
family); at the end the family's chronology page shows the Early Help
manager and the health visiting team every step in order, from the contact
to the closure with its outcome, and tells the charity "Family not found".
Screenshots of the board, the case, the caseload and the chronology are
saved in the test's temporary directory and in `.run/e2e-board/` for a
person to look at.

The browser is Debian's chromium and chromium-driver (`make chromium`)."""

from __future__ import annotations

import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from allocation_e2e_kit import AllocationService, decided, start_allocation, stop_allocation
from browser_kit import chromium, save_page
from contacts_e2e_kit import Kafka, data_of
from e2e.board import board_chronology as chronology
from outcomes_e2e_kit import OutcomesService, stop_outcomes
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait

from frontdoor_contracts.allocation import case_id_for

pytestmark = pytest.mark.e2e
RUN_FOLDER = Path(__file__).resolve().parents[3] / ".run" / "e2e-board"
PASSWORDS = {"coord-e2e": "a long passphrase for the coordinator", "hv-worker-1": "a long passphrase for the worker",
             "vs-worker-1": "a long passphrase for the charity", "eh-manager-e2e": "a long passphrase for the manager"}


@pytest.fixture
def service(kafka_bootstrap: str, tmp_path: Path) -> Iterator[AllocationService]:
    started = start_allocation(tmp_path, kafka_bootstrap)
    for staff_id, role, scope in (("coord-e2e", "coordinator", None), ("hv-worker-1", "agency", "hv-team-3"),
                                  ("vs-worker-1", "agency", "vs-42")):
        subprocess.run([sys.executable, "-m", "allocation.main", "accounts", "add", "--staff-id", staff_id,
                        "--role", role, *(["--scope", scope] if scope else []), "--password", PASSWORDS[staff_id]],
                       env=started.env, capture_output=True, text=True, check=True, timeout=60)
    yield started
    stop_allocation(started)


@pytest.fixture
def outcomes(kafka_bootstrap: str, tmp_path: Path) -> Iterator[OutcomesService]:
    started = chronology.start_with_accounts(tmp_path / "outcomes", kafka_bootstrap, PASSWORDS)
    yield started
    stop_outcomes(started)


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[webdriver.Chrome]:
    with chromium(tmp_path) as chrome:
        yield chrome


def screenshot(browser: webdriver.Chrome, tmp_path: Path, name: str, width: int = 1366) -> None:
    """The whole page at `width` (a laptop's, or a phone's), saved for a person to look at (the temporary
    directory and .run/e2e-board/)."""
    save_page(browser, (tmp_path / "screenshots", RUN_FOLDER), name, width)


def sign_in(browser: webdriver.Chrome, url: str, staff_id: str) -> None:
    browser.get(f"{url}/board/")
    assert browser.current_url == f"{url}/board/sign-in"  # signed out: sent to sign in
    browser.find_element(By.ID, "staff_id").send_keys(staff_id)
    browser.find_element(By.ID, "password").send_keys(PASSWORDS[staff_id])
    browser.find_element(By.CSS_SELECTOR, "main form button[type=submit]").click()
    WebDriverWait(browser, 15).until(lambda b: b.current_url == f"{url}/board/")


def sign_out(browser: webdriver.Chrome, url: str) -> None:
    browser.find_element(By.CSS_SELECTOR, "form.sign-out button").click()
    WebDriverWait(browser, 15).until(lambda b: "/board/sign-in" in b.current_url)


def wait_shown(browser: webdriver.Chrome, text: str, timeout: float = 60) -> None:
    """Reload until `text` is on the page (the consumer takes the decision in its own time)."""

    def shown(b: webdriver.Chrome) -> bool:
        if text in b.page_source:
            return True
        b.refresh()
        return False

    WebDriverWait(browser, timeout, poll_frequency=0.5).until(shown)


def submit(browser: webdriver.Chrome, button: str, done: str) -> None:
    browser.find_element(By.ID, button).click()
    WebDriverWait(browser, 15).until(lambda b: f"done={done}" in b.current_url)


def heading(browser: webdriver.Chrome) -> str:
    return str(browser.find_element(By.TAG_NAME, "h1").text)


async def test_a_decision_is_allocated_offered_accepted_and_closed_from_the_pages(
        kafka: Kafka, service: AllocationService, outcomes: OutcomesService, browser: webdriver.Chrome,
        tmp_path: Path) -> None:
    url = service.url
    event = decided("early_help", datetime.now(UTC) - timedelta(days=2), family_id=uuid.uuid4())
    case_id = str(case_id_for(event.source, event.id))
    contact = chronology.recorded_before(event)  # the contact the decision was made on, recorded first
    await kafka.publish_event("contacts.recorded.v1", contact, key=str(contact.data.contact_id))
    await kafka.publish_event("contacts.decided.v1", event, key=str(event.data.family_id))

    # The coordinator: the decision on the board's agenda with its days left; allocated from the page.
    sign_in(browser, url, "coord-e2e")
    wait_shown(browser, f"agenda-{case_id}")
    row = browser.find_element(By.ID, f"agenda-{case_id}").text
    assert "8 days left" in row and "Early Help decision" in row and "Referred by School" in row
    assert "Level 3" in row and "Neglect" in row and "2 days" in row
    assert "(GMT)" in browser.page_source or "(BST)" in browser.page_source
    screenshot(browser, tmp_path, "1-board-coordinator")
    screenshot(browser, tmp_path, "1-board-coordinator-phone", width=400)
    browser.find_element(By.CSS_SELECTOR, f"#agenda-{case_id} a.button-link").click()
    browser.find_element(By.ID, "lead_agency_id").send_keys("hv-team-3")
    Select(browser.find_element(By.ID, "agency_kind")).select_by_value("health_visiting")
    browser.find_element(By.ID, "lead_professional_ref").send_keys("hv-worker-1")
    submit(browser, "allocate-button", "allocated")
    assert "The case is allocated" in browser.page_source
    assert browser.find_element(By.ID, "case-agency").text == "hv-team-3 (Health visiting)"
    sign_out(browser, url)

    # The health visiting team's worker: the case in their caseload; the offer, the answer, the closure.
    sign_in(browser, url, "hv-worker-1")
    assert "Agenda: waiting for allocation" not in browser.page_source
    browser.find_element(By.ID, "my-caseload").click()
    assert heading(browser) == "Caseload of hv-worker-1 at hv-team-3"
    assert case_id[:8] in browser.find_element(By.ID, "cases").text
    assert "Offer outstanding" in browser.find_element(By.ID, "cases").text
    screenshot(browser, tmp_path, "2-caseload-worker")
    caseload = browser.current_url
    browser.find_element(By.LINK_TEXT, case_id[:8]).click()
    submit(browser, "offer-button", "offer-recorded")
    browser.find_element(By.ID, "answer-accepted").click()
    submit(browser, "answer-button", "answer-recorded")
    assert browser.find_element(By.ID, "case-status").text == "Accepted: the agency is working with the family"
    Select(browser.find_element(By.ID, "outcome")).select_by_value("positive_outcome")
    submit(browser, "close-button", "closed")
    timeline = browser.find_element(By.ID, "timeline").text
    assert timeline.index("Case opened") < timeline.index("Allocated to hv-team-3") < timeline.index(
        "Offer made") < timeline.index("The family accepted") < timeline.index("Closed: Positive outcome")
    screenshot(browser, tmp_path, "3-case-closed")
    browser.get(caseload)
    assert browser.find_element(By.ID, "closed-this-quarter").text == "1"
    assert browser.find_element(By.ID, "open-cases").text == "0"
    sign_out(browser, url)

    # The charity's worker: none of it.
    sign_in(browser, url, "vs-worker-1")
    assert case_id not in browser.page_source
    browser.get(f"{url}/board/cases/{case_id}")
    assert heading(browser) == "Page not found" and "hv-team-3" not in browser.page_source
    browser.get(f"{url}/board/caseloads/hv-team-3")
    assert heading(browser) == "Page not found"

    # Every move on Kafka, by the member of staff who made it.
    for topic, by in (("allocation.case-allocated.v1", "allocated_by"), ("allocation.offer-made.v1", None),
                      ("allocation.offer-answered.v1", None), ("allocation.case-closed.v1", None)):
        found = await kafka.collect(topic, lambda r: data_of(r).get("case_id") == case_id, timeout=60)
        assert len(found) == 1, topic
        if by:
            assert data_of(found[0])[by] == "coord-e2e"

    # The family's chronology: every step in order to the manager and the lead agency; the charity, nothing.
    family_id, ids = str(event.data.family_id), {"case_id": case_id, "contact_id": str(event.data.contact_id)}
    for staff_id in ("eh-manager-e2e", "hv-worker-1"):
        chronology.sign_in(browser, outcomes.url, staff_id, PASSWORDS[staff_id])
        chronology.open_family(browser, outcomes.url, family_id)
        chronology.assert_the_story(browser, ids)
        screenshot(browser, tmp_path, f"4-chronology-{staff_id}")
        chronology.sign_out(browser, outcomes.url)
    chronology.sign_in(browser, outcomes.url, "vs-worker-1", PASSWORDS["vs-worker-1"])
    browser.get(f"{outcomes.url}/chronology/families/{family_id}")
    assert heading(browser) == "Family not found" and chronology.kinds_shown(browser) == []
    assert case_id not in browser.page_source and "hv-team-3" not in browser.page_source
    for log in (service.log, outcomes.log):
        logged = log.read_text()
        for secret in PASSWORDS.values():
            assert secret not in logged
