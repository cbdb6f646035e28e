"""Small real applications, each logging in a different way (tests/auth):

- FastAPI (``fastapi_app(variant)``), with its OpenAPI document:
  ``oauth2`` OAuth2 password form at the ``tokenUrl``, a JWT, a registration that checks a
  confirmation field and a required ``terms`` flag, and ``DELETE /users/me``;
  ``nested`` a RealWorld-style ``POST /api/users/login`` with ``{"user": {"email", "password"}}``
  answering ``{"user": {"token": <jwt>}}``, sent as ``Token <jwt>`` (apiKey scheme);
  ``multipart`` a multipart ``POST /session`` whose opaque token comes back in ``X-Auth-Token``
  (an apiKey header scheme);
  ``status`` a JSON ``POST /api/signin`` that answers 200 ``{"status": "fail"}`` to a wrong
  password and 200 ``{"status": "ok", "data": {"jwt": …}}`` to the right one;
- Flask (``flask_form_app()``), no OpenAPI: an HTML login form with a CSRF field; success and
  failure both answer 302 and set a session cookie; ``/`` shows the user and a logout link;
- Django (``django_app()``), no OpenAPI: ``POST /api/auth/login/`` (JSON) answering a DRF-style
  ``{"key": <opaque>}``, ``GET /api/auth/user/`` with ``Authorization: Token <key>``.
"""

# no `from __future__ import annotations`: FastAPI and pydantic read the annotations of the
# handlers and models defined inside the factories below
import secrets
import time
from typing import Any

import jwt
from fastapi import Depends, FastAPI, Form, HTTPException, Request, Response
from fastapi.security import APIKeyHeader, OAuth2PasswordBearer, OAuth2PasswordRequestForm
from pydantic import BaseModel, Field

USER = "alice@example.org"
USERNAME = "alice"
PASSWORD = "correct-horse-battery-7"
SECRET = secrets.token_hex(32)


def make_jwt(sub: str, *, iat: bool = True, lifetime: int | None = 900) -> str:
    """``lifetime=None``: no ``exp`` claim."""
    now = int(time.time())
    claims: dict[str, Any] = {"sub": sub}
    if iat:
        claims["iat"] = now
    if lifetime is not None:
        claims["exp"] = now + lifetime
    return jwt.encode(claims, SECRET, algorithm="HS256")


def subject(token: str, max_age: int | None = None) -> str | None:
    """``max_age``: tokens whose ``iat`` is older are rejected (a maximum age without ``exp``)."""
    try:
        claims = jwt.decode(token, SECRET, algorithms=["HS256"])
    except jwt.PyJWTError:
        return None
    if max_age is not None and time.time() - float(claims.get("iat", 0)) > max_age:
        return None
    sub = claims.get("sub")
    return sub if isinstance(sub, str) else None


