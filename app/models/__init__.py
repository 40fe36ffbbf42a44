"""Every ORM model, one module per aggregate. Importing this package registers them all."""

from app.models.base import Base
from app.models.team import AssignmentMode, Team, TeamMember
from app.models.user import STAFF_ROLES, ApiToken, Role, User

__all__ = [
    "STAFF_ROLES",
    "ApiToken",
    "AssignmentMode",
    "Base",
    "Role",
    "Team",
    "TeamMember",
    "User",
]
