"""The schools' page in a real browser, against the real service and broker.

Two schools are put in the directory with a key adult each (the admin API;
school A requires a second factor), each key adult sets their own password
in the browser with the one-time link the admin API gave, and a DA incident
for a child of each school is published on contacts.da-incident-reported.v1,
its fields sealed with the child's key (on contacts.person-keys.v1: school
A's before the incident, school B's after it). In headless Chromium: school A's key adult signs in, is led to enrol a
second factor (the code computed by pyotp from the secret the page shows,
as their app would), and sees only school A's
child (school B's child is nowhere in the page source), opens the
notification, acknowledges it and sees its state change; signs out; school
B's key adult signs in, sees none of school A's, and school A's
notification's address is the "page not found" page (404); the session
cookie is HttpOnly and dies with the browser (no expiry); school B's child's
key is tombstoned and the list says the details were removed. The
acknowledgement is on notifications.acknowledged.v1, by school A's key
adult's staff id.

The service runs as `make up` runs it (`frontdoor-notifications serve`: the
API and its worker), with an admin key made by its CLI; the browser is
Debian's chromium and chromium-driver, which `make chromium` installs."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import httpx
import pyotp
import pytest
from browser_kit import chromium
from contacts_e2e_kit import Kafka, data_of
from notifications_e2e_kit import publish_tombstone
from sealed_children import PERSON_KEYS, ChildKeys, incident_data, incident_event
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from frontdoor_contracts.identifiers import upn_check_letter
from frontdoor_stack import processes
from frontdoor_stack.kafka_broker import free_port

pytestmark = pytest.mark.e2e
INCIDENTS = "contacts.da-incident-reported.v1"
ACKNOWLEDGED = "notifications.acknowledged.v1"


@dataclass
class PageService:
    process: subprocess.Popen[bytes]
    url: str
    admin: str
    log: Path

    def admin_put(self, path: str, body: dict[str, object]) -> httpx.Response:
        return httpx.put(f"{self.url}{path}", json=body, headers={"Authorization": f"Bearer {self.admin}"},
                         timeout=15)

    def admin_post(self, path: str) -> httpx.Response:
        return httpx.post(f"{self.url}{path}", headers={"Authorization": f"Bearer {self.admin}"}, timeout=15)


def _every_weekday_a_school_day(folder: Path) -> Path:
    """Term dates with one long term around today, so every notification has a deadline."""
    today = date.today()
    path = folder / "term_dates.json"
    path.write_text(json.dumps({
        "version": "e2e-page", "authority": "e2e tests", "school_starts_at": "08:30",
        "terms": [{"first_day": (today - timedelta(days=30)).isoformat(),
                   "last_day": (today + timedelta(days=400)).isoformat()}],
        "closed_days": []}))
    return path


@pytest.fixture
def page_service(kafka_bootstrap: str, tmp_path: Path) -> Iterator[PageService]:
    env = {**os.environ, "NOTIFICATIONS_KAFKA_BOOTSTRAP": kafka_bootstrap,
           "NOTIFICATIONS_DATABASE_URL": f"sqlite:///{tmp_path / 'notifications.db'}",
           "NOTIFICATIONS_CONSUMER_GROUP": f"notifications-page-e2e-{uuid.uuid4().hex[:8]}",
           "NOTIFICATIONS_TERM_DATES": str(_every_weekday_a_school_day(tmp_path)),
           "NOTIFICATIONS_PUBLISH_TIMEOUT_SECONDS": "3", "NOTIFICATIONS_LOG_LEVEL": "DEBUG",
           "NOTIFICATIONS_PORT": str(free_port())}
    env["NOTIFICATIONS_PAGE_URL"] = f"http://127.0.0.1:{env['NOTIFICATIONS_PORT']}/page/"
    admin = subprocess.run([sys.executable, "-m", "notifications.main", "create-client", "--name", "e2e-page-admin",
                            "--roles", "admin"], env=env, capture_output=True, text=True, check=True,
                           timeout=60).stdout.strip()
    url = f"http://127.0.0.1:{env['NOTIFICATIONS_PORT']}"
    log = tmp_path / "notifications.log"
    process = processes.start_and_wait([sys.executable, "-m", "notifications.main", "serve"], env, log,
                                       url + "/readyz", name="notifications")
    yield PageService(process, url, admin, log)
    processes.stop(process)


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[webdriver.Chrome]:
    with chromium(tmp_path, width=1280) as chrome:
        yield chrome


def a_upn() -> str:
    body = "999" + "".join(random.choice("0123456789") for _ in range(9))
    return upn_check_letter(body) + body


async def report(kafka: Kafka, urn: str, given_name: str, family_name: str, key_first: bool = True) -> str:
    """A DA incident as contacts publishes it (the child's fields sealed with its key, the key record on
    contacts.person-keys.v1: first, or after the incident); the child's id."""
    reported = datetime.now(UTC) - timedelta(minutes=5)
    keys, contact, child_id = ChildKeys(), uuid.uuid4(), uuid.uuid4()
    child = keys.child(contact, child_id, given_name=given_name, family_name=family_name, upn=a_upn(),
                       police_reference=f"E2E/{random.randint(1000000, 9999999)}/26", school_urn=urn, present=False)
    event = incident_event(incident_data(contact, [child], reported - timedelta(hours=3), reported))
    key = keys.key_event(child_id)
    if key_first:
        await kafka.publish_event(PERSON_KEYS, key, key=str(child_id))
    await kafka.publish_event(INCIDENTS, event, key=str(contact))
    if not key_first:
        await kafka.publish_event(PERSON_KEYS, key, key=str(child_id))
    return str(child_id)


