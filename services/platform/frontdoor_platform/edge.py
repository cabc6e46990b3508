"""The HTTP edge: what every service refuses before a route reads its body.

An ASGI middleware (`install`, called by `lifespan.service_app`) hands the
app a `receive` that checks before it gives the first byte. FastAPI reads
and parses a route's body before it solves the route's dependencies, but
it asks `receive` only once the router chose the route (`scope["route"]`).
The first time it asks, in this order:

1. A route that takes a bearer API key (one whose dependencies include
   `http.caller`: the rule comes from the routes themselves, so the page's
   cookie routes, the ops routes and /docs are not key routes) is answered
   401 when the request has no valid key, before a byte is read. The key is
   looked up as `http.caller` looks it up (`holder_of`: the batched
   look-up; 503 with Retry-After when it fails, the database down) and the
   caller left in the scope for `http.caller`: one look-up per request. A
   wrong role is still the route's 403.
2. A body whose Content-Length is over `max_body_bytes` is answered 413
   before a byte is read; a streamed one as soon as it passes the limit.
3. A JSON body (a route with a body, sent as JSON or with no content type)
   is read whole, within the limit, and parsed by orjson first: not UTF-8,
   NaN or Infinity, a number past a double, nesting past 1,024 are refused
   422 (`json_invalid`), and so are what orjson lets through but a safe
   reading must not: a key repeated in one object (`json_duplicate_key`: two
   parsers may keep different ones), an integer past 64 bits
   (`json_int_range`), nesting past `MAX_BODY_DEPTH` (`json_depth`). Only
   then is the body handed on, unchanged; FastAPI parses it again.

A route without a body never asks: nothing of its body is read, and its
key is checked by `http.caller`, as before. Refusals are raised as
`HTTPProblem` from `receive` (FastAPI passes an HTTPException on), so the
app's handlers answer them as problem+json and count them like the
routes' own.
"""

from __future__ import annotations

import email.message
import re
from collections.abc import Callable
from dataclasses import dataclass
from itertools import accumulate
from typing import Any

import orjson
from fastapi import FastAPI, params
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from frontdoor_contracts.errors import FieldError

from .http import CALLER_SCOPE_KEY, CHALLENGE, NO_VALID_KEY, Auth, bearer_token, caller, holder_of
from .problems import PROBLEM_JSON, HTTPProblem, Problem

# Far deeper than any contract (fewer than 10 levels), and shallow enough that
# Python's recursive parser (FastAPI's, after this one) never meets its limit.
MAX_BODY_DEPTH = 128
INT_RANGE = range(-(2**63), 2**64)  # what orjson reads as an integer
# Over a JSON document orjson accepted (bytes: UTF-8 puts no quote or backslash inside a multi-byte character), each
# match one whole string or number, so a number's digits never start one: `_KEYS` finds b":" for a key, b"" for
# another string; `_LONG_INTS` finds an integer literal of 19 digits or more, b"" for any other token.
_STRING = rb'"[^"\\]*(?:\\.[^"\\]*)*"'
_STRINGS = re.compile(_STRING)
_KEYS = re.compile(_STRING + rb"\s*(:)?")
_LONG_INTS = re.compile(_STRING + rb"|(-?\d{19,})(?![\d.eE])|-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?")
_DIGITS_AS_ZERO = bytes.maketrans(b"0123456789", b"0" * 10)
# Outside strings, an opening bracket as +1 and a closing one as -1 (a signed byte), everything else dropped.
_BRACKETS = bytes.maketrans(b"[{]}", b"\x01\x01\xff\xff")
_NOT_BRACKETS = bytes(set(range(256)) - set(b"[]{}"))
NOT_JSON = FieldError("", "json_invalid", "request body is not valid JSON (UTF-8, no NaN or Infinity, numbers "
                                          "within a double, at most 1024 levels deep)")
INVALID = "the request is not valid"


@dataclass(frozen=True)
class Door:
    """What the edge asks of a request to one route."""

    takes_key: bool
    json_body: bool


NO_DOOR = Door(takes_key=False, json_body=False)


def _depends_on(dependant: Dependant, target: Callable[..., Any]) -> bool:
    waiting = list(dependant.dependencies)
    while waiting:
        dependency = waiting.pop()
        if dependency.call is target:
            return True
        waiting += dependency.dependencies
    return False


def door_of(route: Any) -> Door:
    if not isinstance(route, APIRoute):  # /docs, /openapi.json: Starlette's own routes
        return NO_DOOR
    body = route.body_field
    return Door(takes_key=_depends_on(route.dependant, caller),
                json_body=body is not None and not isinstance(body.field_info, params.Form))


