"""A FastAPI API that issues HS256 JWTs correctly but never checks them: it decodes tokens
without verifying the signature or the expiry (PyJWT ``verify_signature=False``), the mistake
behind accepted stripped, edited, re-signed and expired tokens. More flaws: ``/reports`` takes any
``X-API-Key`` value, the empty one included; ``/auth/refresh`` answers without a new access
token; ``/auth/register`` stores nothing; ``POST /notes`` fails on every valid note; with
``broken_health`` the liveness endpoint answers 500. Used to show that these checks can fail
(issue 18, tests/check_outcomes.py)."""

from __future__ import annotations

import secrets
import time
from typing import Any

import jwt
from fastapi import Body, Depends, FastAPI, HTTPException
from fastapi.responses import JSONResponse
from fastapi.security import APIKeyHeader, OAuth2PasswordBearer, OAuth2PasswordRequestForm
from pydantic import BaseModel

USER = "careless@example.org"
PASSWORD = "correct-horse-battery-staple"


class NoteIn(BaseModel):
    title: str


def make_app(broken_health: bool = False, secret: str | None = None) -> FastAPI:
    secret = secret or secrets.token_hex(32)
    app = FastAPI(title="careless-jwt")
    oauth2 = OAuth2PasswordBearer(tokenUrl="/auth/token", auto_error=False)

    def current_user(token: str | None = Depends(oauth2)) -> str:
        if not token:
            raise HTTPException(401, "not authenticated")
        try:  # the flaw: the claims are read, the signature and the expiry are not checked
            claims = jwt.decode(token, options={"verify_signature": False, "verify_exp": False})
        except jwt.PyJWTError:
            raise HTTPException(401, "bad token") from None
        return str(claims.get("sub", ""))

    @app.get("/health")
    def health() -> Any:
        if broken_health:
            return JSONResponse({"status": "error", "detail": "database unreachable"}, 500)
        return {"status": "ok"}

    @app.post("/auth/token")
    def token(form: OAuth2PasswordRequestForm = Depends()) -> dict[str, str]:  # noqa: B008
        if form.username != USER or form.password != PASSWORD:
            raise HTTPException(401, "invalid credentials")
        now = int(time.time())
        claims = {"sub": form.username, "iat": now, "exp": now + 900, "type": "access"}
        return {"access_token": jwt.encode(claims, secret, algorithm="HS256"),
                "refresh_token": secrets.token_urlsafe(24), "token_type": "bearer"}

    @app.post("/auth/refresh")
    def refresh(refresh_token: str = Body(..., embed=True)) -> dict[str, str]:  # noqa: B008
        return {"status": "refreshed"}  # the flaw: no new access token in the answer

    @app.post("/auth/register", status_code=201)
    def register(email: str = Body(...), password: str = Body(...)) -> dict[str, str]:  # noqa: B008
        return {"email": email}  # the flaw: the account is never stored

    @app.get("/me")
    def me(user: str = Depends(current_user)) -> dict[str, str]:
        return {"email": user}

    @app.get("/notes")
    def notes(user: str = Depends(current_user)) -> list[dict[str, str]]:
        return [{"owner": user, "title": "first"}]

    @app.post("/notes", status_code=201)
    def create_note(note: NoteIn, user: str = Depends(current_user)) -> dict[str, str]:
        raise HTTPException(500, "could not store the note")  # the flaw: every write fails

    api_key = APIKeyHeader(name="X-API-Key", auto_error=False)

    @app.get("/reports")
    def reports(key: str | None = Depends(api_key)) -> list[dict[str, int]]:
        if key is None:  # the flaw: any value is a valid key, the empty one included
            raise HTTPException(401, "API key required")
        return [{"id": 1}]

    return app
