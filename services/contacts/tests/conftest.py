"""Fixtures of the contacts service's tests: the contact factory, and for the in-process API tests the
service's settings on a SQLite file of the test's own and that database migrated (the integration tests'
`engine`, on SQLite and PostgreSQL, is their own conftest's)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from contacts_testkit import ContactFactory, make_contact
from sqlalchemy.engine import Engine

from contacts.migrations import migrate
from contacts.settings import Settings
from frontdoor_platform.database import build_engine


@pytest.fixture(name="make_contact")
def make_contact_fixture() -> ContactFactory:
    return make_contact


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(database_url=f"sqlite:///{tmp_path / 'contacts.db'}", run_consumer=False)


@pytest.fixture
def engine(settings: Settings) -> Iterator[Engine]:
    built = build_engine(settings.database_url)
    migrate(built)
    yield built
    built.dispose()
