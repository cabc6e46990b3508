"""The privacy command's options, checked before anything is sent: who the request is about (an NHS number,
a UPN, or given name + family name + date of birth + postcode), a rectify's corrections, the wait and the
export directory. An error names the option and the rule it broke, never the value (these are a child's
identifiers), and the request body is built from the checked values alone. The person and the corrections
come from the command line's options or from a JSON document (`--person-file`, `--stdin`: person_input.py,
the way for a real person); `Naming` says which, so an error names the option or the document's field.

Pure: no I/O but `export_dir`'s checks of the directory it is given."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter, ValidationError

from frontdoor_contracts.caps import Name
from frontdoor_contracts.contacts import DateOfBirth, Postcode
from frontdoor_contracts.identifiers import NhsNumber, Upn
from frontdoor_contracts.privacy import PrivacyKind

# Each way of naming the person: its options (their `args` attribute names) and the body's fields.
BY_NHS = ("nhs_number",)
BY_UPN = ("upn",)
BY_NAME = ("given_name", "family_name", "date_of_birth", "postcode")
PERSON_FIELDS = (*BY_NHS, *BY_UPN, *BY_NAME)
# What a rectify may correct (`--set-<field>`).
CORRECTABLE = ("given_name", "family_name", "date_of_birth", "postcode", "nhs_number", "upn")
TYPES: dict[str, Any] = {"nhs_number": NhsNumber, "upn": Upn, "given_name": Name, "family_name": Name,
                         "date_of_birth": DateOfBirth, "postcode": Postcode}
# The rule each type's failure means, where pydantic's own words would be unclear.
RULES = {"given_name": "must be 1 to 100 characters on one line",
         "family_name": "must be 1 to 100 characters on one line",
         "postcode": "must be a UK postcode (e.g. ZZ99 3QQ)"}
DATE_RULE = "must be a date as YYYY-MM-DD, not in the future"
MIN_TIMEOUT, MAX_TIMEOUT = 1.0, 3600.0


class OptionError(ValueError):
    """A refused option: `str()` names the option and the rule, never the value."""

    def __init__(self, option: str, rule: str) -> None:
        super().__init__(f"{option}: {rule}")
        self.option = option


def option_name(name: str, prefix: str = "") -> str:
    return f"--{prefix}{name.replace('_', '-')}"


@dataclass(frozen=True)
class Naming:
    """How an error names a value: by its option (`--nhs-number`, `--set-upn`), or, given in a JSON document,
    by the document's option and its field (`--stdin nhs_number`, `--person-file corrections.upn`)."""

    document: str | None = None  # "--person-file" or "--stdin"

    def person(self, name: str) -> str:
        return option_name(name) if self.document is None else f"{self.document} {name}"

    def correction(self, name: str) -> str:
        return option_name(name, "set-") if self.document is None else f"{self.document} corrections.{name}"

    def ways(self) -> str:
        """The ways of naming the person, in the words of where they are given."""
        if self.document is None:
            return "--nhs-number, --upn, or --given-name --family-name --date-of-birth --postcode"
        return f"nhs_number, upn, or given_name, family_name, date_of_birth and postcode in {self.document}"


def checked(name: str, raw: str, option: str) -> str:
    """One value checked as the contracts check it (check digits, postcode shape, dates), normalised; the
    OptionError names `option` and the rule."""
    try:
        value = TypeAdapter(TYPES[name]).validate_python(raw)
    except ValidationError as error:
        first = error.errors(include_input=False, include_url=False)[0]
        if name == "date_of_birth":
            raise OptionError(option, DATE_RULE) from None
        rule = RULES.get(name) or str(first["msg"]).removeprefix("Value error, ")
        raise OptionError(option, rule) from None
    return value.isoformat() if isinstance(value, date) else str(value)


