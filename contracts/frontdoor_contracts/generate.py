"""Generate the checked-in JSON Schemas and AsyncAPI document from the models.

    frontdoor-contracts-generate            write contracts/schemas/*.json and contracts/asyncapi.yaml
    frontdoor-contracts-generate --check    exit 1, listing the files that drifted, when they differ

Output is deterministic: sorted keys, stable order, a trailing newline.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import yaml

from . import (  # noqa: F401  (imports every event model, so the subclass walk finds them)
    allocation,
    contacts,
    notifications,
    outcomes,
    partners,
    schools,
)
from . import retention as retention_schedule
from .envelope import OPTIONAL_ATTRIBUTES, CloudEvent, EventData
from .topics import DLQ_SUFFIX, TopicSpec, all_topics

CONTRACTS_DIR = Path(__file__).resolve().parent.parent
SCHEMA_DIR = "schemas"
ASYNCAPI_FILE = "asyncapi.yaml"
SCHEMA_BASE_URI = "https://contracts.frontdoor.example/schemas/"
JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
SCHEMA_FORMAT = "application/schema+json;version=draft-2020-12"
KAFKA_BINDING_VERSION = "0.5.0"
DEAD_LETTER_MESSAGE = "DeadLetter"
DLQ_HEADERS = {
    "dlq.reason": "Bounded reason code: not_json, invalid_envelope, wrong_type or invalid_data",
    "dlq.field": "The first field that failed, e.g. data.children[0].nhs_number (never its value)",
    "dlq.message": "Every failing field and its rule, '; '-separated (never the values)",
    "dlq.topic": "The topic the record was read from",
    "dlq.partition": "The partition the record was read from",
    "dlq.offset": "The offset of the record in that partition",
}


def event_models() -> list[type[EventData]]:
    """Every event payload model (an EventData subclass with an EVENT_TYPE), ordered by type."""
    found: dict[str, type[EventData]] = {}
    pending: list[type[EventData]] = list(EventData.__subclasses__())
    while pending:
        model = pending.pop()
        pending.extend(model.__subclasses__())
        event_type = model.__dict__.get("EVENT_TYPE")
        if isinstance(event_type, str) and model.__module__.startswith("frontdoor_contracts."):
            found[event_type] = model
    return [found[key] for key in sorted(found)]


def schema_file(model: type[EventData]) -> str:
    return f"{SCHEMA_DIR}/{model.EVENT_TYPE}.json"


def event_schema(model: type[EventData]) -> dict[str, Any]:
    """The whole CloudEvent carrying `model`, with `type` pinned to the model's EVENT_TYPE."""
    envelope: type[CloudEvent[Any]] = CloudEvent[model]  # type: ignore[valid-type]
    schema = envelope.model_json_schema(mode="validation")
    schema["properties"]["type"] = {
        "const": model.EVENT_TYPE,
        "description": "CloudEvents type: names the event and its major version",
        "title": "Type",
        "type": "string",
    }
    properties = schema["properties"]
    properties["source"]["format"] = "uri-reference"
    for name in OPTIONAL_ATTRIBUTES:  # absent when there is no value, never null
        attribute = properties[name]
        branch = next(b for b in attribute.pop("anyOf") if b.get("type") != "null")
        attribute.pop("default", None)
        attribute.update(branch)
    schema["required"] = ["specversion", *(n for n in schema.get("required", []) if n != "specversion")]
    doc = (model.__doc__ or "").strip()
    return {
        "$schema": JSON_SCHEMA_DIALECT,
        "$id": SCHEMA_BASE_URI + f"{model.EVENT_TYPE}.json",
        **schema,
        "title": model.EVENT_TYPE,
        "description": " ".join(doc.split()) or f"CloudEvent carrying {model.__name__}",
    }


def _ident(name: str) -> str:
    return name.replace(".", "_").replace("-", "_")


def _kafka_channel_binding(spec: TopicSpec) -> dict[str, Any]:
    schedule = retention_schedule.default()  # the packaged schedule's figures, as the stack creates the topics
    return {
        "kafka": {
            "bindingVersion": KAFKA_BINDING_VERSION,
            "partitions": spec.partitions,
            "replicas": spec.replication_factor,
            "topic": spec.name,
            "topicConfiguration": {
                "cleanup.policy": [spec.cleanup_policy],
                "retention.ms": schedule.retention_ms(spec),
                "max.message.bytes": int(schedule.topic_configs(spec)["max.message.bytes"]),
            },
        }
    }


def _event_message(model: type[EventData], key: str) -> dict[str, Any]:
    doc = " ".join((model.__doc__ or "").split())
    return {
        "bindings": {
            "kafka": {
                "bindingVersion": KAFKA_BINDING_VERSION,
                "key": {"description": key, "type": "string"},
            }
        },
        "contentType": "application/cloudevents+json",
        "name": model.__name__,
        "payload": {"schema": {"$ref": schema_file(model)}, "schemaFormat": SCHEMA_FORMAT},
        "summary": doc or model.EVENT_TYPE,
        "title": model.EVENT_TYPE,
    }


