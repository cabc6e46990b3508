"""CloudEvents 1.0 structured-JSON envelope, generic over its data."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, ClassVar, Generic, Literal, TypeVar

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

TRACEPARENT_PATTERN = r"^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$"


class EventData(BaseModel):
    """Base of every event payload. Producers validate strictly (extra fields
    are refused); consumers of a newer backward-compatible revision ignore
    unknown fields through `errors.parse_event(..., lenient=True)`."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    EVENT_TYPE: ClassVar[str]


DataT = TypeVar("DataT", bound=EventData)


class CloudEvent(BaseModel, Generic[DataT]):
    model_config = ConfigDict(extra="ignore", frozen=True)

    specversion: Literal["1.0"] = "1.0"
    id: str = Field(min_length=1, max_length=200, description="Stable across retries: the idempotency key")
    source: str = Field(min_length=1, max_length=500, description="URI-reference of the producing system")
    type: str = Field(min_length=1, max_length=200)
    time: AwareDatetime = Field(description="When the event happened (event time)")
    subject: str | None = Field(default=None, max_length=200)
    datacontenttype: Literal["application/json"] = "application/json"
    traceparent: str | None = Field(default=None, pattern=TRACEPARENT_PATTERN)
    data: DataT


_ENVELOPES: dict[type[EventData], type[CloudEvent[Any]]] = {}
_trace_context: list[Callable[[], str | None]] = [lambda: None]


def use_trace_context(current: Callable[[], str | None]) -> None:
    """Where `new_event` finds the trace in hand when its caller names none: the services' tracing sets
    this once (the current span as a W3C traceparent), so every event a service makes carries the trace
    of the request or record that caused it."""
    _trace_context[0] = current


def new_event(
    data: EventData,
    *,
    source: str,
    subject: str | None = None,
    time: datetime | None = None,
    event_id: str | None = None,
    traceparent: str | None = None,
) -> CloudEvent[Any]:
    """Wrap `data` in an envelope. Pass `event_id` when retries must reuse it."""
    model = _ENVELOPES.get(type(data))
    if model is None:
        made: type[CloudEvent[Any]] = CloudEvent[type(data)]  # type: ignore[misc,assignment]
        model = _ENVELOPES[type(data)] = made
    return model(
        id=event_id or str(uuid.uuid4()),
        source=source,
        type=data.EVENT_TYPE,
        time=time or datetime.now(UTC),
        subject=subject,
        traceparent=traceparent if traceparent is not None else _trace_context[0](),
        data=data,
    )


OPTIONAL_ATTRIBUTES = ("subject", "traceparent")


def encode_event(event: CloudEvent[Any]) -> bytes:
    """Structured-mode JSON: attributes without a value are left out, never
    `null` (CloudEvents 1.0); the data is the contract's, as it stands."""
    absent = {name for name in OPTIONAL_ATTRIBUTES if getattr(event, name) is None}
    return event.model_dump_json(exclude=absent).encode()