@dataclass(frozen=True)
class PrivacyOrder:
    """A checked request: its kind, the person (body fields), the corrections (rectify), the wait, where the
    export goes (None: the stack's .run/privacy/<request_id>/)."""

    kind: PrivacyKind
    person: dict[str, str] = field(repr=False)
    corrections: dict[str, str] = field(default_factory=dict, repr=False)
    timeout: float = 120.0
    out: Path | None = None

    def body(self, reply_key: str) -> dict[str, Any]:
        """The body of contacts' `POST /v1/privacy/requests`."""
        body: dict[str, Any] = {"kind": self.kind.value, "reply_key": reply_key, **self.person}
        if self.corrections:
            body["corrections"] = dict(self.corrections)
        return body


def person_of(values: dict[str, str | None], naming: Naming = Naming()) -> dict[str, str]:
    """The person named one way, exactly: an NHS number, a UPN, or the four of name, date of birth and
    postcode."""
    given = {name for name in PERSON_FIELDS if values.get(name) is not None}
    ways = [way for way in (BY_NHS, BY_UPN, BY_NAME) if given & set(way)]
    if not ways:
        raise OptionError("the person", f"must be named: {naming.ways()}")
    if len(ways) > 1:
        raise OptionError("the person", f"must be named one way only: {naming.ways()}")
    missing = [naming.person(name) for name in ways[0] if name not in given]
    if missing:
        things = "fields" if naming.document else "options"
        raise OptionError(", ".join(missing), f"must be given with the other name, date of birth and postcode {things}")
    return {name: checked(name, str(values[name]), naming.person(name)) for name in ways[0]}


def corrections_of(kind: PrivacyKind, values: dict[str, str | None], naming: Naming = Naming()) -> dict[str, str]:
    given = {name: value for name in CORRECTABLE if (value := values.get(name)) is not None}
    if kind is not PrivacyKind.RECTIFY:
        if given:
            raise OptionError(naming.correction(next(iter(given))), "is for rectify only")
        return {}
    if not given:
        raise OptionError("rectify", "needs a correction: " + ", ".join(naming.correction(name)
                                                                         for name in CORRECTABLE))
    return {name: checked(name, value, naming.correction(name)) for name, value in given.items()}


def timeout_of(value: float) -> float:
    if not math.isfinite(value) or not MIN_TIMEOUT <= value <= MAX_TIMEOUT:
        raise OptionError("--timeout", f"must be a number of seconds from {MIN_TIMEOUT:g} to {MAX_TIMEOUT:g}")
    return value


def export_dir(value: Path | None) -> Path | None:
    """--out: a directory that does not exist yet (it is made 0700), or an empty one of ours."""
    if value is None:
        return None
    if "\x00" in str(value):
        raise OptionError("--out", "must be a path without NUL")
    if value.exists() or value.is_symlink():
        if value.is_symlink() or not value.is_dir():
            raise OptionError("--out", "must be a directory (not a file or a link)")
        if any(value.iterdir()):
            raise OptionError("--out", "must be a new or empty directory (an export is never overwritten)")
    return value


def order_of(kind: str, person: dict[str, str | None], corrections: dict[str, str | None], timeout: float,
             out: Path | None, naming: Naming = Naming()) -> PrivacyOrder:
    """Every option checked, in the order a reader would fix them; OptionError on the first refused."""
    try:
        request_kind = PrivacyKind(kind)
    except ValueError:
        raise OptionError("the request", "must be access, erase or rectify") from None
    return PrivacyOrder(kind=request_kind, person=person_of(person, naming),
                        corrections=corrections_of(request_kind, corrections, naming),
                        timeout=timeout_of(timeout), out=export_dir(out))


HIDDEN = "(not shown: it may hold personal data)"
TYPED_VALUE = re.compile(r"(invalid [\w ]+ value:) .*", re.DOTALL)
CHOICE = re.compile(r"(invalid choice:) .*?( \(choose from .*\))?$", re.DOTALL)
EXTRA = re.compile(r"(unrecognized arguments:) .*", re.DOTALL)


def redacted(message: str) -> str:
    """An argparse error without the value it quotes (it may be a name or an identifier)."""
    message = TYPED_VALUE.sub(rf"\1 {HIDDEN}", message)
    message = CHOICE.sub(lambda found: f"{found[1]} {HIDDEN}{found[2] or ''}", message)
    return EXTRA.sub(rf"\1 {HIDDEN}", message)
