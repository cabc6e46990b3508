"""What a sender may put in a record: a cap on every list and string it
controls, and the characters text may hold.

Every accepted input must fit on the wire: the largest record the contracts
accept (every list at its cap, every string at its longest, in the widest
characters JSON allows) stays under `limits.MAX_BODY_BYTES` as a request
body, and every event the platform derives from it under
`limits.MAX_RECORD_BYTES` (`contracts/tests/test_largest_inputs.py` and the
services' tests measure both). Lengths are in characters, as pydantic counts
them (a character outside the BMP is one); the bytes follow from them.

Text never holds a C0 control character (nor DEL): NUL cannot be stored in
PostgreSQL text, and no name, reference or identifier has a control
character in it honestly. Free text keeps tab, newline and carriage return.
A rule broken names the field and the rule, never the value.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import Annotated, TypeVar

from pydantic import StringConstraints

from .vocabulary import Concern

# People on one contact. A household does not have thirty children or thirty adults; the caps leave room for
# the largest honest ones (an extended family, a hostel) and refuse what only a careless or hostile sender makes.
MAX_CHILDREN = 30
MAX_ADULTS = 30
# Concerns come from a vocabulary, each once: at most all of it.
MAX_CONCERNS = len(Concern)

NAME_MAX = 100  # a given or family name (the longest names in the PDS are well under this)
REF_MAX = 40  # a sender's own reference for a person or record within its message
POLICE_REFERENCE_MAX = 40  # a force's crime or incident reference (e.g. "MPS/2025/041187")
RELATIONSHIP_MAX = 40  # an adult's relationship to the children, in words ("mother's partner")
DECIDED_BY_MAX = 100  # who decided: a name or staff identifier
RATIONALE_MAX = 4000  # the MASH decision's rationale: a few paragraphs

# No C0 control character and no DEL (a name, a reference: one line).
ONE_LINE = r"^[^\x00-\x1F\x7F]*$"
# Free text: lines, so tab, newline and carriage return, but no other C0 control character and no DEL.
TEXT = r"^[^\x00-\x08\x0B\x0C\x0E-\x1F\x7F]*$"

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=NAME_MAX, pattern=ONE_LINE)]
Ref = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=REF_MAX, pattern=ONE_LINE)]
PoliceReference = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=3, max_length=POLICE_REFERENCE_MAX, pattern=ONE_LINE)
]
Relationship = Annotated[str, StringConstraints(max_length=RELATIONSHIP_MAX, pattern=ONE_LINE)]
DecidedBy = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=DECIDED_BY_MAX, pattern=ONE_LINE)
]
Rationale = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=RATIONALE_MAX, pattern=TEXT)
]

H = TypeVar("H", bound=Hashable)


def unique(values: Sequence[H], what: str) -> None:
    """Refuse a repeated item, naming what repeats (never the value)."""
    if len(set(values)) != len(values):
        raise ValueError(f"each {what} must appear once")
