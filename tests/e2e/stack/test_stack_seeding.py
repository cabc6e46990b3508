"""`frontdoor-stack run|up` starts the demo school system beside the
services and seeds the notifications directory through the admin API:
every demo school, its key adult's page password, the agencies and the
Early Help manager; the summary and the 0600 credentials file say where to
sign in, as whom, and give a school-scoped inbox key."""

from __future__ import annotations

import re
import stat
from pathlib import Path

import httpx
import pytest

from frontdoor_stack.demo import DEMO_AGENCIES, EARLY_HELP_MANAGER, SCHOOL_URNS
from frontdoor_stack.kafka_broker import free_port
from frontdoor_stack.school_receiver import ReceiverProcess, read_secrets
from frontdoor_stack.seed import WEBHOOK
from frontdoor_stack.stack import RECEIVER, LocalStack, running_pid, stop_recorded, write_pid

pytestmark = pytest.mark.e2e


def test_every_demo_school_is_in_the_directory_with_a_realistic_mix(
        stack: LocalStack, notifications_url: str, admin: dict[str, str], receiver_url: str) -> None:
    schools = httpx.get(f"{notifications_url}/v1/schools", headers=admin, timeout=10).json()
    assert sorted(s["urn"] for s in schools) == sorted(SCHOOL_URNS)
    channels = [s["channel"] for s in schools]
    assert channels.count("webhook") > len(schools) / 2
    assert channels.count("inbox") >= 2 and channels.count("email") >= 1
    for school in schools:
        assert len(school["key_adults"]) == 1
        if school["channel"] == "webhook":
            assert school["webhook_url"] == f"{receiver_url}/webhooks/schools/{school['urn']}"
            assert school["signing_secrets"] >= 1
        if school["channel"] == "email":
            assert school["alert_email"].endswith(".example")


def test_the_agencies_and_the_early_help_manager_are_in_the_directory(
        notifications_url: str, admin: dict[str, str]) -> None:
    agencies = {a["recipient_id"]: a for a in httpx.get(f"{notifications_url}/v1/agencies", headers=admin,
                                                        timeout=10).json()}
    wanted = {f"agency:{agency_id}" for agency_id, _, _ in DEMO_AGENCIES} | {f"agency:{EARLY_HELP_MANAGER}"}
    assert wanted <= set(agencies)
    assert agencies[f"agency:{EARLY_HELP_MANAGER}"]["channel"] == "email"


def test_the_receiver_was_handed_every_webhook_recipients_fresh_secret(stack: LocalStack) -> None:
    assert stack.seeded is not None
    assert stat.S_IMODE(stack.secrets_file.stat().st_mode) == 0o600
    handed = read_secrets(stack.secrets_file)
    webhook = [s.path for s in stack.seeded.schools if s.channel == WEBHOOK]
    webhook += [a.path for a in stack.seeded.agencies if a.channel == WEBHOOK]
    assert webhook and all(handed.get(path) for path in webhook)
    assert stack.seeded.rotated == len(webhook)


def test_the_summary_and_the_credentials_file_say_where_to_sign_in_and_as_whom(
        stack: LocalStack, notifications_url: str) -> None:
    summary = stack.summary()
    assert stack.seeded is not None and stack.school_key is not None
    school = stack.seeded.demo_school()
    password = stack.seeded.passwords[school.staff_id]
    assert "/page/" in summary and school.staff_id in summary and password in summary
    assert stack.school_key.api_key in summary
    credentials = stack.root / "credentials"
    assert stat.S_IMODE(credentials.stat().st_mode) == 0o600
    text = credentials.read_text()
    assert f"staff_id={school.staff_id} school={school.urn} password={password}" in text
    assert f"scope={school.urn} api_key={stack.school_key.api_key}" in text
    assert all(f"staff_id={s.staff_id} " in text for s in stack.seeded.schools)


def test_the_demo_key_adult_signs_in_to_the_page_with_the_generated_password(
        stack: LocalStack, notifications_url: str) -> None:
    assert stack.seeded is not None
    school = stack.seeded.demo_school()
    with httpx.Client(base_url=notifications_url, timeout=10) as browser:
        form = browser.get("/page/sign-in")
        token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
        assert token, form.text[:300]
        wrong = browser.post("/page/sign-in", data={"csrf_token": token.group(1), "staff_id": school.staff_id,
                                                    "password": "not-the-password-at-all"})
        assert wrong.status_code == 401
        signed = browser.post("/page/sign-in", data={"csrf_token": token.group(1), "staff_id": school.staff_id,
                                                     "password": stack.seeded.passwords[school.staff_id]})
        assert signed.status_code == 303 and "fd_page_session" in signed.cookies
        page = browser.get("/page/")
        assert page.status_code == 200 and school.name in page.text


def test_the_school_key_reads_its_own_inbox_only(stack: LocalStack, notifications_url: str) -> None:
    assert stack.school_key is not None
    headers = {"Authorization": f"Bearer {stack.school_key.api_key}"}
    assert httpx.get(f"{notifications_url}/v1/inbox", headers=headers, timeout=10).status_code == 200
    assert httpx.get(f"{notifications_url}/v1/schools", headers=headers, timeout=10).status_code == 403


def test_the_receiver_runs_under_its_pid_file(stack: LocalStack, receiver_url: str) -> None:
    pid = running_pid(stack.root, RECEIVER)
    assert pid is not None and stack.receiver is not None and stack.receiver.process is not None
    assert pid == stack.receiver.process.pid
    assert httpx.get(f"{receiver_url}/received", timeout=5).json().keys() >= {"verified", "rejected", "duplicates"}


def test_down_stops_a_recorded_receiver(tmp_path: Path) -> None:
    receiver = ReceiverProcess(free_port(), tmp_path / "secrets.json", tmp_path / "receiver.log")
    receiver.start()
    assert receiver.process is not None
    try:
        receiver.wait_healthy()
        write_pid(tmp_path, RECEIVER, receiver.process.pid)
        assert running_pid(tmp_path, RECEIVER) == receiver.process.pid
        assert stop_recorded(tmp_path) == [RECEIVER]
        receiver.process.wait(timeout=10)
        assert stop_recorded(tmp_path) == []  # again: harmless
    finally:
        receiver.stop()



def test_the_demo_staff_sign_in_to_the_board_and_the_chronology_with_the_printed_passwords(
        stack: LocalStack) -> None:
    summary, credentials = stack.summary(), (stack.root / "credentials").read_text()
    urls = {spec.name: spec.base_url for spec in stack.services}
    assert {(login.service, login.role) for login in stack.staff} == \
        {("allocation", "coordinator"), ("allocation", "agency"), ("outcomes", "manager")}
    for login in stack.staff:
        assert f"{urls[login.service]}{login.page}" in summary and login.password in summary
        assert login.line() in credentials
        prefix = login.page.rstrip("/")
        with httpx.Client(base_url=urls[login.service], timeout=10) as browser:
            form = browser.get(f"{prefix}/sign-in")
            token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
            assert token, form.text[:300]
            wrong = browser.post(f"{prefix}/sign-in", data={"csrf_token": token.group(1), "staff_id": login.staff_id,
                                                            "password": "not-the-password-at-all"})
            assert wrong.status_code == 401
            signed = browser.post(f"{prefix}/sign-in", data={"csrf_token": token.group(1),
                                                             "staff_id": login.staff_id, "password": login.password})
            assert signed.status_code == 303, signed.text[:300]
            page = browser.get(login.page)
            assert page.status_code == 200 and "sign-in" not in str(page.url), page.text[:300]
            assert login.staff_id in page.text  # the page says who is signed in
