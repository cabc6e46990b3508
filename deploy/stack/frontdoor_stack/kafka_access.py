"""The secured local broker's doors: who may connect (a SCRAM-SHA-512 user
per service and per outside system, plus the stack's admin and the broker
itself), over what (TLS from the stack's own CA, `kafka_tls.py`), and what
each may do (the ACLs of `acls.py`).

Passwords are random, made once per broker directory and kept in
`<broker dir>/principals.json` (0600, the directory 0700) so a restarted
stack keeps them; each service is handed its own in its environment. They
never reach a command line (other users of the machine could read it): the
storage format gets them in an argument file, Kafka's admin API on its
standard input.

`apply_access` runs deploy/kafka/FrontdoorAccess.java with Kafka's own Java
admin API: every user upserted, the ACLs made exactly `acl_bindings()`."""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from frontdoor_platform.kafka_security import MECHANISM, KafkaSecurity

from .acls import ADMIN, BROKER, AclBinding, acl_bindings, principals
from .kafka_tls import TlsFiles, ensure_tls
from .paths import kafka_deploy_dir

PRINCIPALS_FILE = "principals.json"
TLS_DIR = "tls"
TOOL = "FrontdoorAccess.java"
SECURITY_MARKER = "security"  # in the data directory: how it was formatted (plaintext | sasl_ssl)


class KafkaAccessError(RuntimeError):
    pass


@dataclass(frozen=True)
class KafkaAccess:
    tls: TlsFiles
    passwords: Mapping[str, str] = field(repr=False)

    @property
    def ca_file(self) -> Path:
        return self.tls.ca_file

    def connection(self, name: str) -> KafkaSecurity:
        """`name`'s connection (a service, an outside system, or ADMIN)."""
        return KafkaSecurity.sasl_ssl(name, self.passwords[name], self.ca_file)

    @property
    def admin(self) -> KafkaSecurity:
        return self.connection(ADMIN)

    def service_env(self, name: str, prefix: str) -> dict[str, str]:
        """What a service is started with to connect as its own principal (`<PREFIX>_KAFKA_...`)."""
        return {f"{prefix}_KAFKA_SECURITY": "sasl_ssl", f"{prefix}_KAFKA_USERNAME": name,
                f"{prefix}_KAFKA_PASSWORD": self.passwords[name], f"{prefix}_KAFKA_CA_FILE": str(self.ca_file)}


def _jaas(name: str, password: str) -> str:
    return (f'org.apache.kafka.common.security.scram.ScramLoginModule required username="{name}" '
            f'password="{password}";')


def _write_private(path: Path, text: str) -> None:
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(text)
    os.chmod(path, 0o600)


def prepare(workdir: Path, names: Iterable[str] | None = None) -> KafkaAccess:
    """Passwords for every principal (those kept from before, new ones made) and the TLS files, in `workdir`."""
    wanted = (*(principals() if names is None else names), ADMIN, BROKER)
    path = workdir / PRINCIPALS_FILE
    try:
        kept: dict[str, str] = json.loads(path.read_text())
    except (OSError, ValueError):
        kept = {}
    passwords = {name: kept.get(name) or secrets.token_urlsafe(24) for name in wanted}
    if passwords != kept:
        _write_private(path, json.dumps(passwords, indent=1, sort_keys=True) + "\n")
    return KafkaAccess(ensure_tls(workdir / TLS_DIR), passwords)


def load(workdir: Path) -> KafkaAccess | None:
    """The access of the broker last started from `workdir` if it was secured (its properties say SASL_SSL), as
    `prepare` left it; None for a plaintext broker or none (`frontdoor-stack demo` and `seeds` ask). A cluster's
    nodes keep their properties in `node-<id>/` and share the principals and TLS files of `workdir` (the layout
    last started is the one whose properties were written last)."""
    written = [path for path in (workdir / "server.properties", workdir / "node-1" / "server.properties")
               if path.is_file()]
    try:
        secured = "SASL_SSL://" in max(written, key=lambda path: path.stat().st_mtime).read_text()
        passwords = json.loads((workdir / PRINCIPALS_FILE).read_text())
    except (OSError, ValueError):
        return None
    tls = TlsFiles(workdir / TLS_DIR / "ca.pem", workdir / TLS_DIR / "broker.pem")
    return KafkaAccess(tls, passwords) if secured and tls.ca_file.is_file() else None


