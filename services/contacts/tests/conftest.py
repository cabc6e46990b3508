"""Fixtures of the contacts service's tests."""

from __future__ import annotations

import pytest
from contacts_testkit import ContactFactory, make_contact


@pytest.fixture(name="make_contact")
def make_contact_fixture() -> ContactFactory:
    return make_contact
