"""A FastAPI application with a two-step password reset (``POST /auth/forgot-password`` with an
e-mail address, ``POST /auth/reset-password`` with the token and the new password), optionally
limited: ``limit=N`` answers 429 with ``Retry-After`` after N requests. ``sent`` records the
addresses a reset was requested for."""

# no `from __future__ import annotations`: FastAPI reads the handlers' annotations
from typing import Any

from fastapi import FastAPI, HTTPException, Response
from pydantic import BaseModel


def reset_app(*, limit: int | None, sent: list[str]) -> Any:
    app = FastAPI(title="reset")

    class Forgot(BaseModel):
        email: str

    class Reset(BaseModel):
        token: str
        new_password: str

    @app.post("/auth/forgot-password", status_code=202)
    def forgot(body: Forgot) -> Any:
        if limit is not None and len(sent) >= limit:
            return Response(status_code=429, headers={"Retry-After": "3600"})
        sent.append(body.email)
        return {"detail": "if the address is known, a reset link was sent"}

    @app.post("/auth/reset-password")
    def reset(body: Reset) -> Any:
        raise HTTPException(400, "invalid token")

    return app
