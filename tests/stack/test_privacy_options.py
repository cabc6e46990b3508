"""`frontdoor-stack privacy`'s options, checked before anything is sent: the person named one way exactly,
each value checked as the contracts check it, a rectify's corrections, the wait and the export directory;
every refusal names the option and the rule and never the value typed, argparse's own errors included."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from frontdoor_contracts.privacy import PrivacyKind
from frontdoor_stack import cli
from frontdoor_stack.privacy.options import OptionError, order_of, redacted

NHS = "9434765919"  # valid modulus 11
UPN = "F801200100001"  # a made-up LA's number with its check letter
BY_NAME = {"given_name": "Quibble", "family_name": "Testerton", "date_of_birth": "2016-04-01", "postcode": "zz99 3qq"}
NOTHING: dict[str, str | None] = {}


def order(kind: str = "access", person: dict[str, Any] | None = None, corrections: dict[str, Any] | None = None,
          timeout: float = 120.0, out: Path | None = None) -> Any:
    return order_of(kind, person if person is not None else {"nhs_number": NHS}, corrections or {}, timeout, out)


def refused(**kwargs: Any) -> str:
    with pytest.raises(OptionError) as caught:
        order(**kwargs)
    return str(caught.value)


def test_a_person_is_named_by_nhs_number_upn_or_name_date_of_birth_and_postcode() -> None:
    assert order(person={"nhs_number": "943 476 5919"}).person == {"nhs_number": NHS}
    assert order(person={"upn": UPN.lower()}).person == {"upn": UPN}
    named = order(person=BY_NAME).person
    assert named == {"given_name": "Quibble", "family_name": "Testerton", "date_of_birth": "2016-04-01",
                     "postcode": "ZZ99 3QQ"}
    body = order(person=BY_NAME).body("K" * 43 + "=")
    assert body == {"kind": "access", "reply_key": "K" * 43 + "=", **named}


@pytest.mark.parametrize(("person", "option", "rule"), [
    ({"nhs_number": "9434765918"}, "--nhs-number", "modulus 11"),
    ({"nhs_number": "94347659"}, "--nhs-number", "10 digits"),
    ({"upn": "A801200100001"}, "--upn", "check letter"),
    ({**BY_NAME, "postcode": "Quibbleton"}, "--postcode", "UK postcode"),
    ({**BY_NAME, "date_of_birth": "01/04/2016"}, "--date-of-birth", "YYYY-MM-DD"),
    ({**BY_NAME, "date_of_birth": (date.today() + timedelta(days=2)).isoformat()}, "--date-of-birth", "future"),
    ({**BY_NAME, "given_name": "Quib\x07ble"}, "--given-name", "one line"),
    ({**BY_NAME, "family_name": "X" * 101}, "--family-name", "1 to 100"),
])
def test_a_bad_value_is_refused_naming_the_option_and_the_rule_never_the_value(
        person: dict[str, str], option: str, rule: str) -> None:
    message = refused(person=person)
    assert message.startswith(f"{option}:") and rule in message
    for value in person.values():
        assert value not in message and value.upper() not in message


@pytest.mark.parametrize(("person", "rule"), [
    ({}, "must be named"),
    ({"nhs_number": NHS, "upn": UPN}, "one way only"),
    ({"nhs_number": NHS, "postcode": "ZZ99 3QQ"}, "one way only"),
    ({"given_name": "Quibble", "family_name": "Testerton"}, "--date-of-birth, --postcode"),
])
def test_the_person_is_named_one_way_exactly(person: dict[str, str], rule: str) -> None:
    assert rule in refused(person=person)


def test_a_rectify_needs_corrections_and_only_a_rectify_takes_them() -> None:
    fixed = order("rectify", corrections={"family_name": "Testington", "postcode": "zz99 9zz"})
    assert fixed.kind is PrivacyKind.RECTIFY
    assert fixed.corrections == {"family_name": "Testington", "postcode": "ZZ99 9ZZ"}
    assert fixed.body("k")["corrections"] == fixed.corrections
    assert "needs a correction" in refused(kind="rectify")
    assert refused(kind="erase", corrections={"given_name": "Q"}) == "--set-given-name: is for rectify only"
    message = refused(kind="rectify", corrections={"nhs_number": "1234567890"})
    assert message.startswith("--set-nhs-number:") and "1234567890" not in message
    assert "corrections" not in order("erase").body("k")


@pytest.mark.parametrize("timeout", [0.0, -1.0, 3601.0, float("nan"), float("inf")])
def test_the_wait_is_from_a_second_to_an_hour(timeout: float) -> None:
    assert refused(timeout=timeout) == "--timeout: must be a number of seconds from 1 to 3600"


def test_an_export_directory_is_new_or_empty_never_a_file_or_a_link(tmp_path: Path) -> None:
    assert order(out=tmp_path / "new").out == tmp_path / "new"
    assert order(out=tmp_path).out == tmp_path  # empty
    (tmp_path / "earlier.json").write_text("{}")
    assert "never overwritten" in refused(out=tmp_path)
    assert "not a file" in refused(out=tmp_path / "earlier.json")
    (tmp_path / "link").symlink_to(tmp_path / "elsewhere")
    assert "not a file or a link" in refused(out=tmp_path / "link")


@pytest.mark.parametrize("argv", [
    ["privacy", "acces", "--nhs-number", NHS],
    ["privacy", "access", "--nhs-numbr", NHS],
    ["privacy", "access", "--nhs-number", NHS, "--timeout", "Testerton"],
    ["privacy", "access", "--nhs-number", NHS, "Testerton"],
])
def test_argparse_errors_never_quote_what_was_typed(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stopped:
        cli.main(argv)
    assert stopped.value.code == 2
    err = capsys.readouterr().err
    assert "not shown: it may hold personal data" in err
    assert NHS not in err
    assert "Testerton" not in err and "acces'" not in err and "numbr" not in err


def test_a_refused_option_stops_the_command_before_anything_is_sent(capsys: pytest.CaptureFixture[str],
                                                                   tmp_path: Path) -> None:
    code = cli.main(["--run-dir", str(tmp_path), "privacy", "erase", "--nhs-number", "9434765918",
                     "--bootstrap", "127.0.0.1:1", "--contacts-url", "http://127.0.0.1:1"])
    err = capsys.readouterr().err
    assert code == 2 and "--nhs-number: NHS number fails the modulus 11 check" in err and "9434765918" not in err


def test_without_a_privacy_key_nothing_is_sent(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    (tmp_path / "credentials").write_text("contacts: name=dev roles=intake,decide,read api_key=fdk_x\n")
    code = cli.main(["--run-dir", str(tmp_path), "privacy", "access", "--upn", UPN, "--bootstrap", "127.0.0.1:1"])
    assert code == 2 and "no contacts key with the privacy role" in capsys.readouterr().err


def test_redaction_keeps_the_choices_and_the_option() -> None:
    assert redacted("argument kind: invalid choice: 'Jane' (choose from 'access', 'erase')") == (
        "argument kind: invalid choice: (not shown: it may hold personal data) (choose from 'access', 'erase')")
    assert redacted("argument --timeout: invalid float value: 'Jane'") == (
        "argument --timeout: invalid float value: (not shown: it may hold personal data)")
    assert redacted("unrecognized arguments: --x Jane Doe") == (
        "unrecognized arguments: (not shown: it may hold personal data)")
