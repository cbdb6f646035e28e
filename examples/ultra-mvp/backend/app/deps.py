"""FastAPI dependencies: settings, database sessions, the current user, roles."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import OAuth2PasswordBearer
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from app.db import session_scope
from app.models import User
from app.security import ACCESS, Denylist, TokenError, TokenService
from app.settings import Settings

log = logging.getLogger("ultra.auth")

oauth2_scheme = OAuth2PasswordBearer(tokenUrl="/auth/token", auto_error=True)

CREDENTIALS_ERROR = "Could not validate credentials"


def get_settings(request: Request) -> Settings:
    """The application's validated settings (dependency)."""
    return request.app.state.settings  # type: ignore[no-any-return]


def get_db(request: Request) -> Iterator[Session]:
    """A database session for one request, closed afterwards (dependency)."""
    yield from session_scope(request.app.state.sessionmaker)


def unauthorized(detail: str = CREDENTIALS_ERROR) -> HTTPException:
    """A 401 with ``WWW-Authenticate: Bearer`` and a fixed, non-revealing message."""
    return HTTPException(
        status_code=status.HTTP_401_UNAUTHORIZED,
        detail=detail,
        headers={"WWW-Authenticate": "Bearer"},
    )


async def get_token_claims(
    request: Request, token: Annotated[str, Depends(oauth2_scheme)]
) -> dict[str, Any]:
    """Verify the bearer token (signature, claims, type) and that it is not revoked."""
    tokens: TokenService = request.app.state.tokens
    denylist: Denylist = request.app.state.denylist
    try:
        claims = tokens.decode(token, ACCESS)
    except TokenError as exc:
        log.info("rejected bearer token: %s", exc)
        raise unauthorized() from None
    if await denylist.is_revoked(str(claims["jti"])):
        raise unauthorized("Token has been revoked")
    return claims


async def get_current_user(
    claims: Annotated[dict[str, Any], Depends(get_token_claims)],
    db: Annotated[Session, Depends(get_db)],
) -> User:
    """The active user the access token belongs to; 401 when it is gone or disabled."""
    user = await run_in_threadpool(db.get, User, int(claims["sub"]))
    if user is None or not user.is_active:
        raise unauthorized()
    return user


async def require_admin(user: Annotated[User, Depends(get_current_user)]) -> User:
    """The current user when their role is ``admin``; 403 otherwise."""
    if user.role != "admin":
        raise HTTPException(status_code=status.HTTP_403_FORBIDDEN, detail="Admin role required")
    return user


SettingsDep = Annotated[Settings, Depends(get_settings)]
DbDep = Annotated[Session, Depends(get_db)]
CurrentUser = Annotated[User, Depends(get_current_user)]
