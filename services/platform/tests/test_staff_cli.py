"""`accounts add`, the command each service's CLI gains: an account with its
roles and scope and a one-time set-password link printed (which then works
on the page); roles outside the service's refused; `--password` sets one
for development and is refused in production, naming the option, never
echoing the password."""

from __future__ import annotations

import argparse
import re
from pathlib import Path
from types import SimpleNamespace

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session
from staff_kit_tables import PAGES, KitStaffAccount, StaffKitTable, staff_app, staff_engine

from frontdoor_platform.clock import utc_now
from frontdoor_platform.database import build_engine
from frontdoor_platform.staff.cli import PASSWORD_REFUSED, accounts_command


class CreateAll:
    """The tiny service's schema: its tables made (a real service migrates)."""

    @staticmethod
    def migrate(engine: Engine) -> None:
        StaffKitTable.metadata.create_all(engine)


def run(tmp_path: Path, *argv: str, environment: str = "development") -> int:
    command = accounts_command(PAGES, CreateAll(), base_url=lambda _: "http://127.0.0.1:8002")  # type: ignore[arg-type]
    parser = argparse.ArgumentParser()
    command.configure(parser)
    settings = SimpleNamespace(database_url=f"sqlite:///{tmp_path / 'staff.db'}", environment=environment,
                               source_uri="urn:test")
    return command.run(parser.parse_args(list(argv)), settings)


def test_an_account_is_added_with_a_link_that_sets_its_password(tmp_path: Path,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    assert run(tmp_path, "add", "--staff-id", "coord-1", "--role", "coordinator", "--scope", "agency-a") == 0
    printed = capsys.readouterr().out
    link = re.search(r"http://127\.0\.0\.1:8002(/board/password/[A-Z0-9-]+)", printed)
    assert link is not None
    engine = staff_engine(tmp_path)  # the same file: the account is there
    with Session(engine) as db:
        account = db.get(KitStaffAccount, "coord-1")
        assert account is not None and account.password_hash is None
        assert (account.staff_roles(), account.staff_scope()) == (frozenset({"coordinator"}), "agency-a")
    with TestClient(staff_app(engine, utc_now)) as client:  # the command's clock
        form = client.get(link.group(1))
        token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
        code = re.search(r'id="code" name="code" value="([^"]+)"', form.text)
        assert token is not None and code is not None
        done = client.post("/board/set-password", data={
            "staff_id": "coord-1", "code": code.group(1), "password": "a long new passphrase",
            "password_again": "a long new passphrase", "csrf_token": token.group(1)}, follow_redirects=False)
        assert done.status_code == 303 and done.headers["location"] == "/board/sign-in?done=password-set"
    engine.dispose()


def test_a_role_the_service_does_not_have_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(tmp_path, "add", "--staff-id", "x-1", "--role", "superuser") == 2
    assert "--role must be one of: agency, coordinator" in capsys.readouterr().err
    engine = build_engine(f"sqlite:///{tmp_path / 'staff.db'}")
    StaffKitTable.metadata.create_all(engine)
    with Session(engine) as db:
        assert db.get(KitStaffAccount, "x-1") is None
    engine.dispose()


def test_a_development_password_is_set_and_refused_in_production(tmp_path: Path,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    secret = "demo coordinator passphrase"
    assert run(tmp_path, "add", "--staff-id", "p-1", "--role", "coordinator", "--password", secret,
               environment="production") == 2
    refused = capsys.readouterr()
    assert PASSWORD_REFUSED in refused.err and secret not in refused.err + refused.out
    assert run(tmp_path, "add", "--staff-id", "d-1", "--role", "coordinator", "--password", secret) == 0
    assert "password set (development only)" in capsys.readouterr().out
    engine = staff_engine(tmp_path)
    with Session(engine) as db:
        assert db.get(KitStaffAccount, "p-1") is None
        account = db.get(KitStaffAccount, "d-1")
        assert account is not None and (account.password_hash or "").startswith("$argon2id$")
    engine.dispose()
