"""Request dependencies: services, a request-scoped session, the API-key user."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import select

from justtrades.app import Services
from justtrades.crypto import hash_api_key
from justtrades.models import ApiKey, User

bearer = HTTPBearer(auto_error=False, description="An API key: `justtrades apikey create`")


def services(request: Request) -> Services:
    found: Services = request.app.state.services
    return found


async def session(svc: Annotated[Services, Depends(services)]) -> AsyncIterator[AsyncSession]:
    """One session per request: committed when the handler returns, rolled back on error."""
    async with svc.sessions() as s:
        try:
            yield s
            await s.commit()
        except BaseException:
            await s.rollback()
            raise


async def current_user(
    s: Annotated[AsyncSession, Depends(session)],
    svc: Annotated[Services, Depends(services)],
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> User:
    if credentials is None or not credentials.credentials:
        raise HTTPException(
            401,
            "missing API key: send Authorization: Bearer <key>",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return await _user_of(s, svc, credentials.credentials)


async def optional_admin(
    s: Annotated[AsyncSession, Depends(session)],
    svc: Annotated[Services, Depends(services)],
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> User | None:
    """None without a key; the admin with an admin key; 401 for a bad key, 403 for a key that
    is not an admin's (a key sent and ignored would be a silent surprise)."""
    if credentials is None or not credentials.credentials:
        return None
    user = await _user_of(s, svc, credentials.credentials)
    if not user.is_admin:
        raise HTTPException(403, "this detail needs an admin's API key; send none for the summary")
    return user


async def _user_of(s: AsyncSession, svc: Services, api_key: str) -> User:
    key_hash = hash_api_key(api_key)
    row = (
        await s.execute(
            select(ApiKey, User)
            .join(User, ApiKey.user_id == User.id)  # type: ignore[arg-type]
            .where(ApiKey.key_hash == key_hash, ApiKey.revoked_at == None)  # noqa: E711
        )
    ).first()
    if row is None:
        raise HTTPException(
            401, "unknown or revoked API key", headers={"WWW-Authenticate": "Bearer"}
        )
    key, user = row
    now = svc.clock.now()
    if key.last_used_at is None or (now - key.last_used_at).total_seconds() > 60:
        key.last_used_at = now  # at most a write a minute per key, not one per request
    return user


Session = Annotated[AsyncSession, Depends(session)]
CurrentUser = Annotated[User, Depends(current_user)]
OptionalAdmin = Annotated[User | None, Depends(optional_admin)]
Svc = Annotated[Services, Depends(services)]
