"""Field-level validation errors that are safe to log, return and put in
dead-letter headers: they name the field and the rule, never the value."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any, TypeVar

import orjson
from pydantic import BaseModel, ValidationError

from .envelope import CloudEvent, EventData
from .limits import MAX_RECORD_BYTES
from .tolerance import LENIENT

DataT = TypeVar("DataT", bound=EventData)


@dataclass(frozen=True)
class FieldError:
    field: str
    reason: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"field": self.field, "reason": self.reason, "message": self.message}


class InvalidEvent(Exception):
    """An event that cannot be accepted. `reason` is a bounded code."""

    def __init__(self, reason: str, errors: list[FieldError]):
        self.reason = reason
        self.errors = errors
        super().__init__(f"{reason}: " + "; ".join(f"{e.field}: {e.message}" for e in errors))

    @property
    def field(self) -> str:
        return self.errors[0].field if self.errors else ""


def field_path(loc: tuple[int | str, ...]) -> str:
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += ("." if path else "") + part
    return path


def _message(error: Any) -> str:
    if error["type"] in ("value_error", "assertion_error"):
        ctx = error.get("ctx") or {}
        inner = ctx.get("error")
        return str(inner) if inner is not None else "is not valid"
    # pydantic's own messages describe the rule ("Input should be ..."),
    # and only the enum/literal ones echo the allowed values, not the input.
    # A few parsers add a detail quoting part of the input (uuid_parsing:
    # "invalid character: found `S` at 0"): keep the rule, drop the detail.
    message = str(error["msg"])
    detail = (error.get("ctx") or {}).get("error")
    if isinstance(detail, str) and "`" in detail:
        return message.replace(f", {detail}", "").replace(detail, "").strip(" ,:") or "is not valid"
    return message


def safe_message(error: Any) -> str:
    """The rule an error dict (pydantic's or FastAPI's) breaks, without the input."""
    return _message(error)


def field_errors(exc: ValidationError, prefix: tuple[str, ...] = ()) -> list[FieldError]:
    return [
        FieldError(
            field=field_path(prefix + tuple(e["loc"])),
            reason=str(e["type"]),
            message=_message(e),
        )
        for e in exc.errors(include_input=False, include_url=False)
    ]


def load_json(raw: bytes) -> Any:
    """One JSON document, bounded before it is parsed: at most MAX_RECORD_BYTES, nested at most
    MAX_JSON_DEPTH deep, numbers that fit a double, valid UTF-8, no NaN (orjson enforces all but the
    size). Anything else raises InvalidEvent `too_large` or `not_json`."""
    if len(raw) > MAX_RECORD_BYTES:
        raise InvalidEvent("too_large", [FieldError("", "too_large", f"message is over {MAX_RECORD_BYTES} bytes")])
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise InvalidEvent("not_json", [FieldError("", "json_invalid", "message is not valid JSON")]) from None


def parse_event(raw: bytes, data_model: type[DataT], *, lenient: bool = False) -> CloudEvent[DataT]:
    """Parse and validate one CloudEvent carrying `data_model`, or raise
    InvalidEvent with a reason of `not_json`, `invalid_envelope`,
    `wrong_type` or `invalid_data`.

    Unknown envelope attributes (CloudEvents extensions) are always ignored.
    Unknown fields inside `data` are refused by default (producers validate
    strictly); a consumer passes `lenient=True` to ignore them, so a payload
    from a newer, backward-compatible revision of the same topic version
    (one that added optional fields) still parses."""
    document = load_json(raw)
    if not isinstance(document, dict):
        raise InvalidEvent("invalid_envelope", [FieldError("", "dict_type", "message must be a JSON object")])
    if document.get("type") == data_model.EVENT_TYPE:  # the usual record: one validation, the header's with it
        try:
            return _validated(document, data_model, lenient)
        except ValidationError:
            pass  # said below, as an envelope's or the data's fault
    try:
        header = _envelope(EventData).model_validate({**document, "data": {}})
    except ValidationError as exc:
        errors = [e for e in field_errors(exc) if e.field != "data"]
        if errors:
            raise InvalidEvent("invalid_envelope", errors) from None
        header = None
    if header is not None and header.type != data_model.EVENT_TYPE:
        raise InvalidEvent(
            "wrong_type", [FieldError("type", "literal_error", f"type must be {data_model.EVENT_TYPE}")]
        )
    try:
        return _validated(document, data_model, lenient)
    except ValidationError as exc:
        raise InvalidEvent("invalid_data", field_errors(exc)) from None


@functools.cache
def _envelope(data_model: type[DataT]) -> type[CloudEvent[DataT]]:
    """`CloudEvent[data_model]`, made once (pydantic's generic lookup cost a tenth of applying a record)."""
    return CloudEvent[data_model]  # type: ignore[valid-type]


def _validated(document: dict[str, Any], data_model: type[DataT], lenient: bool) -> CloudEvent[DataT]:
    return _envelope(data_model).model_validate(document, extra="ignore" if lenient else None,
                                                context={LENIENT: True} if lenient else None)


def validate_data(document: Any, data_model: type[BaseModel]) -> BaseModel:
    """Validate a bare payload (an HTTP body), raising InvalidEvent."""
    try:
        return data_model.model_validate(document)
    except ValidationError as exc:
        raise InvalidEvent("invalid_data", field_errors(exc)) from None
