"""HTTP for the history import: a JSON batch or an NDJSON stream of tickets (admins)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError

from app.auth.dependencies import AdminUser
from app.common.bodies import documented
from app.common.openapi import problems
from app.db import DbSession
from app.errors import UnprocessableEntity
from app.imports import service
from app.imports.schemas import ImportBatch, ImportResult, ImportTicket

router = APIRouter(tags=["imports"])
documented(ImportBatch)

NDJSON = "application/x-ndjson"
MAX_BYTES = 20 * 1024 * 1024
MAX_TICKETS = 1000


async def _tickets(request: Request) -> list[ImportTicket]:
    raw = await request.body()
    if len(raw) > MAX_BYTES:
        raise UnprocessableEntity(f"At most {MAX_BYTES} bytes per import: send batches.")
    try:
        if request.headers.get("content-type", "").startswith(NDJSON):
            lines = [line for line in raw.decode().splitlines() if line.strip()]
            if not lines or len(lines) > MAX_TICKETS:
                raise UnprocessableEntity(f"Send 1 to {MAX_TICKETS} tickets, one a line.")
            return [ImportTicket.model_validate_json(line) for line in lines]
        return ImportBatch.model_validate_json(raw).tickets
    except ValidationError as exc:
        errors = [{**e, "loc": ("body", *e["loc"])} for e in exc.errors(include_url=False)]
        raise RequestValidationError(errors) from None
    except UnicodeDecodeError as exc:
        raise UnprocessableEntity("An NDJSON import is UTF-8.") from exc


@router.post(
    "/imports/tickets",
    responses=problems(403),
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": {"$ref": "#/components/schemas/ImportBatch"}},
                NDJSON: {"schema": {"type": "string", "description": "One ImportTicket a line."}},
            },
        }
    },
)
async def import_tickets(session: DbSession, actor: AdminUser, request: Request) -> ImportResult:
    """Historical tickets from another helpdesk, with their original timestamps,
    requesters, owners, messages, status changes and ratings. Nothing is sent and
    nobody is notified; every event is marked `imported`, and the tickets count in
    every metric. Idempotent by `external_id`: a ticket imported before is left as it is."""
    tickets = await _tickets(request)
    config: str = request.app.state.settings.search_config
    return await service.import_tickets(session, actor, tickets, config)
