"""HTTP for bulk changes."""

from __future__ import annotations

from fastapi import APIRouter

from app.auth.dependencies import StaffUser
from app.bulk import service
from app.bulk.schemas import BulkChange, BulkOut
from app.common.openapi import problems
from app.db import DbSession

router = APIRouter(tags=["tickets"])


@router.post("/tickets/bulk", responses=problems(403, 422))
async def bulk_change(session: DbSession, actor: StaffUser, data: BulkChange) -> BulkOut:
    """One status, assignment or tag change to many tickets (at most 100).

    Each ticket is changed as if alone: its own rules, its own optimistic check (its
    version in `versions`), its own timeline event. A ticket that cannot be changed
    gets the status and problem it would have had alone; the others are still changed.
    """
    return BulkOut(results=await service.apply(session, actor, data))
