import socket

import httpx
import pytest

from outcomes.api import create_app
from outcomes.settings import Settings


def client(settings: Settings) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app(settings)), base_url="http://test")


def unused_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_healthz() -> None:
    async with client(Settings()) as http:
        response = await http.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_metrics_are_prometheus_text_with_service_prefix() -> None:
    async with client(Settings()) as http:
        response = await http.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    assert "frontdoor_outcomes_up 1.0" in response.text
    assert 'frontdoor_outcomes_build_info{version=' in response.text


async def test_not_ready_without_a_broker() -> None:
    async with client(Settings(kafka_bootstrap=f"127.0.0.1:{unused_port()}")) as http:
        response = await http.get("/readyz")
    assert response.status_code == 503


async def test_ready_when_the_broker_answers() -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        async with client(Settings(kafka_bootstrap=f"127.0.0.1:{port}")) as http:
            response = await http.get("/readyz")
            metrics = await http.get("/metrics")
    assert response.status_code == 200
    assert 'frontdoor_outcomes_readiness_checks_total{result="ready"} 1.0' in metrics.text

def test_settings_read_the_service_env_prefix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OUTCOMES_PORT", "9999")
    monkeypatch.setenv("OUTCOMES_KAFKA_BOOTSTRAP", "broker:1")
    monkeypatch.setenv("OUTCOMES_DATABASE_URL", "sqlite:///x.db")
    settings = Settings()
    assert (settings.port, settings.kafka_bootstrap, settings.database_url) == (9999, "broker:1", "sqlite:///x.db")
