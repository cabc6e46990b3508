import pytest

from allocation.settings import Settings


def test_settings_read_the_service_env_prefix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALLOCATION_PORT", "9999")
    monkeypatch.setenv("ALLOCATION_KAFKA_BOOTSTRAP", "broker:1")
    monkeypatch.setenv("ALLOCATION_DATABASE_URL", "sqlite:///x.db")
    settings = Settings()
    assert (settings.port, settings.kafka_bootstrap, settings.database_url) == (9999, "broker:1", "sqlite:///x.db")
