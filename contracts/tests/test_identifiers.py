"""NHS number (modulus 11), Unique Pupil Number (check letter), school URN.

UPN rule (DfE, UK Government Data Standards Catalogue, "Unique Pupil Number"
v2.0): characters 2-13 weighted 2..13, summed, modulo 23, the remainder
indexes ABCDEFGHJKLMNPQRTUVWXYZ (no I, O, S); for a temporary UPN the letter
in position 13 counts as its index in that same alphabet (A=0, B=1, ...)."""

from __future__ import annotations

import pytest
from pydantic import TypeAdapter, ValidationError

from frontdoor_contracts.identifiers import (
    NhsNumber,
    SchoolUrn,
    Upn,
    is_valid_nhs_number,
    is_valid_upn,
    nhs_check_digit,
    upn_check_letter,
)

NHS = TypeAdapter(NhsNumber)
UPN = TypeAdapter(Upn)
URN = TypeAdapter(SchoolUrn)


@pytest.mark.parametrize("value", ["9434765919", "4505577104", "4010232137", "4857773457", "9876543210"])
def test_valid_nhs_numbers(value: str) -> None:
    assert is_valid_nhs_number(value)
    assert NHS.validate_python(value) == value


def test_nhs_check_digit_worked_example() -> None:
    # 9*10 + 4*9 + 3*8 + 4*7 + 7*6 + 6*5 + 5*4 + 9*3 + 1*2 = 299; 299 % 11 = 2; 11 - 2 = 9
    assert nhs_check_digit("943476591") == 9


def test_a_remainder_of_zero_gives_check_digit_zero() -> None:
    first_nine = next(f"{n:09d}" for n in range(100000000, 100001000) if nhs_check_digit(f"{n:09d}") == 0)
    assert is_valid_nhs_number(first_nine + "0")


@pytest.mark.parametrize("wrong", ["9434765910", "9434765911", "9434765918"])
def test_wrong_check_digit_is_refused(wrong: str) -> None:
    assert not is_valid_nhs_number(wrong)
    with pytest.raises(ValidationError, match="modulus 11"):
        NHS.validate_python(wrong)


def test_check_value_ten_is_always_invalid() -> None:
    ten = [f"{n:09d}" for n in range(123456700, 123456800) if nhs_check_digit(f"{n:09d}") is None]
    assert ten, "some first-nine sequences give a check value of 10"
    for first_nine in ten:
        assert not any(is_valid_nhs_number(first_nine + str(d)) for d in range(10))


@pytest.mark.parametrize("spaced", ["943 476 5919", "943-476-5919", " 9434765919 ", "943 - 476 - 5919"])
def test_spaces_and_hyphens_are_accepted_and_normalised(spaced: str) -> None:
    assert NHS.validate_python(spaced) == "9434765919"


@pytest.mark.parametrize("bad", ["94347659l9", "943476591", "94347659190", "9434765919a", "", "943.476.5919"])
def test_non_digits_and_wrong_lengths_are_refused(bad: str) -> None:
    assert not is_valid_nhs_number(bad)
    with pytest.raises(ValidationError, match="10 digits"):
        NHS.validate_python(bad)


# B801200005001 is python-stdnum's published valid example (stdnum.gb.upn; A801200005001 invalid).
# Characters 2-13 = 8,0,1,2,0,0,0,0,5,0,0,1: 2*8 + 4*1 + 5*2 + 10*5 + 13*1 = 93; 93 % 23 = 1 -> B.
@pytest.mark.parametrize("value", ["B801200005001", "W202400118123", "K202400118124"])
def test_valid_permanent_upns(value: str) -> None:
    assert is_valid_upn(value)
    assert UPN.validate_python(value) == value


def test_upn_check_letter_arithmetic() -> None:
    assert upn_check_letter("801200005001") == "B"
    # 207000016049: 2*2 + 4*7 + 9*1 + 10*6 + 12*4 + 13*9 = 266; 266 % 23 = 13 -> P (I and O skipped)
    assert upn_check_letter("207000016049") == "P"


@pytest.mark.parametrize("wrong", ["A801200005001", "C801200005001", "I801200005001", "O801200005001"])
def test_wrong_upn_check_letter_is_refused(wrong: str) -> None:
    assert not is_valid_upn(wrong)
    with pytest.raises(ValidationError, match="check letter does not match"):
        UPN.validate_python(wrong)


def test_every_check_letter_skips_i_o_s() -> None:
    letters = {upn_check_letter(f"2024001181{n:02d}") for n in range(100)}
    assert not letters & {"I", "O", "S"}


def test_temporary_upn_letter_counts_as_its_alphabet_index() -> None:
    # position 13 "A" counts 0, "B" counts 1: the same as digits 0 and 1
    assert upn_check_letter("20240011812A") == upn_check_letter("202400118120")
    assert upn_check_letter("20240011812B") == upn_check_letter("202400118121")
    # "Z" counts 22: 13*22 more than "A"
    assert upn_check_letter("20240011812Z") == "ABCDEFGHJKLMNPQRTUVWXYZ"[(3 + 13 * 22) % 23]
    assert UPN.validate_python("d20240011812a") == "D20240011812A"


@pytest.mark.parametrize("temporary", ["X20240011812I", "X20240011812O", "X20240011812S"])
def test_temporary_upn_letter_is_never_i_o_s(temporary: str) -> None:
    assert not is_valid_upn(temporary)


@pytest.mark.parametrize("bad", ["W20240011812", "W2024001181231", "W2024A0118123", "7202400118123", ""])
def test_upn_shape_is_refused(bad: str) -> None:
    assert not is_valid_upn(bad)
    with pytest.raises(ValidationError, match="check letter followed by 12"):
        UPN.validate_python(bad)


def test_upn_spaces_are_normalised() -> None:
    assert UPN.validate_python("w 202 4001 18 123") == "W202400118123"


@pytest.mark.parametrize("value", ["100023", "999999", "1000 23"])
def test_urn_is_six_digits(value: str) -> None:
    assert URN.validate_python(value) == value.replace(" ", "")


@pytest.mark.parametrize("bad", ["10002", "1000234", "012345", "10002A", ""])
def test_bad_urn_is_refused(bad: str) -> None:
    with pytest.raises(ValidationError, match="6 digits"):
        URN.validate_python(bad)
