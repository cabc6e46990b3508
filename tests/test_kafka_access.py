"""The secured broker's set-up, without a broker: passwords made once and kept private, the local CA and the
broker's certificate, the broker settings a secured node runs with, and what the stack tool reads back."""

from __future__ import annotations

import json
import ssl
import stat
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID

from frontdoor_stack import kafka_access
from frontdoor_stack.acls import ADMIN, BROKER, principals
from frontdoor_stack.kafka_broker import KafkaBroker


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_every_principal_gets_a_password_made_once_and_kept_0600(tmp_path: Path) -> None:
    first = kafka_access.prepare(tmp_path)
    assert set(first.passwords) == {*principals(), ADMIN, BROKER}
    assert len(set(first.passwords.values())) == len(first.passwords)  # each its own
    assert all(len(password) >= 32 for password in first.passwords.values())
    assert mode(tmp_path / "principals.json") == 0o600 and mode(tmp_path / "tls") == 0o700
    again = kafka_access.prepare(tmp_path, names=[*principals(), "a-new-partner"])
    assert {k: v for k, v in again.passwords.items() if k != "a-new-partner"} == dict(first.passwords)
    assert json.loads((tmp_path / "principals.json").read_text()) == dict(again.passwords)
    assert "passwords" not in repr(first) and first.passwords[ADMIN] not in repr(first)


def test_the_broker_certificate_is_the_local_cas_for_this_machine_only(tmp_path: Path) -> None:
    tls = kafka_access.prepare(tmp_path).tls
    ca = x509.load_pem_x509_certificate(tls.ca_file.read_bytes())
    broker = x509.load_pem_x509_certificate(tls.broker_pem.read_bytes())
    assert broker.issuer == ca.subject
    assert isinstance(ca.public_key(), ec.EllipticCurvePublicKey)
    broker.verify_directly_issued_by(ca)
    names = broker.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert sorted(map(str, names.get_values_for_type(x509.IPAddress))) == ["127.0.0.1"]
    assert names.get_values_for_type(x509.DNSName) == ["localhost"]
    usages = broker.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert ExtendedKeyUsageOID.CLIENT_AUTH in usages  # the controller listener asks the broker for it
    assert b"PRIVATE KEY" in tls.broker_pem.read_bytes() and b"PRIVATE KEY" not in tls.ca_file.read_bytes()
    assert not (tmp_path / "tls" / "ca-key.pem").exists()  # the CA's key is never written
    assert mode(tls.broker_pem) == 0o600
    context = ssl.create_default_context(cafile=str(tls.ca_file))  # Python's clients take it as it is
    assert context.cert_store_stats()["x509_ca"] == 1
    assert kafka_access.prepare(tmp_path).tls.ca_file.read_bytes() == tls.ca_file.read_bytes()  # kept


def test_a_secured_node_has_no_plaintext_listener_and_denies_what_no_acl_allows(tmp_path: Path) -> None:
    broker = KafkaBroker(tmp_path, port=19092, controller_port=19093, secured=True)
    broker.access = kafka_access.prepare(tmp_path)
    broker.write_properties()
    text = broker.properties_file.read_text()
    settings = dict(line.split("=", 1) for line in text.splitlines() if line and not line.startswith("#"))
    assert settings["listeners"] == "SASL_SSL://127.0.0.1:19092,CONTROLLER://127.0.0.1:19093"
    assert settings["listener.security.protocol.map"] == "SASL_SSL:SASL_SSL,CONTROLLER:SSL"
    assert "PLAINTEXT" not in settings["listeners"] + settings["advertised.listeners"]
    assert settings["allow.everyone.if.no.acl.found"] == "false"
    assert settings["super.users"] == f"User:{ADMIN};User:{BROKER}"
    assert settings["listener.name.controller.ssl.client.auth"] == "required"
    assert settings["auto.create.topics.enable"] == "false"  # the template's own settings are kept
    assert list(settings).count("listeners") == 1
    assert mode(broker.properties_file) == 0o600  # it holds the broker's own password
    assert kafka_access.load(tmp_path) is not None


def test_the_plaintext_default_is_todays_broker_and_reads_back_as_plaintext(tmp_path: Path) -> None:
    broker = KafkaBroker(tmp_path, port=19092, controller_port=19093)
    broker.write_properties()
    text = broker.properties_file.read_text()
    assert "listeners=PLAINTEXT://127.0.0.1:19092,CONTROLLER://127.0.0.1:19093" in text
    assert "sasl" not in text.lower() and "authorizer" not in text
    kafka_access.prepare(tmp_path)  # even with passwords lying there
    assert kafka_access.load(tmp_path) is None


def test_the_access_tool_reads_users_and_acls_from_its_input_never_its_command_line(tmp_path: Path) -> None:
    access = kafka_access.prepare(tmp_path)
    lines = kafka_access.tool_input(access, "127.0.0.1:19092", []).splitlines()
    users = {line.split("\t")[1] for line in lines if line.startswith("scram\t")}
    assert users == {*principals(), ADMIN}  # the broker's own is made at format time, used by the node alone
    arguments = kafka_access.format_arguments(access)
    assert len(arguments) == 2 * len(access.passwords)
