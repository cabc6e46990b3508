"""The person and a rectify's corrections given without the command line (`ps` and the shell's history keep
it): `--person-file` (a JSON file its group and others cannot open, refused otherwise naming the option and
the rule) or `--stdin`; the document's values checked as the options' are, every refusal naming the
option, the field and the rule, never a value or a key of the document's own; a document and person
options together refused (the person comes from one place)."""

from __future__ import annotations

import io
import json
import os
import sys
from pathlib import Path

import pytest

from frontdoor_stack import cli
from frontdoor_stack.privacy.options import Naming, OptionError, order_of
from frontdoor_stack.privacy.person_input import MAX_BYTES, read_person_file, values_of

NHS = "9434765919"
SECRET = "Quibble"  # a value the documents hold, never to be echoed


def person_file(tmp_path: Path, document: object, mode: int = 0o600) -> Path:
    path = tmp_path / "person.json"
    path.write_text(json.dumps(document))
    path.chmod(mode)
    return path


def refusal(call: object) -> str:
    with pytest.raises(OptionError) as caught:
        call()  # type: ignore[operator]
    return str(caught.value)


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o620, 0o602, 0o660, 0o666])
def test_a_file_its_group_or_others_can_open_is_refused(tmp_path: Path, mode: int) -> None:
    path = person_file(tmp_path, {"nhs_number": NHS}, mode)
    message = refusal(lambda: read_person_file(path))
    assert message.startswith("--person-file: must be readable by its owner alone") and NHS not in message


@pytest.mark.parametrize("mode", [0o600, 0o400])
def test_a_file_its_owner_alone_can_open_is_read(tmp_path: Path, mode: int) -> None:
    path = person_file(tmp_path, {"nhs_number": "943 476 5919"}, mode)
    person, corrections = values_of(read_person_file(path), "--person-file")
    order = order_of("access", person, corrections, 60.0, None, Naming("--person-file"))
    assert order.person == {"nhs_number": NHS} and order.corrections == {}


def test_a_missing_file_a_directory_and_a_pipe(tmp_path: Path) -> None:
    assert refusal(lambda: read_person_file(tmp_path / "nope.json")) == "--person-file: must name a file that exists"
    folder = tmp_path / "folder"
    folder.mkdir(mode=0o700)
    assert "must be a file" in refusal(lambda: read_person_file(folder))
    reader, writer = os.pipe()  # as `--person-file <(...)` gives it: a pipe only its owner can open
    os.write(writer, json.dumps({"upn": "F801200100001"}).encode())
    os.close(writer)
    try:
        assert values_of(read_person_file(Path(f"/proc/self/fd/{reader}")), "--person-file")[0]["upn"] == (
            "F801200100001")
    finally:
        os.close(reader)


@pytest.mark.parametrize(("raw", "rule"), [
    (b"Quibble Testerton", "must hold one JSON object"),
    (b'["Quibble"]', "must hold one JSON object"),
    (b"\xffQuibble", "must hold one JSON object"),
    (b'{"Quibble Testerton": "2016-04-01"}', "holds a field that is not one of: nhs_number"),
    (b'{"nhs_number": 9434765919}', "nhs_number: must be text"),
    (b'{"upn": "F801200100001", "corrections": "Quibble"}', "corrections: must be a JSON object"),
    (b'{"upn": "F801200100001", "corrections": {"Quibble": "x"}}', "corrections: holds a field that is not one"),
    (b'{"upn": "F801200100001", "corrections": {"family_name": ["Quibble"]}}', "corrections.family_name: must be"),
    (b" " * (MAX_BYTES + 1), "must be at most 64 KiB"),
])
def test_a_document_of_the_wrong_shape_is_refused_without_its_content(raw: bytes, rule: str) -> None:
    message = refusal(lambda: values_of(raw, "--stdin"))
    assert message.startswith("--stdin") and rule in message
    assert SECRET not in message and "9434765919" not in message and "2016" not in message


def test_the_documents_values_are_checked_as_the_options_are_naming_the_field() -> None:
    person, corrections = values_of(json.dumps({"upn": "F801200100001", "corrections": {
        "nhs_number": "1234567890"}}).encode(), "--stdin")
    message = refusal(lambda: order_of("rectify", person, corrections, 60.0, None, Naming("--stdin")))
    assert message.startswith("--stdin corrections.nhs_number:") and "1234567890" not in message
    person, corrections = values_of(json.dumps({"given_name": SECRET, "family_name": "Testerton"}).encode(), "--stdin")
    message = refusal(lambda: order_of("access", person, corrections, 60.0, None, Naming("--stdin")))
    assert message == ("--stdin date_of_birth, --stdin postcode: must be given with the other name, date of birth and "
                       "postcode fields")
    fixed = order_of("rectify", *values_of(json.dumps({"nhs_number": NHS, "corrections": {
        "postcode": "zz99 9zz"}}).encode(), "--stdin"), 60.0, None, Naming("--stdin"))
    assert fixed.person == {"nhs_number": NHS} and fixed.corrections == {"postcode": "ZZ99 9ZZ"}


@pytest.mark.parametrize(("extra", "refused"), [
    (["--nhs-number", NHS], "--stdin: must not be given with --nhs-number"),
    (["--set-family-name", SECRET], "--stdin: must not be given with --set-family-name"),
])
def test_a_document_and_person_options_together_are_refused(
        extra: list[str], refused: str, tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b'{"upn": "F801200100001"}')))
    code = cli.main(["--run-dir", str(tmp_path), "privacy", "rectify", "--stdin", *extra, "--bootstrap",
                     "127.0.0.1:1", "--contacts-url", "http://127.0.0.1:1"])
    err = capsys.readouterr().err
    assert code == 2 and refused in err and NHS not in err and SECRET not in err


def test_stdin_with_a_bad_value_stops_the_command_before_anything_is_sent(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b'{"nhs_number": "9434765918"}')))
    code = cli.main(["--run-dir", str(tmp_path), "privacy", "erase", "--stdin", "--bootstrap", "127.0.0.1:1",
                     "--contacts-url", "http://127.0.0.1:1"])
    err = capsys.readouterr().err
    assert code == 2 and "--stdin nhs_number: NHS number fails the modulus 11 check" in err
    assert "9434765918" not in err


def test_a_person_file_and_stdin_together_are_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = person_file(tmp_path, {"nhs_number": NHS})
    code = cli.main(["--run-dir", str(tmp_path), "privacy", "access", "--person-file", str(path), "--stdin"])
    assert code == 2 and "--person-file: must not be given with --stdin" in capsys.readouterr().err
