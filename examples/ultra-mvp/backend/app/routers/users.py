"""The current user's profile."""

from __future__ import annotations

from fastapi import APIRouter

from app.deps import CurrentUser
from app.responses import errors
from app.schemas import UserOut

router = APIRouter(prefix="/users", tags=["users"])


@router.get(
    "/me",
    response_model=UserOut,
    summary="The authenticated user's profile",
    responses=errors(401, 429),
)
async def me(user: CurrentUser) -> UserOut:
    return UserOut.model_validate(user)