def _dead_letter_message() -> dict[str, Any]:
    return {
        "bindings": {
            "kafka": {
                "bindingVersion": KAFKA_BINDING_VERSION,
                "key": {"description": "The original record's key, unchanged", "type": "string"},
            }
        },
        "contentType": "application/octet-stream",
        "headers": {
            "additionalProperties": True,
            "description": "The original record's headers, unchanged, plus the dlq.* headers",
            "properties": {name: {"description": text, "type": "string"} for name, text in DLQ_HEADERS.items()},
            "required": sorted(DLQ_HEADERS),
            "type": "object",
        },
        "name": DEAD_LETTER_MESSAGE,
        "payload": {"description": "The original record's value: raw bytes, exactly as read", "format": "binary",
                    "type": "string"},
        "summary": "A record a consumer could not accept, with the error in headers (naming fields, never values)",
        "title": "Dead letter",
    }


def _message_id(spec: TopicSpec) -> str:
    return spec.event.__name__ if spec.event is not None else DEAD_LETTER_MESSAGE


def _operation(spec: TopicSpec, service: str, action: str) -> tuple[str, dict[str, Any]]:
    channel = _ident(spec.name)
    verb = "sends to" if action == "send" else "receives from"
    return f"{_ident(service)}_{action}_{channel}", {
        "action": action,
        "channel": {"$ref": f"#/channels/{channel}"},
        "messages": [{"$ref": f"#/channels/{channel}/messages/{_message_id(spec)}"}],
        "summary": f"{service} {verb} {spec.name}",
        "tags": [{"name": service}],
    }


def asyncapi_document(topics: Iterable[TopicSpec] | None = None) -> dict[str, Any]:
    specs = list(all_topics() if topics is None else topics)
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    for spec in specs:
        message_id = _message_id(spec)
        if spec.event is None:
            messages[message_id] = _dead_letter_message()
        else:
            messages[message_id] = _event_message(spec.event, spec.key)
        channels[_ident(spec.name)] = {
            "address": spec.name,
            "bindings": _kafka_channel_binding(spec),
            "description": f"{spec.description} Key: {spec.key}.",
            "messages": {message_id: {"$ref": f"#/components/messages/{message_id}"}},
            "servers": [{"$ref": "#/servers/local"}],
            "title": spec.name,
        }
        for action, services in (("send", spec.producers), ("receive", spec.consumers)):
            for service in services:
                op_id, operation = _operation(spec, service, action)
                operations[op_id] = operation
    return {
        "asyncapi": "3.0.0",
        "channels": channels,
        "components": {"messages": messages},
        "defaultContentType": "application/cloudevents+json",
        "info": {
            "description": (
                "Every Kafka topic of the Front Door platform: what it carries, its key, who sends and who "
                "receives it. Generated from frontdoor_contracts (topics.py and the event models) by "
                "frontdoor-contracts-generate; do not edit by hand. Topic names are <domain>.<event>.v<N>; "
                f"each consumed topic has a dead-letter topic <topic>{DLQ_SUFFIX}. Payloads are "
                "OFFICIAL-SENSITIVE."
            ),
            "title": "Front Door events",
            "version": "1.0.0",
        },
        "operations": operations,
        "servers": {
            "local": {
                "description": "The local development broker",
                "host": "localhost:9092",
                "protocol": "kafka",
            }
        },
    }


def render_json(document: Any) -> str:
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def render_yaml(document: Any) -> str:
    text: str = yaml.safe_dump(document, sort_keys=True, allow_unicode=True, width=100, default_flow_style=False)
    return text if text.endswith("\n") else text + "\n"


def generated_files() -> dict[str, str]:
    """Relative path (under contracts/) -> exact file content."""
    files = {schema_file(model): render_json(event_schema(model)) for model in event_models()}
    files[ASYNCAPI_FILE] = render_yaml(asyncapi_document())
    return dict(sorted(files.items()))


def drift(root: Path = CONTRACTS_DIR) -> list[str]:
    """Files that are missing, different, or stale (a schema no model produces any more)."""
    expected = generated_files()
    drifted = [
        path for path, content in expected.items()
        if not (root / path).is_file() or (root / path).read_text(encoding="utf-8") != content
    ]
    stale = sorted(
        f"{SCHEMA_DIR}/{p.name}" for p in (root / SCHEMA_DIR).glob("*.json") if f"{SCHEMA_DIR}/{p.name}" not in expected
    ) if (root / SCHEMA_DIR).is_dir() else []
    return drifted + stale


def write(root: Path = CONTRACTS_DIR) -> list[str]:
    expected = generated_files()
    (root / SCHEMA_DIR).mkdir(parents=True, exist_ok=True)
    for path, content in expected.items():
        (root / path).write_text(content, encoding="utf-8", newline="\n")
    for stale in (root / SCHEMA_DIR).glob("*.json"):
        if f"{SCHEMA_DIR}/{stale.name}" not in expected:
            stale.unlink()
    return list(expected)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="frontdoor-contracts-generate", description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if the checked-in files differ")
    parser.add_argument("--root", type=Path, default=CONTRACTS_DIR, help="the contracts directory")
    args = parser.parse_args(argv)
    if args.check:
        drifted = drift(args.root)
        if drifted:
            print(
                "generated contracts are out of date; run frontdoor-contracts-generate and commit:\n"
                + "\n".join(f"  {args.root / path}" for path in drifted),
                file=sys.stderr,
            )
            return 1
        print("generated contracts are up to date")
        return 0
    for path in write(args.root):
        print(f"wrote {args.root / path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
