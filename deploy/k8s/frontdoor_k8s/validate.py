"""Rendered manifests checked offline: the built-in kinds against the Kubernetes schemas kubernetes-validate
bundles (strict: an unknown field is an error), for the oldest and the newest Kubernetes the manifests are meant
for; the operators' custom resources against their CRD schemas vendored in deploy/k8s/schemas/ (with jsonschema,
strict the same way: an object that declares its properties takes no other, unless its schema keeps unknown
fields). What neither checks: a CRD's CEL rules (x-kubernetes-validations) and defaults."""

from __future__ import annotations

import copy
import functools
import json
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import jsonschema  # type: ignore[import-untyped]
import kubernetes_validate  # type: ignore[import-untyped]

SCHEMAS = Path(__file__).resolve().parent.parent / "schemas"
KUBERNETES_VERSIONS = ("1.31.0", "1.37.0")
NAME = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")  # a DNS subdomain
ENVELOPE = ("apiVersion", "kind", "metadata")


def _openapi_to_jsonschema(node: Any) -> Any:
    """OpenAPI v3 (as CRDs write it) to JSON Schema: `nullable` allows null, int-or-string either; an object
    with properties and no say on others takes no others (kubectl's strict field validation)."""
    if isinstance(node, list):
        return [_openapi_to_jsonschema(item) for item in node]
    if not isinstance(node, dict):
        return node
    schema = {key: _openapi_to_jsonschema(value) for key, value in node.items()
              if key not in ("nullable", "x-kubernetes-validations")}
    if node.get("x-kubernetes-int-or-string"):
        schema.pop("type", None)
        schema["anyOf"] = [{"type": "integer"}, {"type": "string"}]
    if "properties" in node and "additionalProperties" not in node \
            and not node.get("x-kubernetes-preserve-unknown-fields"):
        schema["additionalProperties"] = False
    if node.get("nullable") and "type" in schema:
        schema["type"] = [schema["type"], "null"]
        if "enum" in schema and None not in schema["enum"]:
            schema["enum"] = [*schema["enum"], None]
    return schema


@functools.cache
def crd_schemas() -> dict[tuple[str, str], dict[str, Any]]:
    """(apiVersion, kind) -> JSON Schema of the resource's body (what follows apiVersion, kind, metadata)."""
    found = {}
    for path in sorted(SCHEMAS.glob("*.json")):
        vendored = json.loads(path.read_text())
        body = copy.deepcopy(vendored["openAPIV3Schema"])
        for key in ENVELOPE:
            body.get("properties", {}).pop(key, None)
        found[(vendored["apiVersion"], vendored["kind"])] = _openapi_to_jsonschema(body)
    return found


def problems(document: dict[str, Any]) -> list[str]:
    """What is wrong with one manifest (nothing: an empty list), each naming the resource and the field."""
    where = f"{document.get('kind')}/{document.get('metadata', {}).get('name')}"
    name = document.get("metadata", {}).get("name", "")
    if not NAME.match(name) or len(name) > 253:
        return [f"{where}: metadata.name is not a DNS subdomain name"]
    key = (document["apiVersion"], document["kind"])
    if key in crd_schemas():
        body = {k: v for k, v in document.items() if k not in ENVELOPE}
        validator = jsonschema.Draft202012Validator(crd_schemas()[key])
        return [f"{where}: {'.'.join(map(str, error.absolute_path)) or '(body)'}: {error.message}"
                for error in validator.iter_errors(body)]
    found = []
    for version in KUBERNETES_VERSIONS:
        try:
            kubernetes_validate.validate(document, version, strict=True)
        except kubernetes_validate.SchemaNotFoundError:
            return [f"{where}: no schema for {key[0]} {key[1]} (Kubernetes {version}, nor vendored)"]
        except kubernetes_validate.ValidationError as error:
            found.append(f"{where} (Kubernetes {version}): {'.'.join(map(str, error.path)) or '(body)'}: "
                         f"{error.message}")
    return found


def check(documents: Iterable[dict[str, Any]]) -> list[str]:
    return [problem for document in documents for problem in problems(document)]
