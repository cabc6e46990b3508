"""Forward compatibility for enum values (the compatibility rule in the
contracts README): a newer producer may add a value to a vocabulary (a new
referrer source, a new concern). Where a field is only informational to its
consumers, a lenient parse (`parse_event(..., lenient=True)`) tolerates an
unknown value: a single value passes through as its string, an unknown item
of a list is left out. Where the value changes what a consumer must do (a
decision, a level of need), no tolerance is declared and an unknown value
is refused, so the record is dead-lettered. Producers always validate
strictly."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import ValidationError, ValidationInfo, ValidatorFunctionWrapHandler, WrapValidator

from .vocabulary import Concern, ReferrerSource

LENIENT = "frontdoor.lenient"
_CONCERNS = frozenset(c.value for c in Concern)


def lenient(info: ValidationInfo) -> bool:
    return bool(info.context and info.context.get(LENIENT))


def _keep_unknown(value: Any, handler: ValidatorFunctionWrapHandler, info: ValidationInfo) -> Any:
    try:
        return handler(value)
    except ValidationError:
        if lenient(info) and isinstance(value, str) and value:
            return value
        raise


def _drop_unknown_concerns(value: Any, handler: ValidatorFunctionWrapHandler, info: ValidationInfo) -> Any:
    if lenient(info) and isinstance(value, list):
        value = [item for item in value if not isinstance(item, str) or item in _CONCERNS]
    return handler(value)


# Typed as the enum; at run time, in a lenient parse, possibly a newer value's string.
InformationalReferrerSource = Annotated[ReferrerSource, WrapValidator(_keep_unknown)]
InformationalConcerns = Annotated[list[Concern], WrapValidator(_drop_unknown_concerns)]
