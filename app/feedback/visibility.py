"""Which feedback each caller may see: the one place feedback reads are narrowed.

- staff (admin, supervisor, agent): every record;
- customers: the records they filed or that were filed on their behalf;
- integrations: the records they filed.

A record the caller may not see is reported as not found, never as forbidden.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, false, or_, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from app.errors import NotFound
from app.models import Feedback, Role, User


def feedback_clause(viewer: User) -> ColumnElement[bool]:
    if viewer.role.is_staff:
        return true()
    if viewer.role is Role.CUSTOMER:
        return or_(Feedback.customer_id == viewer.id, Feedback.author_id == viewer.id)
    if viewer.role is Role.INTEGRATION:
        return Feedback.author_id == viewer.id
    return false()


def may_see(viewer: User, feedback: Feedback) -> bool:
    if viewer.role.is_staff:
        return True
    if viewer.role is Role.CUSTOMER:
        return viewer.id in (feedback.customer_id, feedback.author_id)
    return viewer.role is Role.INTEGRATION and feedback.author_id == viewer.id


async def get_visible_feedback(
    session: AsyncSession, viewer: User, feedback_id: int, *, for_update: bool = False
) -> Feedback:
    query = select(Feedback).where(Feedback.id == feedback_id, feedback_clause(viewer))
    if for_update:
        query = query.with_for_update().execution_options(populate_existing=True)
    feedback = await session.scalar(query)
    if feedback is None:
        raise NotFound(f"Feedback {feedback_id} does not exist.")
    return feedback