def put_school(service: PageService, urn: str, name: str, staff_id: str, second_factor: bool = False) -> str:
    """The school and its key adult (the admin API); the one-time set-password link the admin passes on."""
    school = service.admin_put(f"/v1/schools/{urn}", {
        "name": name, "phase": "primary", "channel": "inbox", "require_second_factor": second_factor,
        "key_adults": [{"staff_id": staff_id, "email": f"{staff_id}@school.example"}]})
    assert school.status_code in (200, 201), school.text
    issued = service.admin_post(f"/v1/key-adults/{staff_id}/password-link")
    assert issued.status_code == 201, issued.text
    return str(issued.json()["link"])


def set_password(browser: webdriver.Chrome, link: str, staff_id: str, password: str) -> None:
    """The key adult opens the admin's link and chooses their own password."""
    browser.get(link)
    browser.find_element(By.ID, "staff_id").send_keys(staff_id)
    browser.find_element(By.ID, "password").send_keys(password)
    browser.find_element(By.ID, "password_again").send_keys(password)
    browser.find_element(By.CSS_SELECTOR, "form.form button[type=submit]").click()
    WebDriverWait(browser, 15).until(lambda b: "done=password-set" in b.current_url)
    assert "Your password is set" in browser.page_source


def sign_in(browser: webdriver.Chrome, url: str, staff_id: str, password: str, lands: str = "/page/") -> None:
    browser.get(f"{url}/page/")
    assert browser.current_url == f"{url}/page/sign-in"  # signed out: sent to sign in
    browser.find_element(By.ID, "staff_id").send_keys(staff_id)
    browser.find_element(By.ID, "password").send_keys(password)
    browser.find_element(By.CSS_SELECTOR, "form.form button[type=submit]").click()
    WebDriverWait(browser, 15).until(lambda b: b.current_url == f"{url}{lands}")


def enrol(browser: webdriver.Chrome, url: str) -> None:
    """Led to enrol right after the password: the secret shown once, typed into an app (pyotp here)."""
    assert heading(browser) == "Set up a second factor"
    secret = browser.find_element(By.ID, "secret").text.replace(" ", "")
    assert browser.find_element(By.ID, "uri").text.startswith("otpauth://totp/")
    browser.find_element(By.ID, "code").send_keys(pyotp.TOTP(secret).now())
    browser.find_element(By.ID, "confirm").click()
    WebDriverWait(browser, 15).until(lambda b: b.current_url == f"{url}/page/?done=second-factor-set")


def wait_listed(browser: webdriver.Chrome, text: str, timeout: float = 60) -> None:
    """Reload the list until `text` is on it (the consumer takes the incident in its own time)."""

    def listed(b: webdriver.Chrome) -> bool:
        if text in b.page_source:
            return True
        b.refresh()
        return False

    WebDriverWait(browser, timeout, poll_frequency=0.5).until(listed)


def heading(browser: webdriver.Chrome) -> str:
    return str(browser.find_element(By.TAG_NAME, "h1").text)


