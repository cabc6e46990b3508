"""One error body for every 4xx and 5xx the services answer: RFC 9457
`application/problem+json`, with the field errors inside. Field errors
name the field and the rule, never the value."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from frontdoor_contracts.errors import FieldError, InvalidEvent, field_path, safe_message

PROBLEM_JSON = "application/problem+json"
log = logging.getLogger("frontdoor.http")


class FieldProblem(BaseModel):
    field: str = Field(description="Path of the field, e.g. children[0].nhs_number")
    reason: str = Field(description="A bounded code for the rule broken")
    message: str = Field(description="The rule, in words (never the value sent)")


class Problem(BaseModel):
    type: str = "about:blank"
    title: str
    status: int
    detail: str | None = None
    errors: list[FieldProblem] = Field(default_factory=list)


class ProblemError(Exception):
    """Raise from a route to answer with a problem body."""

    def __init__(self, status: int, detail: str | None = None, errors: Sequence[FieldError] = (),
                 headers: Mapping[str, str] | None = None):
        self.status, self.detail, self.errors = status, detail, list(errors)
        self.headers = dict(headers or {})
        super().__init__(detail or HTTPStatus(status).phrase)


class HTTPProblem(StarletteHTTPException):
    """A problem raised where only an HTTPException passes: from a request's
    `receive` (FastAPI reads the body inside a catch-all that turns any
    other exception into a 400). Answered like a ProblemError."""

    def __init__(self, status: int, detail: str, errors: Sequence[FieldError] = (),
                 headers: Mapping[str, str] | None = None):
        super().__init__(status, detail, dict(headers) if headers else None)
        self.errors = list(errors)


def problem_response(status: int, detail: str | None = None, errors: Sequence[FieldError] = (),
                     headers: Mapping[str, str] | None = None) -> JSONResponse:
    body = Problem(title=HTTPStatus(status).phrase, status=status, detail=detail,
                   errors=[FieldProblem(**e.as_dict()) for e in errors])
    return JSONResponse(body.model_dump(exclude_none=True), status_code=status, headers=dict(headers or {}),
                        media_type=PROBLEM_JSON)


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses=` for the problem statuses an operation can answer."""
    return {status: {"model": Problem, "description": HTTPStatus(status).phrase,
                     "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}}}
            for status in statuses}


def _counted(request: Request, response: JSONResponse) -> JSONResponse:
    """Every refusal is counted by status (`app.state.metrics`, the kit's metrics)."""
    metrics = getattr(request.app.state, "metrics", None)
    if metrics is not None:
        metrics.api_rejections.labels(str(response.status_code)).inc()
    return response


async def _problem(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ProblemError)
    return _counted(request, problem_response(exc.status, exc.detail, exc.errors, exc.headers))


async def _http(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    detail = exc.detail if isinstance(exc.detail, str) else None
    errors = exc.errors if isinstance(exc, HTTPProblem) else ()
    return _counted(request, problem_response(exc.status_code, detail, errors, headers=exc.headers))


async def _validation(request: Request, exc: Exception) -> JSONResponse:
    """FastAPI's default 422 echoes the input; this names the field only."""
    assert isinstance(exc, RequestValidationError)
    errors = [FieldError(field_path(_in_body(tuple(e["loc"]))), str(e["type"]), safe_message(e)) for e in exc.errors()]
    if any(e["type"] == "json_invalid" for e in exc.errors()):
        errors = [FieldError("", "json_invalid", "request body is not valid JSON")]
    return _counted(request, problem_response(422, "the request is not valid", errors))


def _in_body(loc: tuple[int | str, ...]) -> tuple[int | str, ...]:
    """`body.children[0].nhs_number` is `children[0].nhs_number` to a client."""
    return loc[1:] if loc[:1] == ("body",) else loc


async def _invalid(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, InvalidEvent)
    return _counted(request, problem_response(422, "the request is not valid", exc.errors))


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    """A fault of ours: logged by type only (never the request), answered as a problem."""
    log.error("unexpected error", extra={"error": type(exc).__name__, "path": request.url.path})
    return _counted(request, problem_response(500, "an unexpected error; it has been logged"))


def install(app: FastAPI) -> None:
    app.add_exception_handler(ProblemError, _problem)
    app.add_exception_handler(StarletteHTTPException, _http)
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(InvalidEvent, _invalid)
    app.add_exception_handler(Exception, _unexpected)
