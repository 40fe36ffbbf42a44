"""Token scopes: what an integration's token may do beyond what its role allows.

A closed list. Only an admin grants a scope, only on an integration's token, when the
token is issued; a scope never changes afterwards (revoke the token and issue another).
A scope counts only while its user is an integration: a user whose role changes keeps
the tokens but not what their scopes granted.
"""

from __future__ import annotations

from collections.abc import Collection
from enum import StrEnum

from app.models import Role, User


class TokenScope(StrEnum):
    METRICS_READ = "metrics:read"  # the figures, alert history and alert webhooks


def holds(user: User, scopes: Collection[str], scope: TokenScope) -> bool:
    """Whether a request authenticated by a token with `scopes` may use `scope`."""
    return user.role is Role.INTEGRATION and scope.value in scopes