async def test_each_school_sees_only_its_own_and_an_acknowledgement_becomes_an_event(
    kafka: Kafka, page_service: PageService, browser: webdriver.Chrome
) -> None:
    url, run = page_service.url, uuid.uuid4().hex[:6]
    urn_a, urn_b = (f"{n:06d}" for n in random.sample(range(900000, 999999), 2))
    staff_a, staff_b = f"dsl-a-{run}", f"dsl-b-{run}"
    child_a, child_b = ("Annabel", f"Aardvark{run}"), ("Bartholomew", f"Badger{run}")
    link_a = put_school(page_service, urn_a, "Acorn Primary (test)", staff_a, second_factor=True)
    link_b = put_school(page_service, urn_b, "Beech Primary (test)", staff_b)
    assert link_a.startswith(f"{url}/page/set-password?code=")
    set_password(browser, link_a, staff_a, "a long passphrase for A")
    set_password(browser, link_b, staff_b, "a long passphrase for B")
    await report(kafka, urn_a, *child_a)
    child_b_id = await report(kafka, urn_b, *child_b, key_first=False)  # read before its key, or after

    # School A's key adult (their school requires a second factor): only school A's child.
    sign_in(browser, url, staff_a, "a long passphrase for A", lands="/page/second-factor/new")
    enrol(browser, url)
    wait_listed(browser, child_a[1])
    assert heading(browser) == "Notifications for Acorn Primary (test)"
    assert child_b[1] not in browser.page_source and child_b[0] not in browser.page_source
    assert "Not acknowledged" in browser.find_element(By.CSS_SELECTOR, "table.notifications").text
    link = browser.find_element(By.LINK_TEXT, " ".join(child_a))
    notification_url = str(link.get_attribute("href"))
    notification_id = notification_url.rsplit("/", 1)[1]
    link.click()
    assert heading(browser) == f"Notification about {' '.join(child_a)}"
    assert browser.find_element(By.ID, "state").text == "State: Not acknowledged"
    details = browser.find_element(By.CSS_SELECTOR, "dl.details").text
    assert "Police attended\nYes" in details and "normally resident" in details
    assert "(GMT)" in details or "(BST)" in details

    browser.find_element(By.ID, "acknowledge").click()
    WebDriverWait(browser, 15).until(lambda b: "done=acknowledged" in b.current_url)
    assert browser.find_element(By.ID, "state").text == "State: Acknowledged"
    assert browser.find_element(By.ID, "acknowledged").text.startswith(f"Acknowledged by {staff_a} on ")
    assert "You acknowledged this notification" in browser.find_element(By.CSS_SELECTOR, "[aria-live]").text
    assert not browser.find_elements(By.ID, "acknowledge")
    browser.get(f"{url}/page/")
    assert "Acknowledged" in browser.find_element(By.CSS_SELECTOR, "table.notifications").text

    browser.find_element(By.CSS_SELECTOR, "form.sign-out button").click()
    WebDriverWait(browser, 15).until(lambda b: "/page/sign-in" in b.current_url)
    assert "You have signed out" in browser.page_source
    browser.get(notification_url)
    assert browser.current_url == f"{url}/page/sign-in"  # the session is gone

    # School B's key adult: none of school A's, and school A's notification is not found.
    sign_in(browser, url, staff_b, "a long passphrase for B")
    wait_listed(browser, child_b[1])
    assert child_a[1] not in browser.page_source and notification_id not in browser.page_source
    browser.get(notification_url)
    assert heading(browser) == "Page not found" and child_a[1] not in browser.page_source
    session = browser.get_cookie("fd_page_session")
    assert session is not None and session["httpOnly"] and session["path"] == "/page"
    assert "expiry" not in session  # a session cookie: the browser forgets it when it closes
    direct = httpx.get(notification_url, cookies={"fd_page_session": session["value"]}, timeout=10)
    assert direct.status_code == 404 and "Page not found" in direct.text

    # School B's child is erased (the key's tombstone): the list keeps the notification, without the name.
    await publish_tombstone(kafka.bootstrap, child_b_id)
    browser.get(f"{url}/page/")
    wait_listed(browser, "Details removed")
    assert child_b[1] not in browser.page_source and child_b[0] not in browser.page_source

    # The acknowledgement, on Kafka.
    found = await kafka.collect(ACKNOWLEDGED, lambda r: data_of(r).get("notification_id") == notification_id,
                                timeout=60)
    assert len(found) == 1
    assert data_of(found[0])["acknowledged_by"] == staff_a and data_of(found[0])["recipient"] == urn_a
    logged = page_service.log.read_text()
    for personal in [*child_a, *child_b, "a long passphrase"]:
        assert personal not in logged, "personal data in the service's log"
