"""How a Kafka client connects, written once: plaintext (the local broker
`make run` starts), or SASL SCRAM-SHA-512 over TLS as the service's own
principal, trusting the CA file the settings name.

    security = KafkaSecurity.of(settings)
    AIOKafkaProducer(bootstrap_servers=..., **security.client_kwargs())
    faust.App(..., broker_credentials=security.faust_credentials())

The password never appears in a repr, a log line or an error."""

from __future__ import annotations

import ssl
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from .settings import ServiceSettings

Protocol = Literal["plaintext", "sasl_ssl"]
MECHANISM = "SCRAM-SHA-512"


@dataclass(frozen=True)
class KafkaSecurity:
    protocol: Protocol = "plaintext"
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    ca_file: Path | None = None

    @staticmethod
    def of(settings: ServiceSettings) -> KafkaSecurity:
        """A service's connection, from its settings (`<PREFIX>KAFKA_SECURITY` and the rest)."""
        if settings.kafka_security == "plaintext":
            return PLAINTEXT
        password = settings.kafka_password.get_secret_value() if settings.kafka_password is not None else None
        return KafkaSecurity("sasl_ssl", settings.kafka_username, password, settings.kafka_ca_file)

    @staticmethod
    def sasl_ssl(username: str, password: str, ca_file: Path | None) -> KafkaSecurity:
        return KafkaSecurity("sasl_ssl", username, password, ca_file)

    @property
    def secured(self) -> bool:
        return self.protocol == "sasl_ssl"

    def ssl_context(self) -> ssl.SSLContext:
        """TLS 1.2 or later, the broker's certificate checked against the CA file (and its name or address)."""
        context = ssl.create_default_context(cafile=str(self.ca_file) if self.ca_file is not None else None)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        return context

    def client_kwargs(self) -> dict[str, Any]:
        """aiokafka's keyword arguments (producer, consumer, admin client): nothing for plaintext."""
        if not self.secured:
            return {}
        return {"security_protocol": "SASL_SSL", "sasl_mechanism": MECHANISM, "sasl_plain_username": self.username,
                "sasl_plain_password": self.password, "ssl_context": self.ssl_context()}

    def faust_credentials(self) -> Any:
        """faust's `broker_credentials` (None for plaintext). faust is imported only here, by those that run it."""
        if not self.secured:
            return None
        import faust

        return faust.SASLCredentials(username=self.username, password=self.password, ssl_context=self.ssl_context(),
                                     mechanism=MECHANISM)


PLAINTEXT = KafkaSecurity()
