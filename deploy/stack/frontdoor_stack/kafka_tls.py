"""A local certificate authority for the secured broker: a CA made on this
machine (its key is never written down: both are made again together) and
the broker's certificate for 127.0.0.1 and localhost, signed by it. PEM throughout:
Kafka reads them as its PEM key store and trust store, Python's clients
trust `ca.pem`.

The broker's certificate names it `CN=frontdoor-broker`: on the controller
listener, which asks for a client certificate, that is the principal the
broker side of the node is (`ssl.principal.mapping.rules`). Files are 0600
in a 0700 directory; made once and kept while the CA and the certificate
are more than a day from expiry."""

from __future__ import annotations

import datetime
import ipaddress
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from frontdoor_platform.private_files import private_directory

BROKER_NAME = "frontdoor-broker"
CA_NAME = "Front Door local Kafka CA"
VALID_FOR = datetime.timedelta(days=365)
RENEW_BEFORE = datetime.timedelta(days=1)


@dataclass(frozen=True)
class TlsFiles:
    ca_file: Path  # the CA's certificate: the clients' and the broker's trust store
    broker_pem: Path  # the broker's private key (PKCS#8) and its certificate chain: its key store


def _write_private(path: Path, data: bytes) -> None:
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(data)
    os.chmod(path, 0o600)


def _current(path: Path, now: datetime.datetime) -> bool:
    try:
        certificate = x509.load_pem_x509_certificate(path.read_bytes())
    except (OSError, ValueError):
        return False
    return certificate.not_valid_after_utc - now > RENEW_BEFORE


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Front Door local stack"),
                      x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _pkcs8(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _ca(now: datetime.datetime) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = _name(CA_NAME)
    certificate = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + VALID_FOR)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                     content_commitment=False, key_encipherment=False, data_encipherment=False,
                                     key_agreement=False, encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return key, certificate


def _broker(ca_key: ec.EllipticCurvePrivateKey, ca: x509.Certificate, now: datetime.datetime
            ) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = ec.generate_private_key(ec.SECP256R1())
    names = x509.SubjectAlternativeName([x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))])
    certificate = (
        x509.CertificateBuilder().subject_name(_name(BROKER_NAME)).issuer_name(ca.subject)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + VALID_FOR)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(names, critical=False)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]),
                       critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    return key, certificate


def ensure_tls(directory: Path) -> TlsFiles:
    """The CA and the broker's certificate in `directory`, made (or made again, near expiry) when needed."""
    private_directory(directory, tighten=True)
    files = TlsFiles(directory / "ca.pem", directory / "broker.pem")
    now = datetime.datetime.now(datetime.UTC)
    if _current(files.ca_file, now) and _current(files.broker_pem, now):
        return files
    ca_key, ca = _ca(now)
    key, certificate = _broker(ca_key, ca, now)
    pem = serialization.Encoding.PEM
    _write_private(files.ca_file, ca.public_bytes(pem))
    _write_private(files.broker_pem, _pkcs8(key) + certificate.public_bytes(pem) + ca.public_bytes(pem))
    return files
