"""Identifiers with their real check digits, as pure functions.

Error messages name the rule that failed, never the value: these are
identifiers of children.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, BeforeValidator

NHS_WEIGHTS = range(10, 1, -1)
UPN_CHECK_LETTERS = "ABCDEFGHJKLMNPQRTUVWXYZ"  # 23 letters: no I, O, S
_UPN_SHAPE = re.compile(r"^[A-Z][0-9]{11}[0-9A-Z]$")
_URN_SHAPE = re.compile(r"^[1-9][0-9]{5}$")


def _strip_separators(value: object) -> object:
    if isinstance(value, str):
        return re.sub(r"[\s-]", "", value).upper()
    return value


def nhs_check_digit(first_nine: str) -> int | None:
    """Modulus 11 check digit of an NHS number, or None when none is valid."""
    total = sum(int(d) * w for d, w in zip(first_nine, NHS_WEIGHTS, strict=True))
    check = 11 - total % 11
    if check == 11:
        return 0
    if check == 10:
        return None
    return check


def is_valid_nhs_number(value: str) -> bool:
    if len(value) != 10 or not value.isdigit():
        return False
    return nhs_check_digit(value[:9]) == int(value[9])


def upn_check_letter(body: str) -> str:
    """Check letter of a Unique Pupil Number from its characters 2-13.

    DfE rule: weights 2..13 on characters 2-13, sum modulo 23 indexes the
    check-letter alphabet. A letter in position 13 (a temporary UPN) counts
    as its index in the same alphabet.
    """
    total = 0
    for weight, char in enumerate(body, start=2):
        value = int(char) if char.isdigit() else UPN_CHECK_LETTERS.index(char)
        total += weight * value
    return UPN_CHECK_LETTERS[total % 23]


def is_valid_upn(value: str) -> bool:
    if not _UPN_SHAPE.match(value):
        return False
    if not value[12].isdigit() and value[12] not in UPN_CHECK_LETTERS:
        return False
    return upn_check_letter(value[1:]) == value[0]


def _check_nhs(value: str) -> str:
    if len(value) != 10 or not value.isdigit():
        raise ValueError("NHS number must be 10 digits")
    if not is_valid_nhs_number(value):
        raise ValueError("NHS number fails the modulus 11 check")
    return value


def _check_upn(value: str) -> str:
    if not _UPN_SHAPE.match(value):
        raise ValueError("UPN must be a check letter followed by 12 characters")
    if not is_valid_upn(value):
        raise ValueError("UPN check letter does not match")
    return value


def _check_urn(value: str) -> str:
    if not _URN_SHAPE.match(value):
        raise ValueError("school URN must be 6 digits")
    return value


NhsNumber = Annotated[str, BeforeValidator(_strip_separators), AfterValidator(_check_nhs)]
Upn = Annotated[str, BeforeValidator(_strip_separators), AfterValidator(_check_upn)]
SchoolUrn = Annotated[str, BeforeValidator(_strip_separators), AfterValidator(_check_urn)]
