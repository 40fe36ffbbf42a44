"""Request bodies that come as JSON, or as multipart/form-data with files.

`POST /tickets` and `POST /tickets/{id}/messages` take the same JSON either way: as the
body itself, or as the `payload` field of a multipart form whose `files` fields carry
the attachments. Validation errors read exactly as FastAPI's own (a 422 with `errors`,
a 400 for malformed JSON), so a client handles both forms the same way.
"""

from __future__ import annotations

import json
from typing import Any, TypeVar

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError
from starlette.datastructures import FormData, UploadFile

from app.errors import BadRequest

ModelT = TypeVar("ModelT", bound=BaseModel)
MULTIPART = "multipart/form-data"
PAYLOAD_FIELD = "payload"
FILES_FIELD = "files"
_MAX_FIELDS = 10


def is_multipart(request: Request) -> bool:
    return request.headers.get("content-type", "").lower().startswith(MULTIPART)


async def read_body(
    request: Request, model: type[ModelT], *, max_files: int
) -> tuple[ModelT, list[UploadFile], FormData | None]:
    """The validated body and the uploaded files (none for JSON). The caller closes the
    form (its files may be spooled to disk) once it has stored them."""
    if not is_multipart(request):
        body = await request.body()
        if not _is_json(request.headers.get("content-type")):
            # As FastAPI reads a body it cannot take as JSON: as bytes, not an object.
            return _validated_python(model, body or None), [], None
        return _validated(model, body), [], None
    form = await request.form(max_files=max_files + 1, max_fields=_MAX_FIELDS)
    try:
        payload = form.get(PAYLOAD_FIELD)
        if payload is None:
            raise RequestValidationError(
                [{"loc": ("body", PAYLOAD_FIELD), "msg": "Field required", "type": "missing"}]
            )
        raw = await payload.read() if isinstance(payload, UploadFile) else payload.encode()
        files = [item for item in form.getlist(FILES_FIELD) if isinstance(item, UploadFile)]
        if any(not isinstance(item, UploadFile) for item in form.getlist(FILES_FIELD)):
            raise BadRequest("Each `files` field must be a file.")
        return _validated(model, raw), files, form
    except BaseException:
        await form.close()
        raise


def _is_json(content_type: str | None) -> bool:
    if not content_type:
        return True
    kind = content_type.split(";", 1)[0].strip().lower()
    return kind == "application/json" or (
        kind.startswith("application/") and kind.endswith("+json")
    )


def _validated(model: type[ModelT], raw: bytes) -> ModelT:
    """JSON read as FastAPI reads it (the standard library's parser, then validation),
    so both forms answer the same body the same way."""
    if not raw:
        return _validated_python(model, None)
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as error:
        raise RequestValidationError(
            [{"loc": ("body", error.pos), "msg": "JSON decode error", "type": "json_invalid"}]
        ) from None
    except (ValueError, RecursionError):  # not UTF-8, nested too deep, a huge number
        raise BadRequest("There was an error parsing the body.") from None
    return _validated_python(model, value)


def _validated_python(model: type[ModelT], value: Any) -> ModelT:
    if value is None:
        raise RequestValidationError(
            [{"loc": ("body",), "msg": "Field required", "type": "missing"}]
        )
    try:
        return model.model_validate(value)
    except ValidationError as invalid:
        raise _request_error(invalid) from None


def _request_error(invalid: ValidationError) -> RequestValidationError:
    errors: list[Any] = []
    for error in invalid.errors(include_url=False):
        errors.append({**error, "loc": ("body", *error["loc"])})
    return RequestValidationError(errors)


def json_or_multipart(model: type[BaseModel], files_description: str) -> dict[str, Any]:
    """The OpenAPI `requestBody` of a route that reads its body with `read_body`."""
    ref = {"$ref": f"#/components/schemas/{model.__name__}"}
    return {
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": ref},
                MULTIPART: {
                    "schema": {
                        "type": "object",
                        "required": [PAYLOAD_FIELD],
                        "properties": {
                            PAYLOAD_FIELD: {
                                "type": "string",
                                "description": f"The same JSON as the application/json body "
                                f"({model.__name__}).",
                            },
                            FILES_FIELD: {
                                "type": "array",
                                "items": {"type": "string", "format": "binary"},
                                "description": files_description,
                            },
                        },
                    }
                },
            },
        }
    }


# Models a route documents by reference without FastAPI seeing them as a parameter.
_BODY_MODELS: list[type[BaseModel]] = []


def documented(model: type[ModelT]) -> type[ModelT]:
    """Register `model` for the OpenAPI components (see `add_body_models`)."""
    if model not in _BODY_MODELS:
        _BODY_MODELS.append(model)
    return model


def add_body_models(spec: dict[str, Any]) -> dict[str, Any]:
    """Put the registered body models (and the models they use) in the components."""
    schemas = spec.setdefault("components", {}).setdefault("schemas", {})
    for model in _BODY_MODELS:
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
        for name, definition in schema.pop("$defs", {}).items():
            schemas.setdefault(name, definition)
        schemas.setdefault(model.__name__, schema)
    spec["components"]["schemas"] = dict(sorted(schemas.items()))
    return spec
