"""Administration: the user list (role admin only)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from sqlalchemy import select

from app.deps import DbDep, require_admin
from app.models import User
from app.responses import errors
from app.schemas import AdminUserOut
from app.settings import Settings


def build_router(settings: Settings) -> APIRouter:
    """The admin router; the unauthenticated-admin flaw drops its role check."""
    guard = [] if settings.has("unauthenticated-admin") else [Depends(require_admin)]
    router = APIRouter(prefix="/admin", tags=["admin"], dependencies=guard)

    @router.get(
        "/users",
        response_model=list[AdminUserOut],
        summary="List all users (admin only)",
        responses=errors(401, 403, 429),
    )
    def list_users(
        db: DbDep,
        limit: Annotated[int, Query(ge=1, le=100)] = 50,
        offset: Annotated[int, Query(ge=0)] = 0,
    ) -> list[AdminUserOut]:
        users = db.scalars(select(User).order_by(User.id).limit(limit).offset(offset))
        return [AdminUserOut.model_validate(user) for user in users]

    return router
