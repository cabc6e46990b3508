"""The checked-in schemas and AsyncAPI document are exactly what the models generate."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from frontdoor_contracts import generate
from frontdoor_contracts.topics import DOMAIN_TOPICS, all_topics

CONTRACTS_DIR = Path(__file__).resolve().parent.parent


def test_checked_in_files_match_the_models() -> None:
    assert generate.drift(CONTRACTS_DIR) == [], "run frontdoor-contracts-generate and commit the result"
    assert generate.main(["--check"]) == 0


def test_generation_is_deterministic() -> None:
    assert generate.generated_files() == generate.generated_files()
    for content in generate.generated_files().values():
        assert content.endswith("\n") and not content.endswith("\n\n")


def test_check_reports_drifted_and_stale_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert generate.main(["--root", str(tmp_path)]) == 0
    assert generate.main(["--check", "--root", str(tmp_path)]) == 0
    schema = tmp_path / generate.schema_file(generate.event_models()[0])
    schema.write_text(schema.read_text() + " ", encoding="utf-8")
    (tmp_path / "schemas" / "uk.gov.frontdoor.retired.v1.json").write_text("{}\n", encoding="utf-8")
    capsys.readouterr()
    assert generate.main(["--check", "--root", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "out of date" in err
    assert schema.name in err and "uk.gov.frontdoor.retired.v1.json" in err
    assert "asyncapi.yaml" not in err


def test_every_event_model_has_a_schema_and_an_example() -> None:
    models = generate.event_models()
    assert {spec.event for spec in DOMAIN_TOPICS} == set(models)
    for model in models:
        schema = json.loads((CONTRACTS_DIR / generate.schema_file(model)).read_text(encoding="utf-8"))
        assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
        assert schema["$id"].endswith(f"/{model.EVENT_TYPE}.json")
        assert schema["title"] == model.EVENT_TYPE and schema["description"]
        assert schema["properties"]["type"]["const"] == model.EVENT_TYPE
        assert {"id", "source", "type", "time", "data"} <= set(schema["required"])
        assert (CONTRACTS_DIR / "examples" / f"{model.EVENT_TYPE}.json").is_file()


def test_asyncapi_has_a_channel_for_every_topic_with_its_producers_and_consumers() -> None:
    document = yaml.safe_load((CONTRACTS_DIR / "asyncapi.yaml").read_text(encoding="utf-8"))
    assert document["asyncapi"] == "3.0.0"
    assert document["servers"]["local"] == {
        "description": "The local development broker", "host": "localhost:9092", "protocol": "kafka"}
    addresses = {channel["address"]: channel_id for channel_id, channel in document["channels"].items()}
    operations = document["operations"]
    for spec in all_topics():
        assert spec.name in addresses
        channel = document["channels"][addresses[spec.name]]
        assert channel["bindings"]["kafka"]["partitions"] == spec.partitions
        (message_ref,) = channel["messages"].values()
        message = document["components"]["messages"][message_ref["$ref"].rsplit("/", 1)[1]]
        assert "key" in message["bindings"]["kafka"]
        channel_ref = {"$ref": f"#/channels/{addresses[spec.name]}"}
        senders = {op_id for op_id, op in operations.items() if op["action"] == "send" and op["channel"] == channel_ref}
        receivers = {op_id for op_id, op in operations.items()
                     if op["action"] == "receive" and op["channel"] == channel_ref}
        slug = spec.name.replace(".", "_").replace("-", "_")
        assert senders == {f"{p.replace('-', '_')}_send_{slug}" for p in spec.producers}
        assert receivers == {f"{c.replace('-', '_')}_receive_{slug}" for c in spec.consumers}
    assert "contacts_receive_frontdoor_contacts_v1" in operations


def test_dead_letter_message_documents_the_raw_bytes_and_error_headers() -> None:
    document = yaml.safe_load((CONTRACTS_DIR / "asyncapi.yaml").read_text(encoding="utf-8"))
    message = document["components"]["messages"]["DeadLetter"]
    assert message["payload"]["format"] == "binary"
    assert set(message["headers"]["required"]) == {
        "dlq.reason", "dlq.field", "dlq.message", "dlq.topic", "dlq.partition", "dlq.offset"}


def test_event_messages_refer_to_the_generated_schema_files() -> None:
    document = yaml.safe_load((CONTRACTS_DIR / "asyncapi.yaml").read_text(encoding="utf-8"))
    for model in generate.event_models():
        payload = document["components"]["messages"][model.__name__]["payload"]
        ref = payload["schema"]["$ref"]
        assert (CONTRACTS_DIR / ref).is_file() and ref == generate.schema_file(model)
