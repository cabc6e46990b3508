"""The notifications directory the demo needs, put through the service's
admin API once the services are healthy (`frontdoor-stack run|up`): every
demo school (`demo.SCHOOL_URNS`) with a key adult whose page password is
generated and set as a key adult sets one (the admin API gives a one-time
code, the page's set-password form takes it: the admin never knows a
password), most told by a webhook to the demo school system (each with a
freshly rotated signing secret handed to the receiver), some by the inbox
only, two by an email alert to the SMTP sink; and the demo's agencies and
the Early Help manager. Every name is synthetic; nothing here is logged."""

from __future__ import annotations

import re
import secrets
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from .demo import DEMO_AGENCIES, EARLY_HELP_MANAGER, SCHOOL_URNS
from .school_receiver import recipient_path, webhook_url, write_secrets

WEBHOOK, EMAIL, INBOX = "webhook", "email", "inbox"
# Per twelve schools: nine by webhook, two inbox only, one by email.
CHANNEL_CYCLE = (WEBHOOK, WEBHOOK, WEBHOOK, WEBHOOK, INBOX, WEBHOOK, WEBHOOK, WEBHOOK, WEBHOOK, WEBHOOK, EMAIL, INBOX)
PHASE_CYCLE = ("primary", "primary", "secondary", "primary", "all_through", "primary", "secondary", "special",
               "primary", "early_years", "secondary", "primary")
PHASE_NAMES = {"early_years": "Nursery School", "primary": "Primary School", "secondary": "Academy",
               "all_through": "All-Through School", "special": "Special School"}
PLACES = ("Testbury", "Mockington", "Sampleford", "Stubworth", "Dummyvale", "Placeholme", "Fixtonbridge",
          "Exampleham")
QUARTERS = ("North", "South", "East")
EMAIL_DOMAIN = "school.example"  # RFC 2606: never a real mailbox
PASSWORD_BYTES = 12  # 16 characters, over the page's 12
FORM_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass(frozen=True)
class SchoolEntry:
    urn: str
    name: str
    phase: str
    channel: str
    staff_id: str  # the school's key adult (designated safeguarding lead)

    @property
    def path(self) -> str:
        return recipient_path("schools", self.urn)

    def body(self, receiver_url: str) -> dict[str, Any]:
        return {"name": self.name, "phase": self.phase, "channel": self.channel,
                "webhook_url": webhook_url(receiver_url, self.path) if self.channel == WEBHOOK else None,
                "alert_email": f"safeguarding-{self.urn}@{EMAIL_DOMAIN}" if self.channel == EMAIL else None,
                "key_adults": [{"staff_id": self.staff_id, "email": f"{self.staff_id}@{EMAIL_DOMAIN}"}]}


@dataclass(frozen=True)
class AgencyEntry:
    agency_id: str
    name: str
    channel: str

    @property
    def path(self) -> str:
        return recipient_path("agencies", self.agency_id)

    def body(self, receiver_url: str) -> dict[str, Any]:
        return {"name": self.name, "channel": self.channel,
                "webhook_url": webhook_url(receiver_url, self.path) if self.channel == WEBHOOK else None,
                "alert_email": f"{self.agency_id}@agency.example" if self.channel == EMAIL else None}


def school_plan(urns: Sequence[str] = SCHOOL_URNS) -> list[SchoolEntry]:
    made = []
    for index, urn in enumerate(urns):
        phase = PHASE_CYCLE[index % len(PHASE_CYCLE)]
        place = f"{PLACES[index % len(PLACES)]} {QUARTERS[index // len(PLACES) % len(QUARTERS)]}"
        made.append(SchoolEntry(urn=urn, name=f"{place} {PHASE_NAMES[phase]}", phase=phase,
                                channel=CHANNEL_CYCLE[index % len(CHANNEL_CYCLE)], staff_id=f"dsl-{urn}"))
    return made


