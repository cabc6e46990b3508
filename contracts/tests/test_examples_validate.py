"""Every stored example validates against its own checked-in JSON Schema,
envelope and data, by a third-party validator (`jsonschema`, Draft 2020-12,
formats checked): what a consumer in another language would hold us to."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from frontdoor_contracts.generate import event_models

CONTRACTS_DIR = Path(__file__).resolve().parent.parent
EXAMPLES = sorted((CONTRACTS_DIR / "examples").glob("*.json"))
SCHEMAS = CONTRACTS_DIR / "schemas"

# `jsonschema` checks uri-reference only with an optional package we do not install: RFC 3986's characters
# (or %XX), and a scheme before the first ':' when one comes before any '/', '?' or '#'.
FORMATS = copy.deepcopy(Draft202012Validator.FORMAT_CHECKER)
_URI_CHARACTERS = re.compile(r"(?:[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=]|%[0-9A-Fa-f]{2})*")
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+\-.]*")


@FORMATS.checks("uri-reference")
def _uri_reference(value: object) -> bool:
    if not isinstance(value, str):
        return True
    first = re.split(r"[/?#]", value, maxsplit=1)[0]
    return bool(_URI_CHARACTERS.fullmatch(value)) and (":" not in first or bool(
        _SCHEME.fullmatch(first.split(":", 1)[0])))


def _load(path: Path) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return document


def _validator(event_type: str) -> Draft202012Validator:
    schema = _load(SCHEMAS / f"{event_type}.json")
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema, format_checker=FORMATS)


def _errors(document: dict[str, Any]) -> list[str]:
    found = _validator(document["type"]).iter_errors(document)
    return sorted(f"{'/'.join(map(str, e.absolute_path)) or '(root)'}: {e.message}" for e in found)


def _formats(node: Any) -> set[str]:
    if isinstance(node, dict):
        own = {node["format"]} if isinstance(node.get("format"), str) else set()
        return own.union(*(_formats(value) for value in node.values()))
    if isinstance(node, list):
        return set().union(*(_formats(value) for value in node))
    return set()


def test_there_is_one_example_per_event_type_and_each_names_its_file() -> None:
    assert [path.stem for path in EXAMPLES] == sorted(m.EVENT_TYPE for m in event_models())
    assert all(_load(path)["type"] == path.stem for path in EXAMPLES)


def test_every_format_the_schemas_use_is_checked() -> None:
    used = set().union(*(_formats(_load(path)) for path in SCHEMAS.glob("*.json")))
    assert used and used <= set(FORMATS.checkers), used - set(FORMATS.checkers)


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_stored_example_validates_against_its_schema(path: Path) -> None:
    assert _errors(_load(path)) == []


def test_the_validator_refuses_a_null_attribute_a_bad_format_and_bad_data() -> None:
    # so a passing example proves something: envelope, formats and data are all checked
    document = _load(CONTRACTS_DIR / "examples" / "uk.gov.frontdoor.allocation.case-closed.v1.json")
    assert _errors({**document, "traceparent": None}) == ["traceparent: None is not of type 'string'"]
    assert _errors({**document, "time": "20 November 2026"}) == ["time: '20 November 2026' is not a 'date-time'"]
    assert _errors({**document, "source": "urn :frontdoor"}) == ["source: 'urn :frontdoor' is not a 'uri-reference'"]
    assert _errors({**document, "data": {**document["data"], "case_id": "case-1"}}) == [
        "data/case_id: 'case-1' is not a 'uuid'"]
    data = {key: value for key, value in document["data"].items() if key != "outcome"}
    assert _errors({**document, "data": data}) == ["data: 'outcome' is a required property"]


@pytest.mark.parametrize("value", ["urn:frontdoor:contacts", "https://police.example/force/1?a=b#c", "/relative/x",
                                   "urn:la:test:census", "a%20b"])
def test_uri_references_pass(value: str) -> None:
    assert FORMATS.conforms(value, "uri-reference")


@pytest.mark.parametrize("value", ["urn :x", "1urn:x", "a b", "%zz", "<script>", "caf\u00e9:x"])
def test_what_is_no_uri_reference_fails(value: str) -> None:
    assert not FORMATS.conforms(value, "uri-reference")