def fastapi_app(variant: str, *, deletable: bool = True, iat: bool = True,
                lifetime: int | None = 900, opaque_expires_in: int | None = None,
                max_age: int | None = None, wrapped: bool = False,
                extra_users: dict[str, str] | None = None,
                throttle: list[str] | None = None) -> Any:
    """``deletable=False``: the ``oauth2`` variant offers no way to delete an account; ``iat`` and
    ``lifetime``: the claims of the ``oauth2`` variant's access tokens (``None``: no ``exp``);
    ``max_age``: tokens whose ``iat`` is older are rejected; ``opaque_expires_in``: it issues
    opaque tokens instead, with this ``expires_in``; ``wrapped``: a JWT ``{"token": <opaque>}``
    without ``exp`` or ``iat`` whose inner token expires server-side (microblog-api's shape);
    ``extra_users``: more accounts (user name: password); ``throttle``: the ``oauth2`` variant
    answers its next logins 429 with these ``Retry-After`` values, one each, then logs in (the
    logins of ``USERNAME``, the audit account of the check tests, are never throttled)."""
    app = FastAPI(title=f"login-{variant}")
    users: dict[str, str] = {USER: PASSWORD, USERNAME: PASSWORD, **(extra_users or {})}
    opaque: dict[str, str] = {}

    if variant == "oauth2":
        scheme = OAuth2PasswordBearer(tokenUrl="auth/token")

        class Signup(BaseModel):
            username: str
            email: str
            password: str = Field(min_length=8)
            password_confirm: str
            terms: bool

        @app.post("/auth/token")
        def token(form: OAuth2PasswordRequestForm = Depends()) -> dict[str, Any]:  # noqa: B008
            if throttle and form.username != USERNAME:
                raise HTTPException(429, "Too many login attempts",
                                    headers={"Retry-After": throttle.pop(0)})
            if users.get(form.username) != form.password:
                raise HTTPException(401, "Incorrect username or password")
            if opaque_expires_in is not None:
                tok = secrets.token_urlsafe(24)
                opaque[tok] = form.username
                return {"access_token": tok, "token_type": "bearer", "expires_in": opaque_expires_in}
            if wrapped:
                inner = secrets.token_urlsafe(24)
                opaque[inner] = form.username
                return {"access_token": jwt.encode({"token": inner}, SECRET, algorithm="HS256"),
                        "token_type": "bearer"}
            return {"access_token": make_jwt(form.username, iat=iat, lifetime=lifetime),
                    "token_type": "bearer"}

        @app.post("/auth/register", status_code=201)
        def register(body: Signup) -> dict[str, Any]:
            if body.password != body.password_confirm or not body.terms:
                raise HTTPException(422, "confirm the password and accept the terms")
            users[body.username] = body.password
            return {"id": len(users), "username": body.username}

        def current(tok: str = Depends(scheme)) -> str:  # noqa: B008
            if wrapped:
                try:
                    tok = str(jwt.decode(tok, SECRET, algorithms=["HS256"]).get("token"))
                except jwt.PyJWTError:
                    raise HTTPException(401, "Not authenticated") from None
            sub = opaque.get(tok) or subject(tok, max_age)
            if sub is None or sub not in users:
                raise HTTPException(401, "Not authenticated")
            return sub

        @app.get("/users/me")
        def me(user: str = Depends(current)) -> dict[str, str]:  # noqa: B008
            return {"username": user}

        if deletable:
            @app.delete("/users/me", status_code=204)
            def delete_me(user: str = Depends(current)) -> Response:  # noqa: B008
                users.pop(user, None)
                return Response(status_code=204)

        @app.get("/status")
        def status() -> dict[str, int]:
            return {"users": len(users)}

    elif variant == "nested":
        header = APIKeyHeader(name="Authorization", description="Token authentication: `Token <jwt>`")

        class Credentials(BaseModel):
            email: str
            password: str

        class LoginBody(BaseModel):
            user: Credentials

        @app.post("/api/users/login")
        def login(body: LoginBody) -> dict[str, Any]:
            if users.get(body.user.email) != body.user.password:
                raise HTTPException(422, {"errors": {"email or password": ["is invalid"]}})
            return {"user": {"email": body.user.email, "token": make_jwt(body.user.email)}}

        @app.get("/api/user")
        def me(auth: str = Depends(header)) -> dict[str, Any]:  # noqa: B008
            scheme, _, tok = auth.partition(" ")
            if scheme != "Token" or subject(tok) is None:
                raise HTTPException(401, "Unauthorized")
            return {"user": {"email": subject(tok)}}

    elif variant == "multipart":
        header = APIKeyHeader(name="X-Auth-Token")

        @app.post("/session")
        def session(response: Response, login: str = Form(media_type="multipart/form-data"),
                    password: str = Form(media_type="multipart/form-data")) -> dict[str, str]:
            if users.get(login) != password:
                raise HTTPException(401, "bad credentials")
            tok = secrets.token_urlsafe(24)
            opaque[tok] = login
            response.headers["X-Auth-Token"] = tok
            return {"result": "welcome"}

        @app.get("/whoami")
        def whoami(tok: str = Depends(header)) -> dict[str, str]:  # noqa: B008
            if tok not in opaque:
                raise HTTPException(401, "Unauthorized")
            return {"login": opaque[tok]}

    elif variant == "status":
        bearer = APIKeyHeader(name="Authorization", auto_error=False)

        class SignIn(BaseModel):
            login: str
            password: str

        @app.post("/api/signin")
        def signin(body: SignIn) -> dict[str, Any]:
            if users.get(body.login) != body.password:
                return {"status": "fail", "message": "wrong login or password"}
            return {"status": "ok", "data": {"jwt": make_jwt(body.login)}}

        @app.get("/api/profile")
        def profile(request: Request, auth: str | None = Depends(bearer)) -> dict[str, Any]:  # noqa: B008
            tok = (auth or "").removeprefix("Bearer ")
            if subject(tok) is None:
                raise HTTPException(401, "Unauthorized")
            return {"login": subject(tok)}
    elif variant == "degrading":  # answers three times, then fails for good
        calls = {"n": 0}

        @app.get("/health")
        def health() -> Response:
            calls["n"] += 1
            if calls["n"] > 3:
                return Response("database connection pool exhausted", status_code=503)
            return Response('{"status": "ok"}', media_type="application/json")
    else:  # pragma: no cover - a test's typo
        raise ValueError(variant)
    return app


