"""OpenAPI helpers: problem responses documented on every operation."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from app.errors import PROBLEM_MEDIA_TYPE


class ValidationIssue(BaseModel):
    loc: list[str]
    msg: str


class Problem(BaseModel):
    """RFC 9457 problem details."""

    type: str = Field(examples=["urn:helpdesk:problem:not-found"])
    title: str
    status: int
    detail: str
    instance: str
    errors: list[ValidationIssue] | None = Field(
        default=None, description="Present on 422 validation failures."
    )
    request_id: str | None = Field(
        default=None,
        description="The request's id, as in its X-Request-ID header and the service's logs.",
    )


_DESCRIPTIONS = {
    400: "Malformed request (bad JSON, bad cursor, value out of range)",
    401: "Missing, invalid, expired or revoked token",
    403: "Authenticated, but the role may not do this",
    404: "No such resource (or not visible to the caller)",
    409: "Conflicts with the current state",
    412: "If-Match does not match the current version",
    413: "Request body too large",
    415: "The body is not of the media type this operation takes",
    422: "Validation failed",
    429: "Rate limit exceeded; see Retry-After",
}


def problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """Document problem responses for an operation (401, 422 and 429 are implied)."""
    codes = sorted({*statuses, 401, 422, 429})
    return {
        code: {
            "model": Problem,
            "description": _DESCRIPTIONS[code],
        }
        for code in codes
    }


def use_problem_media_type(spec: dict[str, Any]) -> dict[str, Any]:
    """Document error bodies under application/problem+json, which is what they are sent as.

    FastAPI files every response model under application/json, and adds its own 422
    schema; both are rewritten so the document matches the wire.
    """
    for path_item in spec.get("paths", {}).values():
        for operation in path_item.values():
            for code, response in operation.get("responses", {}).items():
                if not code.isdigit() or int(code) < 400:
                    continue
                content = response.get("content", {})
                ref = content.get("application/json", {}).get("schema", {}).get("$ref", "")
                if ref.endswith(("/Problem", "/HTTPValidationError")):
                    content.pop("application/json")
                    content[PROBLEM_MEDIA_TYPE] = {
                        "schema": {"$ref": "#/components/schemas/Problem"}
                    }
    schemas = spec.get("components", {}).get("schemas", {})
    for unused in ("HTTPValidationError", "ValidationError"):
        schemas.pop(unused, None)
    return spec