def agency_plan() -> list[AgencyEntry]:
    """The demo's agencies by webhook; the Early Help manager by email."""
    return ([AgencyEntry(agency_id, name, WEBHOOK) for agency_id, name, _ in DEMO_AGENCIES]
            + [AgencyEntry(EARLY_HELP_MANAGER, "Demo Early Help Manager", EMAIL)])


def new_password() -> str:
    return secrets.token_urlsafe(PASSWORD_BYTES)


class SeedError(RuntimeError):
    pass


@dataclass
class Seeded:
    schools: list[SchoolEntry]
    agencies: list[AgencyEntry]
    passwords: dict[str, str] = field(default_factory=dict, repr=False)  # key adult's staff id -> page password
    rotated: int = 0  # signing secrets rotated and handed to the receiver

    def channels(self) -> Counter[str]:
        return Counter(entry.channel for entry in self.schools)

    def demo_school(self) -> SchoolEntry:
        """The school whose key adult and inbox key the summary shows: the first told by webhook."""
        return next((s for s in self.schools if s.channel == WEBHOOK), self.schools[0])


def _check(response: httpx.Response, what: str, *ok: int) -> httpx.Response:
    if response.status_code not in ok:
        # the problem body names fields and rules, never values
        raise SeedError(f"{what}: {response.status_code} {response.text[:300]}")
    return response


def set_page_password(browser: httpx.Client, admin: httpx.Client, staff_id: str, password: str) -> None:
    """What a key adult does with the admin's one-time code: the page's set-password form (its CSRF token from
    the form and its cookie, kept by `browser`, which holds no admin key)."""
    code = _check(admin.post(f"/v1/key-adults/{staff_id}/password-link"), f"a set-password code for {staff_id}",
                  201).json()["code"]
    token = FORM_TOKEN.search(_check(browser.get("/page/set-password"), "the set-password form", 200).text)
    if token is None:
        raise SeedError("the set-password form has no CSRF token")
    _check(browser.post("/page/set-password", data={"staff_id": staff_id, "code": code, "password": password,
                                                    "password_again": password, "csrf_token": token.group(1)}),
           f"setting {staff_id}'s password on the page", 303)


def seed_directory(notifications_url: str, admin_key: str, receiver_url: str, secrets_file: Path,
                   schools: Sequence[SchoolEntry] | None = None, agencies: Sequence[AgencyEntry] | None = None,
                   timeout: float = 30.0) -> Seeded:
    """Put every entry (create or replace), rotate each webhook recipient's
    secret and hand the new ones to the receiver (`secrets_file`), and set
    every key adult's page password (through the page, with a one-time code).
    Idempotent but for the new secrets and passwords."""
    seeded = Seeded(list(school_plan() if schools is None else schools),
                    list(agency_plan() if agencies is None else agencies))
    new_secrets: dict[str, str] = {}
    with httpx.Client(base_url=notifications_url, headers={"Authorization": f"Bearer {admin_key}"},
                      timeout=timeout) as client, httpx.Client(base_url=notifications_url, timeout=timeout) as browser:
        for school in seeded.schools:
            _check(client.put(f"/v1/schools/{school.urn}", json=school.body(receiver_url)),
                   f"PUT /v1/schools/{school.urn}", 200, 201)
            if school.channel == WEBHOOK:
                new_secrets[school.path] = _check(client.post(f"/v1/schools/{school.urn}/signing-secrets"),
                                                  f"rotating {school.urn}'s secret", 201).json()["secret"]
            password = new_password()
            set_page_password(browser, client, school.staff_id, password)
            seeded.passwords[school.staff_id] = password
        for agency in seeded.agencies:
            _check(client.put(f"/v1/agencies/{agency.agency_id}", json=agency.body(receiver_url)),
                   f"PUT /v1/agencies/{agency.agency_id}", 200, 201)
            if agency.channel == WEBHOOK:
                new_secrets[agency.path] = _check(client.post(f"/v1/agencies/{agency.agency_id}/signing-secrets"),
                                                  f"rotating {agency.agency_id}'s secret", 201).json()["secret"]
    write_secrets(secrets_file, new_secrets)
    seeded.rotated = len(new_secrets)
    return seeded
