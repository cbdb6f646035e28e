"""Registration, login (OAuth2 password form), token refresh and logout."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Cookie, Depends, HTTPException, Request, Response, status
from fastapi.security import OAuth2PasswordRequestForm
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from starlette.concurrency import run_in_threadpool

from app.deps import DbDep, SettingsDep, get_token_claims, unauthorized
from app.metrics import Metrics
from app.models import User
from app.ratelimit import LoginLockout, client_ip, enforce, too_many_requests
from app.responses import errors
from app.schemas import Links, RefreshRequest, RegisteredUser, RegisterRequest, TokenResponse
from app.security import REFRESH, Denylist, TokenError, TokenService, hash_password, verify_password
from app.settings import Settings

log = logging.getLogger("ultra.auth")
router = APIRouter(prefix="/auth", tags=["auth"])

REFRESH_COOKIE = "refresh_token"
COOKIE_PATH = "/auth"
LOGIN_FAILED = "Incorrect email or password"


def _set_refresh_cookie(response: Response, token: str, settings: Settings) -> None:
    insecure = settings.has("insecure-cookie")
    response.set_cookie(
        REFRESH_COOKIE,
        token,
        max_age=settings.refresh_token_expire_days * 86400,
        path=COOKIE_PATH,
        secure=not insecure,
        httponly=not insecure,
        samesite=None if insecure else "strict",
    )


def _clear_refresh_cookie(response: Response, settings: Settings) -> None:
    insecure = settings.has("insecure-cookie")
    response.delete_cookie(
        REFRESH_COOKIE,
        path=COOKIE_PATH,
        secure=not insecure,
        httponly=not insecure,
        samesite=None if insecure else "strict",
    )


def _issue_pair(request: Request, user: User, response: Response) -> TokenResponse:
    tokens: TokenService = request.app.state.tokens
    access = tokens.issue_access(user.id, user.role)
    refresh = tokens.issue_refresh(user.id, user.role)
    _set_refresh_cookie(response, refresh.token, request.app.state.settings)
    return TokenResponse(
        access_token=access.token, refresh_token=refresh.token, expires_in=access.expires_in
    )


@router.post(
    "/register",
    status_code=status.HTTP_201_CREATED,
    response_model=RegisteredUser,
    summary="Create an account",
    description="Creates a user with role `user`. Passwords need at least 12 characters.",
    responses=errors(409, 413, 429),
)
async def register(
    request: Request, body: RegisterRequest, db: DbDep, settings: SettingsDep
) -> RegisteredUser:
    await enforce(request, "register", client_ip(request.scope, settings), settings.login_rate)

    def create() -> User | None:
        if db.scalar(select(User.id).where(User.email == body.email)) is not None:
            return None
        user = User(
            email=body.email,
            password_hash=hash_password(body.password, settings.bcrypt_rounds),
            role="user",
        )
        db.add(user)
        try:
            db.commit()
        except IntegrityError:
            db.rollback()
            return None
        return user

    user = await run_in_threadpool(create)
    if user is None:
        raise HTTPException(status_code=status.HTTP_409_CONFLICT, detail="Email already registered")
    log.info("user registered", extra={"extra_fields": {"user_id": user.id}})
    if settings.has("host-header-injection"):
        host = request.headers.get("host", "localhost")
        self_link = f"{request.url.scheme}://{host}/users/me"
    else:
        self_link = "/users/me"
    return RegisteredUser.model_validate(
        {"id": user.id, "email": user.email, "role": user.role, "links": Links(self=self_link)}
    )


@router.post(
    "/token",
    response_model=TokenResponse,
    summary="Log in (OAuth2 password flow)",
    description=(
        "Form fields `username` (the email) and `password`. Returns an access token and a "
        "refresh token; the refresh token is also set as the `refresh_token` cookie "
        "(HttpOnly; Secure; SameSite=Strict; Path=/auth)."
    ),
    responses=errors(401, 429),
)
async def login(
    request: Request,
    response: Response,
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
    db: DbDep,
    settings: SettingsDep,
) -> TokenResponse:
    metrics: Metrics = request.app.state.metrics
    if not settings.has("no-login-throttle"):
        try:
            await enforce(request, "login", client_ip(request.scope, settings), settings.login_rate)
        except HTTPException:
            metrics.logins.labels(outcome="throttled").inc()
            raise
    lockout: LoginLockout = request.app.state.lockout
    email = form.username.strip().lower()
    locked_for = await lockout.locked_for(email)
    if locked_for:
        metrics.logins.labels(outcome="locked").inc()
        log.warning("login refused: account locked")
        raise too_many_requests(
            {"Retry-After": str(locked_for)}, "Too many failed login attempts; try again later"
        )

    def check() -> User | None:
        user = db.scalar(select(User).where(User.email == email))
        if user is None:
            if settings.has("user-enumeration"):
                raise HTTPException(status_code=status.HTTP_404_NOT_FOUND, detail="User not found")
            verify_password(form.password, request.app.state.dummy_hash.value)
            return None
        if not verify_password(form.password, user.password_hash) or not user.is_active:
            return None
        user.last_login_at = datetime.now(UTC)
        db.commit()
        return user

    user = await run_in_threadpool(check)
    if user is None:
        await lockout.record_failure(email)
        metrics.logins.labels(outcome="failure").inc()
        detail = "Incorrect password" if settings.has("user-enumeration") else LOGIN_FAILED
        raise unauthorized(detail)
    await lockout.reset(email)
    metrics.logins.labels(outcome="success").inc()
    log.info("login succeeded", extra={"extra_fields": {"user_id": user.id}})
    return _issue_pair(request, user, response)


@router.post(
    "/refresh",
    response_model=TokenResponse,
    summary="Exchange a refresh token for new tokens",
    description=(
        "Takes the refresh token from the body, or from the `refresh_token` cookie when the "
        "body has none. The refresh token is rotated: the old one is revoked."
    ),
    responses=errors(401, 429, 503),
)
async def refresh(
    request: Request,
    response: Response,
    db: DbDep,
    body: RefreshRequest | None = None,
    refresh_cookie: Annotated[str | None, Cookie(alias=REFRESH_COOKIE)] = None,
) -> TokenResponse:
    token = (body.refresh_token if body else None) or refresh_cookie
    if not token:
        raise unauthorized("Missing refresh token")
    tokens: TokenService = request.app.state.tokens
    denylist: Denylist = request.app.state.denylist
    try:
        claims = tokens.decode(token, REFRESH)
    except TokenError:
        raise unauthorized("Invalid refresh token") from None
    if await denylist.is_revoked(str(claims["jti"])):
        raise unauthorized("Refresh token has been revoked")
    user = await run_in_threadpool(db.get, User, int(claims["sub"]))
    if user is None or not user.is_active:
        raise unauthorized("Invalid refresh token")
    await denylist.revoke(str(claims["jti"]), tokens.seconds_left(claims, 86400))
    return _issue_pair(request, user, response)


@router.post(
    "/logout",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    summary="Log out: revoke the access token (and the refresh cookie)",
    responses=errors(401, 503),
)
async def logout(
    request: Request,
    claims: Annotated[dict[str, Any], Depends(get_token_claims)],
    settings: SettingsDep,
    refresh_cookie: Annotated[str | None, Cookie(alias=REFRESH_COOKIE)] = None,
) -> Response:
    response = Response(status_code=status.HTTP_204_NO_CONTENT)
    if settings.has("no-logout-revocation"):
        return response
    tokens: TokenService = request.app.state.tokens
    denylist: Denylist = request.app.state.denylist
    default_ttl = int(tokens.access_lifetime().total_seconds())
    await denylist.revoke(str(claims["jti"]), tokens.seconds_left(claims, default_ttl))
    if refresh_cookie:
        try:
            refresh_claims = tokens.decode(refresh_cookie, REFRESH)
        except TokenError:
            refresh_claims = None
        if refresh_claims and refresh_claims.get("sub") == claims.get("sub"):
            ttl = tokens.seconds_left(refresh_claims, 86400)
            await denylist.revoke(str(refresh_claims["jti"]), ttl)
    _clear_refresh_cookie(response, settings)
    log.info("logout", extra={"extra_fields": {"user_id": claims.get("sub")}})
    return response
