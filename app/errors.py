"""Problem details (RFC 9457): one base exception, and handlers that render every error.

Every error the API returns, FastAPI's own included, leaves as
`application/problem+json` with `type`, `title`, `status`, `detail`, `instance`.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping, Sequence
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import iter_route_contexts
from sqlalchemy.exc import DBAPIError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import compile_path

from app.request_context import current_request_id

logger = logging.getLogger(__name__)

PROBLEM_MEDIA_TYPE = "application/problem+json"
PROBLEM_TYPE_PREFIX = "urn:helpdesk:problem:"


class ProblemError(Exception):
    """An error the client can act on. Subclasses fix the status and the problem type."""

    status: int = 400
    type_slug: str = "bad-request"
    title: str = "Bad request"

    def __init__(
        self,
        detail: str,
        *,
        headers: Mapping[str, str] | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.headers = dict(headers or {})
        self.extra = dict(extra or {})


class BadRequest(ProblemError):
    pass


class Unauthorized(ProblemError):
    status, type_slug, title = 401, "unauthorized", "Authentication required"

    def __init__(self, detail: str = "A valid bearer token is required.") -> None:
        super().__init__(detail, headers={"WWW-Authenticate": "Bearer"})


class Forbidden(ProblemError):
    status, type_slug, title = 403, "forbidden", "Not allowed"


class NotFound(ProblemError):
    status, type_slug, title = 404, "not-found", "Not found"


class Conflict(ProblemError):
    status, type_slug, title = 409, "conflict", "Conflict"


class PreconditionFailed(ProblemError):
    status, type_slug, title = 412, "precondition-failed", "Precondition failed"


class UnprocessableEntity(ProblemError):
    """A well-formed request the service cannot act on. Like a validation failure it
    carries `errors` (`[{loc, msg}]`), so a client handles every 422 the same way."""

    status, type_slug, title = 422, "unprocessable-entity", "Unprocessable entity"

    def __init__(
        self,
        detail: str,
        *,
        loc: Sequence[str] = ("body",),
        headers: Mapping[str, str] | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> None:
        errors = {"errors": [{"loc": list(loc), "msg": detail}]}
        super().__init__(detail, headers=headers, extra={**errors, **(extra or {})})


class TooManyRequests(ProblemError):
    status, type_slug, title = 429, "rate-limited", "Too many requests"

    def __init__(self, retry_after_seconds: int) -> None:
        super().__init__(
            f"Rate limit exceeded; retry in {retry_after_seconds} s.",
            headers={"Retry-After": str(retry_after_seconds)},
        )


def problem_response(
    request: Request,
    *,
    status: int,
    type_slug: str,
    title: str,
    detail: str,
    headers: Mapping[str, str] | None = None,
    extra: Mapping[str, Any] | None = None,
) -> JSONResponse:
    body = problem_body(
        status=status, type_slug=type_slug, title=title, detail=detail, instance=request.url.path
    )
    body.update(extra or {})
    return JSONResponse(body, status_code=status, headers=headers, media_type=PROBLEM_MEDIA_TYPE)


def problem_body(
    *, status: int, type_slug: str, title: str, detail: str, instance: str
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": PROBLEM_TYPE_PREFIX + type_slug,
        "title": title,
        "status": status,
        "detail": detail,
        "instance": instance,
    }
    request_id = current_request_id.get()
    if request_id is not None:
        # The id in the X-Request-ID header and in the service's log lines.
        body["request_id"] = request_id
    return body


def internal_error_body(instance: str, request_id: str) -> bytes:
    body = problem_body(
        status=500,
        type_slug="internal-error",
        title="Internal server error",
        detail=f"Something went wrong on our side; it has been logged as {request_id}.",
        instance=instance,
    )
    return json.dumps(body).encode()


def _slug_for(status: int) -> tuple[str, str]:
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = "Error"
    return phrase.lower().replace(" ", "-").replace("'", ""), phrase


def _validation_errors(errors: Sequence[Any]) -> list[dict[str, Any]]:
    rendered = []
    for error in errors:
        loc = [str(part) for part in error.get("loc", ())]
        rendered.append({"loc": loc, "msg": str(error.get("msg", "invalid value"))})
    return rendered


async def _on_problem(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ProblemError)
    return problem_response(
        request,
        status=exc.status,
        type_slug=exc.type_slug,
        title=exc.title,
        detail=exc.detail,
        headers=exc.headers,
        extra=exc.extra,
    )


async def _on_http_exception(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    slug, title = _slug_for(exc.status_code)
    detail = exc.detail if isinstance(exc.detail, str) else title
    if exc.status_code == 404 and detail == "Not Found":
        detail = f"No route matches {request.method} {request.url.path}."
    headers = exc.headers
    if exc.status_code == 405:
        detail = f"{request.method} is not allowed on {request.url.path}."
        allowed = _allowed_methods(request)
        if allowed:
            headers = {**(headers or {}), "Allow": ", ".join(allowed)}
    return problem_response(
        request,
        status=exc.status_code,
        type_slug=slug,
        title=title,
        detail=detail,
        headers=headers,
    )


def _allowed_methods(request: Request) -> list[str]:
    """Every method some route accepts on this path. Starlette's own Allow names only
    the first route that matched the path, and each method is a route of its own."""
    table: list[tuple[re.Pattern[str], frozenset[str]]] | None = getattr(
        request.app.state, "allowed_methods", None
    )
    if table is None:
        table = [
            (compile_path(context.path)[0], frozenset(context.methods or ()))
            for context in iter_route_contexts(request.app.routes)
            if context.path
        ]
        request.app.state.allowed_methods = table
    path = request.url.path
    return sorted({method for regex, methods in table if regex.match(path) for method in methods})


async def _on_validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = list(exc.errors())
    if any(error.get("type") == "json_invalid" for error in errors):
        return problem_response(
            request,
            status=400,
            type_slug="malformed-json",
            title="Malformed JSON",
            detail="The request body is not valid JSON.",
        )
    if _body_is_not_json(request, errors):
        return problem_response(
            request,
            status=415,
            type_slug="unsupported-media-type",
            title="Unsupported media type",
            detail="The request body must be JSON, sent with Content-Type: application/json.",
        )
    rendered = _validation_errors(errors)
    summary = "; ".join(f"{'.'.join(e['loc'])}: {e['msg']}" for e in rendered[:5])
    return problem_response(
        request,
        status=422,
        type_slug="validation-error",
        title="Validation failed",
        detail=summary or "The request is not valid.",
        extra={"errors": rendered},
    )


def _body_is_not_json(request: Request, errors: Sequence[Any]) -> bool:
    """A JSON-body operation got a body of another (or no) media type.

    FastAPI hands such a body to the model as a string, which fails as a whole with
    "valid dictionary" at loc ["body"]: that is the media type's fault, not the data's.
    """
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type == "application/json" or media_type.endswith("+json"):
        return False
    return any(
        tuple(error.get("loc", ())) == ("body",)
        and error.get("type") in {"model_attributes_type", "dict_type", "model_type"}
        for error in errors
    )


async def _on_database_error(request: Request, exc: Exception) -> JSONResponse:
    # A safety net: input validation should stop bad values before PostgreSQL sees
    # them, but a value PostgreSQL refuses is still the caller's fault, not a 500.
    assert isinstance(exc, DBAPIError)
    sqlstate = getattr(exc.orig, "sqlstate", None) or ""
    if sqlstate.startswith("22"):  # data exception: out of range, bad encoding, ...
        logger.warning("database refused a value: %s", exc.orig)
        return problem_response(
            request,
            status=400,
            type_slug="invalid-value",
            title="Invalid value",
            detail="A value in the request cannot be stored (out of range or malformed).",
        )
    if sqlstate.startswith("23"):  # integrity constraint violation
        logger.info("integrity violation: %s", exc.orig)
        return problem_response(
            request,
            status=409,
            type_slug="conflict",
            title="Conflict",
            detail="The change conflicts with existing data.",
        )
    if exc.connection_invalidated:
        # The connection died under us (a database restart, a failover): the pool has
        # already dropped it and its siblings, so a retry gets a fresh one.
        logger.warning("database connection lost: %s", exc.orig)
        return problem_response(
            request,
            status=503,
            type_slug="database-unavailable",
            title="Database unavailable",
            detail="The connection to the database was lost; retry the request.",
            headers={"Retry-After": "1"},
        )
    if sqlstate in {"40001", "40P01"}:  # serialization failure, deadlock
        return problem_response(
            request,
            status=409,
            type_slug="concurrent-update",
            title="Concurrent update",
            detail="Another change raced this one; retry the request.",
            headers={"Retry-After": "1"},
        )
    return await _on_unexpected(request, exc)


async def _on_unexpected(request: Request, exc: Exception) -> JSONResponse:
    logger.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return problem_response(
        request,
        status=500,
        type_slug="internal-error",
        title="Internal server error",
        detail="Something went wrong on our side; it has been logged.",
    )


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ProblemError, _on_problem)
    app.add_exception_handler(StarletteHTTPException, _on_http_exception)
    app.add_exception_handler(RequestValidationError, _on_validation_error)
    app.add_exception_handler(DBAPIError, _on_database_error)
    app.add_exception_handler(Exception, _on_unexpected)
