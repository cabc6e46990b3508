"""End-to-end fixtures: the contacts service against the session's real broker."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from contacts_e2e_kit import ContactsService, start_contacts, stop


@pytest.fixture(scope="session")
def contacts_service(kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ContactsService]:
    # DEBUG: the most verbose log, which test_logs_have_no_personal_data reads.
    process, service = start_contacts(tmp_path_factory.mktemp("contacts"), kafka_bootstrap,
                                      env_overrides={"CONTACTS_LOG_LEVEL": "DEBUG"})
    yield service
    stop(process)