def json_problem(raw: bytes) -> FieldError | None:
    """Why this body is refused as JSON; None when it may be parsed. Each
    pass is linear in the body's size and runs in C (no Python per value)."""
    try:
        document = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return NOT_JSON
    if _depth(raw) > MAX_BODY_DEPTH:
        return FieldError("", "json_depth", f"request body nests deeper than {MAX_BODY_DEPTH} levels")
    if b"0" * 19 in raw.translate(_DIGITS_AS_ZERO) and any(
            digits and int(digits) not in INT_RANGE for digits in set(_LONG_INTS.findall(raw))):
        return FieldError("", "json_int_range", "request body has an integer outside 64 bits")
    if _keys(raw) != _keys(orjson.dumps(document)):  # orjson keeps one member per distinct key
        return FieldError("", "json_duplicate_key", "request body has an object that repeats a key")
    return None


def _depth(document: bytes) -> int:
    steps = _STRINGS.sub(b"", document).translate(_BRACKETS, _NOT_BRACKETS)
    return max(accumulate(memoryview(steps).cast("b")), default=0)


def _keys(document: bytes) -> int:
    found = _KEYS.findall(document)
    return len(found) - found.count(b"")


def _is_json(content_type: str | None) -> bool:
    """As FastAPI decides to parse a body as JSON, or no content type at all."""
    if not content_type:
        return True
    message = email.message.Message()
    message["content-type"] = content_type
    subtype = message.get_content_subtype()
    return message.get_content_maintype() == "application" and (subtype == "json" or subtype.endswith("+json"))


def _declared_length(headers: Headers) -> int | None:
    """The Content-Length; -1 when it is not one byte count."""
    values = {v.strip() for v in headers.getlist("content-length")}
    if not values:
        return None
    length = values.pop()
    return int(length) if length.isdigit() and not values else -1


class Edge:
    def __init__(self, app: ASGIApp, max_body_bytes: int):
        self.app = app
        self.limit = max_body_bytes
        self._doors: dict[int, Door] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            receive = _Guard(self, scope, receive)
        await self.app(scope, receive, send)

    def door(self, route: Any) -> Door:
        if route is None:
            return NO_DOOR
        door = self._doors.get(id(route))
        if door is None:
            door = self._doors[id(route)] = door_of(route)
        return door

    def too_large(self) -> HTTPProblem:
        return HTTPProblem(413, f"the request body is over the limit of {self.limit} bytes")


class _Guard:
    """The `receive` the app is given."""

    def __init__(self, edge: Edge, scope: Scope, receive: Receive):
        self.edge, self.scope, self.receive = edge, scope, receive
        self.checked = False
        self.size = 0

    async def __call__(self) -> Message:
        if self.checked:
            return await self._next()
        self.checked = True
        door = self.edge.door(self.scope.get("route"))
        headers = Headers(scope=self.scope)
        if door.takes_key:
            await self._authenticate(headers)
        length = _declared_length(headers)
        if length == -1:
            raise HTTPProblem(400, "the Content-Length header is not one byte count")
        if length is not None and length > self.edge.limit:
            raise self.edge.too_large()
        if door.json_body and _is_json(headers.get("content-type")):
            return await self._json()
        return await self._next()

    async def _authenticate(self, headers: Headers) -> None:
        auth: Auth | None = getattr(self.scope["app"].state, "auth", None)
        if auth is None:  # the lifespan has not installed it yet
            raise HTTPProblem(503, "the service is starting", headers={"Retry-After": "1"})
        who = await holder_of(auth, bearer_token(headers.get("authorization")))
        if who is None:
            raise HTTPProblem(401, NO_VALID_KEY, headers=CHALLENGE)
        self.scope[CALLER_SCOPE_KEY] = who

    async def _next(self) -> Message:
        message = await self.receive()
        if message["type"] == "http.request":
            self.size += len(message.get("body", b""))
            if self.size > self.edge.limit:
                raise self.edge.too_large()
        return message

    async def _json(self) -> Message:
        """The whole body in one message, once orjson and the rules above took it."""
        chunks: list[bytes] = []
        while True:
            message = await self._next()
            if message["type"] != "http.request":
                return message  # the client left: the app meets the disconnect
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        raw = b"".join(chunks)
        problem = json_problem(raw) if raw else None
        if problem is not None:
            raise HTTPProblem(422, INVALID, [problem])
        return {"type": "http.request", "body": raw, "more_body": False}


def _declare_413(document: dict[str, Any]) -> None:
    declared = False
    for item in document.get("paths", {}).values():
        for operation in item.values():
            if isinstance(operation, dict) and "requestBody" in operation:
                declared = True
                operation.setdefault("responses", {}).setdefault("413", {
                    "description": "Content Too Large",
                    "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}}})
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    if declared and "Problem" not in schemas:
        schema = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
        schemas.update(schema.pop("$defs", {}))
        schemas["Problem"] = schema


def install(app: FastAPI, max_body_bytes: int) -> None:
    """Put the edge in front of the app's routes, and declare its 413 on every operation with a body."""
    app.add_middleware(Edge, max_body_bytes=max_body_bytes)
    build = app.openapi

    def openapi() -> dict[str, Any]:
        first = app.openapi_schema is None
        document = build()
        if first:
            _declare_413(document)
        return document

    app.openapi = openapi  # type: ignore[method-assign]