def flask_form_app() -> Any:
    from flask import Flask, redirect, render_template_string, request, session

    app = Flask("login-form")
    app.secret_key = secrets.token_hex(16)
    page = """<html><body><h1>Sign in</h1>{% if msg %}<p>{{ msg }}</p>{% endif %}
<form method="post" action="/login"><input type="hidden" name="csrf_token" value="{{ csrf }}">
<input type="email" name="email"><input type="password" name="password">
<button type="submit" name="go" value="1">Sign in</button></form></body></html>"""

    @app.get("/login")
    def login_page() -> Any:
        session.setdefault("csrf", secrets.token_hex(16))
        return render_template_string(page, csrf=session["csrf"], msg=session.pop("msg", ""))

    @app.post("/login")
    def login() -> Any:
        if request.form.get("csrf_token") != session.get("csrf"):
            return "CSRF token missing or wrong", 400
        if request.form.get("email") == USER and request.form.get("password") == PASSWORD:
            session["user"] = USER
            return redirect("/")
        session["msg"] = "Invalid e-mail or password"
        return redirect("/")

    @app.get("/")
    def home() -> Any:
        if "user" not in session:
            return redirect("/login")
        return f"<html><body>Hello {session['user']} <a href='/logout'>Log out</a></body></html>"

    return app


_DJANGO_READY = False


def django_app() -> Any:
    """A WSGI application (Django settings configured once per process)."""
    global _DJANGO_READY
    import django
    from django.conf import settings

    if not _DJANGO_READY:
        settings.configure(
            DEBUG=False, SECRET_KEY=secrets.token_hex(16), ALLOWED_HOSTS=["127.0.0.1", "localhost"],
            ROOT_URLCONF=__name__, MIDDLEWARE=["django.middleware.common.CommonMiddleware"],
            INSTALLED_APPS=[], DATABASES={}, USE_TZ=True,
        )
        django.setup()
        _DJANGO_READY = True
    from django.core.wsgi import get_wsgi_application

    return get_wsgi_application()


_TOKENS: dict[str, str] = {}


def _django_login(request: Any) -> Any:
    import json

    from django.http import JsonResponse

    if request.method != "POST":
        return JsonResponse({"detail": 'Method "GET" not allowed.'}, status=405)
    try:
        body = json.loads(request.body or b"{}")
    except ValueError:
        return JsonResponse({"detail": "JSON parse error"}, status=400)
    if body.get("username") != USERNAME or body.get("password") != PASSWORD:
        return JsonResponse({"non_field_errors": ["Unable to log in with provided credentials."]},
                            status=400)
    key = secrets.token_hex(20)
    _TOKENS[key] = USERNAME
    return JsonResponse({"key": key})


def _django_user(request: Any) -> Any:
    from django.http import JsonResponse

    scheme, _, key = request.headers.get("Authorization", "").partition(" ")
    if scheme != "Token" or key not in _TOKENS:
        return JsonResponse({"detail": "Authentication credentials were not provided."}, status=401)
    return JsonResponse({"username": _TOKENS[key]})


def _urls() -> list[Any]:
    from django.urls import path
    from django.views.decorators.csrf import csrf_exempt

    return [path("api/auth/login/", csrf_exempt(_django_login)), path("api/auth/user/", _django_user)]


def __getattr__(name: str) -> Any:  # ROOT_URLCONF = this module: urlpatterns built lazily
    if name == "urlpatterns":
        return _urls()
    raise AttributeError(name)
