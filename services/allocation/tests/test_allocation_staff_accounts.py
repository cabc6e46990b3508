"""`frontdoor-allocation accounts add`: a staff account for the board's pages with a one-time set-password
link printed (the kit's command), the service's page roles only, an agency account bound to its agency."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlmodel import Session, select

from allocation.main import main
from allocation.models import StaffAccountRow, StaffLinkRow
from frontdoor_platform.database import build_engine


def test_accounts_add_prints_a_set_password_link_and_keeps_the_agency(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite:///{tmp_path / 'allocation.db'}"
    monkeypatch.setenv("ALLOCATION_DATABASE_URL", url)
    assert main(["accounts", "add", "--staff-id", "staff-9", "--role", "agency", "--scope", "school-100001"]) == 0
    printed = capsys.readouterr().out
    assert "http://127.0.0.1:8002/board/password/" in printed
    engine = build_engine(url)
    with Session(engine) as db:
        account = db.get(StaffAccountRow, "staff-9")
        assert account is not None and account.password_hash is None
        assert (account.staff_roles(), account.staff_scope()) == (frozenset({"agency"}), "school-100001")
        assert len(list(db.exec(select(StaffLinkRow)).all())) == 1
    engine.dispose()
    assert main(["accounts", "add", "--staff-id", "auditor", "--role", "admin"]) == 2  # the API's role only
    assert "--role must be one of: agency, coordinator, read" in capsys.readouterr().err
