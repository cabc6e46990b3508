"""How a service connects to Kafka, from its settings: plaintext by default, SASL SCRAM-SHA-512 over TLS when
configured, plaintext refused in production; and the consumer's check of a record's source against its topic."""

from __future__ import annotations

import json
import ssl
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
from aiokafka import ConsumerRecord
from kit_tables import KitOutbox
from pydantic import ValidationError
from pydantic_settings import SettingsConfigDict
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from frontdoor_contracts.envelope import CloudEvent
from frontdoor_contracts.errors import parse_event
from frontdoor_contracts.partners import AttendanceRecorded
from frontdoor_contracts.topics import PARTNERS_ATTENDANCE
from frontdoor_platform.consumer import BatchConsumer
from frontdoor_platform.kafka_security import PLAINTEXT, KafkaSecurity
from frontdoor_platform.metrics import KitMetrics
from frontdoor_platform.outbox import stored_headers
from frontdoor_platform.routes import Consumed, Route, Routes
from frontdoor_platform.settings import ServiceSettings

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
EXAMPLE = Path(__file__).parents[3] / "contracts" / "examples" / "uk.gov.frontdoor.partners.attendance-recorded.v1.json"


class KitSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="KIT_", extra="ignore")


def test_plaintext_is_the_default_and_adds_nothing_to_a_client(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FRONTDOOR_ENV", raising=False)
    settings = KitSettings()
    assert settings.environment == "development" and settings.kafka_security == "plaintext"
    assert KafkaSecurity.of(settings) == PLAINTEXT and PLAINTEXT.client_kwargs() == {}
    assert PLAINTEXT.faust_credentials() is None


def test_production_refuses_plaintext_at_start_naming_the_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FRONTDOOR_ENV", "production")
    with pytest.raises(ValidationError) as refused:
        KitSettings()
    assert "kafka_security" in str(refused.value) and "FRONTDOOR_ENV=production" in str(refused.value)
    with pytest.raises(ValidationError):
        KitSettings(kafka_security="plaintext")


def test_production_takes_sasl_ssl_from_the_services_own_prefix(monkeypatch: pytest.MonkeyPatch,
                                                                tmp_path: Path) -> None:
    ca = tmp_path / "ca.pem"
    ca.write_text("")
    monkeypatch.setenv("FRONTDOOR_ENV", "production")
    monkeypatch.setenv("KIT_KAFKA_SECURITY", "sasl_ssl")
    monkeypatch.setenv("KIT_KAFKA_USERNAME", "kit")
    monkeypatch.setenv("KIT_KAFKA_PASSWORD", "s3cret-kit-password")
    monkeypatch.setenv("KIT_KAFKA_CA_FILE", str(ca))
    settings = KitSettings()
    security = KafkaSecurity.of(settings)
    assert settings.environment == "production"
    assert security == KafkaSecurity("sasl_ssl", "kit", "s3cret-kit-password", ca)
    assert "s3cret-kit-password" not in repr(settings) and "s3cret-kit-password" not in repr(security)


@pytest.mark.parametrize("missing", ["kafka_username", "kafka_password"])
def test_sasl_ssl_without_a_username_or_password_is_refused_naming_it(missing: str) -> None:
    given = {"kafka_security": "sasl_ssl", "kafka_username": "kit", "kafka_password": "pw"}
    del given[missing]
    with pytest.raises(ValidationError) as refused:
        KitSettings(**given)  # type: ignore[arg-type]
    assert missing in str(refused.value)


def test_a_ca_file_that_is_not_there_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValidationError) as refused:
        KitSettings(kafka_security="sasl_ssl", kafka_username="kit", kafka_password="pw",  # type: ignore[arg-type]
                    kafka_ca_file=tmp_path / "nowhere.pem")
    assert "kafka_ca_file" in str(refused.value)


def test_sasl_ssl_gives_aiokafka_scram_over_tls_checking_the_brokers_name() -> None:
    kwargs = KafkaSecurity.sasl_ssl("kit", "pw", None).client_kwargs()
    context = kwargs.pop("ssl_context")
    assert kwargs == {"security_protocol": "SASL_SSL", "sasl_mechanism": "SCRAM-SHA-512",
                      "sasl_plain_username": "kit", "sasl_plain_password": "pw"}
    assert isinstance(context, ssl.SSLContext) and context.check_hostname
    assert context.verify_mode == ssl.CERT_REQUIRED and context.minimum_version >= ssl.TLSVersion.TLSv1_2
    credentials = KafkaSecurity.sasl_ssl("kit", "pw", None).faust_credentials()
    assert credentials.username == "kit" and credentials.mechanism.value == "SCRAM-SHA-512"
    assert credentials.protocol.value == "SASL_SSL"


# -- the consumer's check of a record's source ---------------------------------------------------------------------

def attendance(source: str) -> bytes:
    document = json.loads(EXAMPLE.read_text())
    return json.dumps({**document, "id": str(uuid.uuid4()), "source": source}).encode()


def record(offset: int, value: bytes) -> ConsumerRecord[bytes, bytes]:
    return ConsumerRecord(topic=PARTNERS_ATTENDANCE.name, partition=0, offset=offset, timestamp=0, timestamp_type=0,
                          key=b"k", value=value, checksum=None, serialized_key_size=1,
                          serialized_value_size=len(value), headers=[])


def test_the_consumer_dead_letters_a_record_claiming_a_producer_its_topic_does_not_declare(engine: Engine) -> None:
    applied: list[str] = []

    def apply(session: Session, event: CloudEvent[AttendanceRecorded], where: Consumed) -> None:
        applied.append(event.source)

    routes = Routes().add(PARTNERS_ATTENDANCE.name, Route(
        decode=lambda raw: parse_event(raw, AttendanceRecorded), apply=apply))
    consumer = BatchConsumer(bootstrap="unused:9092", group="g", client_id="kit", routes=routes, engine=engine,
                             outbox=KitOutbox, metrics=KitMetrics("kit"), clock=lambda: NOW)
    batch = [record(0, attendance("urn:frontdoor:contacts")),  # contacts does not produce partner data
             record(1, attendance("urn:frontdoor:contacts:api:anyone")),
             record(2, attendance("urn:la:data-team"))]  # a partner's own source: its principal's topic
    result = consumer.apply_batch(batch)
    assert applied == ["urn:la:data-team"]
    assert [reason for _, reason in result.dead_lettered] == ["source_not_allowed", "source_not_allowed"]
    with Session(engine) as session:
        dead = session.exec(select(KitOutbox).where(col(KitOutbox.topic) == "partners.attendance.v1.dlq")).all()
    assert [dict(stored_headers(row))["dlq.field"] for row in dead] == [b"source", b"source"]
