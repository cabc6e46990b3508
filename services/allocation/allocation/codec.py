"""The domain `Case` to and from its stored JSON document."""

from __future__ import annotations

from pydantic import TypeAdapter

from .domain.cases import Case

_CASE = TypeAdapter(Case)


def dump_case(case: Case) -> str:
    return _CASE.dump_json(case).decode()


def load_case(document: str) -> Case:
    return _CASE.validate_json(document)
