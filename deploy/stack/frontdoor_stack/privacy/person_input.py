"""The person and a rectify's corrections given without the command line, where `ps`, the shell's history and
audit logs would keep a child's NHS number or name: `--person-file PATH`, a JSON file only its owner may
read or write (refused when its group or others have any access to it), or `--stdin`, the same JSON on
standard input. This is the way to use for a real person; the options (`--nhs-number ...`) stay for
synthetic test data.

The document is one JSON object: the person one way, as the options name them, and for rectify the
corrections:

    {"nhs_number": "943 476 5919"}
    {"upn": "F801200100001", "corrections": {"family_name": "Testington"}}
    {"given_name": "...", "family_name": "...", "date_of_birth": "2016-04-01", "postcode": "ZZ99 3QQ"}

Refusals name the option and the rule (and a field of ours where one is at fault), never a value or a key
the document holds that is not ours: both may be a name. Values are checked afterwards as the options are
(`options.order_of` with `Naming("--stdin")`)."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Any, BinaryIO

from .options import CORRECTABLE, PERSON_FIELDS, OptionError, option_name

MAX_BYTES = 64 * 1024  # a person and their corrections fit in far less
CORRECTIONS = "corrections"
SHAPE = ('must hold one JSON object: the person\'s fields (nhs_number; upn; or given_name, family_name, '
         'date_of_birth and postcode) and for rectify "corrections": {field: value}')
Values = dict[str, str | None]


def read_person_file(path: Path) -> bytes:
    """The file's bytes, read from the descriptor whose mode was checked: a regular file (or a pipe, such as
    `<(...)`) that neither its group nor others may open."""
    option = "--person-file"
    try:
        descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        raise OptionError(option, "must name a file that exists") from None
    except OSError as error:
        raise OptionError(option, f"could not be opened ({type(error).__name__})") from None
    try:
        mode = os.fstat(descriptor).st_mode
        if not (stat.S_ISREG(mode) or stat.S_ISFIFO(mode)):
            raise OptionError(option, "must be a file (not a directory or a device)")
        if stat.S_IMODE(mode) & 0o077:
            raise OptionError(option, "must be readable by its owner alone: its group or others have access to "
                              "it (chmod 600 it, or give the person on --stdin)")
        with os.fdopen(descriptor, "rb", closefd=False) as handle:
            return handle.read(MAX_BYTES + 1)
    finally:
        os.close(descriptor)


def read_stdin(stream: BinaryIO) -> bytes:
    return stream.read(MAX_BYTES + 1)


def _text(value: Any, option: str, field: str) -> str:
    if not isinstance(value, str):
        raise OptionError(f"{option} {field}", "must be text (a JSON string)")
    return value


def values_of(raw: bytes, option: str) -> tuple[Values, Values]:
    """The person's and the corrections' values from the document (None where a field is absent), for
    `order_of` to check as it checks the options'."""
    if len(raw) > MAX_BYTES:
        raise OptionError(option, f"must be at most {MAX_BYTES // 1024} KiB")
    try:
        document = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise OptionError(option, SHAPE) from None
    if not isinstance(document, dict):
        raise OptionError(option, SHAPE)
    if set(document) - {*PERSON_FIELDS, CORRECTIONS}:
        raise OptionError(option, "holds a field that is not one of: " + ", ".join((*PERSON_FIELDS, CORRECTIONS)))
    person: Values = {name: _text(document[name], option, name) if document.get(name) is not None else None
                      for name in PERSON_FIELDS}
    fixes = document.get(CORRECTIONS) or {}
    if not isinstance(fixes, dict):
        raise OptionError(f"{option} {CORRECTIONS}", "must be a JSON object of field to value")
    if set(fixes) - set(CORRECTABLE):
        raise OptionError(f"{option} {CORRECTIONS}", "holds a field that is not one of: " + ", ".join(CORRECTABLE))
    corrections: Values = {name: _text(fixes[name], option, f"{CORRECTIONS}.{name}")
                           if fixes.get(name) is not None else None for name in CORRECTABLE}
    return person, corrections


def given_on_the_command_line(person: Values, corrections: Values) -> list[str]:
    """The person and correction options typed (a document given too must be the only source)."""
    return ([option_name(name) for name, value in person.items() if value is not None]
            + [option_name(name, "set-") for name, value in corrections.items() if value is not None])
