"""Bootstrap: the first admin, created from the command line."""

from __future__ import annotations

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import create_async_engine

from app.auth.service import issue_bootstrap_token
from app.db import create_sessionmaker
from app.models import Role, User
from app.people.schemas import UserCreate
from app.people.service import find_user_by_email


def validate_admin(*, email: str, name: str) -> UserCreate:
    """Check the command line's input before touching any database."""
    try:
        return UserCreate(email=email, name=name, role=Role.ADMIN)
    except ValidationError as exc:
        error = exc.errors()[0]
        field = ".".join(str(part) for part in error["loc"])
        raise ValueError(f"invalid admin {field}: {error['msg']}") from None


async def create_admin(database_url: str, *, email: str, name: str) -> str:
    """Create an active admin (or promote nobody: an existing email is an error)."""
    data = validate_admin(email=email, name=name)
    engine = create_async_engine(database_url)
    try:
        async with create_sessionmaker(engine)() as session, session.begin():
            if await find_user_by_email(session, data.email) is not None:
                raise ValueError(f"a user with the email {data.email.lower()} already exists")
            user = User(email=data.email.lower(), name=data.name, role=Role.ADMIN)
            session.add(user)
            await session.flush()
            return await issue_bootstrap_token(session, user, "created by helpdesk create-admin")
    finally:
        await engine.dispose()