def broker_settings(access: KafkaAccess, port: int, controller_port: int) -> dict[str, str]:
    """The settings a secured node adds to (or changes in) deploy/kafka/server.properties.template: SASL_SSL
    for clients, the controller listener on TLS asking for the broker's own certificate, the StandardAuthorizer
    denying whatever no ACL allows."""
    ca, keys = str(access.ca_file), str(access.tls.broker_pem)
    return {
        "listeners": f"SASL_SSL://127.0.0.1:{port},CONTROLLER://127.0.0.1:{controller_port}",
        "advertised.listeners": f"SASL_SSL://127.0.0.1:{port}",
        "listener.security.protocol.map": "SASL_SSL:SASL_SSL,CONTROLLER:SSL",
        "inter.broker.listener.name": "SASL_SSL",
        "sasl.enabled.mechanisms": MECHANISM,
        "sasl.mechanism.inter.broker.protocol": MECHANISM,
        "listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config": _jaas(BROKER, access.passwords[BROKER]),
        "ssl.keystore.type": "PEM",
        "ssl.keystore.location": keys,
        "ssl.truststore.type": "PEM",
        "ssl.truststore.location": ca,
        "ssl.enabled.protocols": "TLSv1.3,TLSv1.2",
        "listener.name.controller.ssl.client.auth": "required",
        "ssl.principal.mapping.rules": "RULE:^.*CN=([^,]+).*$/$1/,DEFAULT",  # CN=frontdoor-broker -> frontdoor-broker
        "authorizer.class.name": "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
        "allow.everyone.if.no.acl.found": "false",
        "super.users": f"User:{ADMIN};User:{BROKER}",
    }


def merged(properties: str, settings: dict[str, str]) -> str:
    """`properties` with each of `settings` replacing its line, or added at the end."""
    left = dict(settings)
    lines = []
    for line in properties.splitlines():
        key = line.split("=", 1)[0] if "=" in line and not line.startswith("#") else None
        lines.append(f"{key}={left.pop(key)}" if key in left else line)
    return "\n".join([*lines, *(f"{key}={value}" for key, value in left.items())]) + "\n"


def format_arguments(access: KafkaAccess) -> list[str]:
    """StorageTool's `--add-scram` for every user (its argument file's lines, never its command line)."""
    return [argument for name, password in sorted(access.passwords.items())
            for argument in ("--add-scram", f"{MECHANISM}=[name={name},password={password}]")]


def tool_input(access: KafkaAccess, bootstrap: str, bindings: Iterable[AclBinding]) -> str:
    """FrontdoorAccess.java's standard input: the admin client's settings, every user, every ACL."""
    config = {"bootstrap.servers": bootstrap, "security.protocol": "SASL_SSL", "sasl.mechanism": MECHANISM,
              "sasl.jaas.config": _jaas(ADMIN, access.passwords[ADMIN]), "ssl.truststore.type": "PEM",
              "ssl.truststore.location": str(access.ca_file), "request.timeout.ms": "30000"}
    lines = [f"config\t{key}\t{value}" for key, value in config.items()]
    lines += [f"scram\t{name}\t{password}" for name, password in sorted(access.passwords.items())
              if name != BROKER]  # the broker's own is set at format and used by the node itself
    lines += [f"acl\t{b.principal}\t{b.resource_type}\t{b.pattern_type}\t{b.name}\t{b.operation}" for b in bindings]
    return "\n".join(lines) + "\n"


def apply_access(access: KafkaAccess, bootstrap: str, java_prefix: list[str],
                 bindings: Iterable[AclBinding] | None = None, timeout: float = 180.0) -> str:
    """Upsert every user and make the broker's ACLs exactly `bindings` (default: the declarations'), with Kafka's
    Java admin API; its one-line summary. `java_prefix`: java with the broker's class path and log settings."""
    if shutil.which("javac") is None:
        raise KafkaAccessError("javac is not on PATH: the stack applies the ACLs with a small Java program run "
                               f"from its source ({TOOL}), which needs a JDK (Java 17)")
    stdin = tool_input(access, bootstrap, acl_bindings() if bindings is None else bindings)
    result = subprocess.run([*java_prefix, str(kafka_deploy_dir() / TOOL)], input=stdin, capture_output=True,
                            text=True, timeout=timeout)
    if result.returncode != 0:
        last = (result.stderr.strip().splitlines() or ["(no output)"])[-1]
        raise KafkaAccessError(f"applying the Kafka users and ACLs failed: {last[:500]}")
    return result.stdout.strip()
