"""Small real applications for the live probes of issue 17 (tests/checks/security/
test_sec_live_probes.py), each with a problem (``flawed=True``) or without it:

- FastAPI (``private_api(flawed)``), with its OpenAPI document: an OAuth2 password login at the
  ``tokenUrl``, ``GET /me`` (``Cache-Control: public, max-age=60`` when flawed, ``private,
  no-store`` otherwise), Starlette's CORSMiddleware for ``http://localhost:3000`` with
  credentials and ``*`` methods and headers when flawed (explicit lists otherwise), ``GET
  /greet?name=`` that builds a Jinja2 template from the name when flawed, and a 404 page that
  renders the requested path as a template when flawed;
- FastAPI (``error_trigger_api(routed)``): a demo endpoint that raises on purpose, with the
  Django URL tables that declare it (``DJANGO_ERROR_URLS``, the audited repository);
- FastAPI (``chat_api(provider, handled)``): ``POST /chat`` forwards messages of any role to the
  fake OpenAI-compatible provider (``fake_provider()``); a provider error becomes a 500 unless
  handled (a JSON 502);
- Flask (``ACTIVITY_APP``, no OpenAPI): ``POST /api/activities/`` reads ``{"month": …}`` and
  formats it into SQL when flawed (bound parameters otherwise);
- aiohttp (``aiohttp_form_login(flawed)``), no OpenAPI: a server-side session set by the login
  page (``AIOHTTP_SESSION``, no flags and kept across the login when flawed; ``Secure; HttpOnly;
  SameSite=Lax`` and renewed at the login otherwise), an HTML login form with a CSRF field.
"""

# no `from __future__ import annotations`: FastAPI reads the handlers' annotations
import asyncio
import secrets
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import jinja2
from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.security import OAuth2PasswordBearer, OAuth2PasswordRequestForm
from starlette.middleware.cors import CORSMiddleware

from prodaudit.ports import bound_socket

USER = "carol@example.org"
PASSWORD = "staple-battery-horse-9"
ORIGIN = "http://localhost:3000"


def private_api(flawed: bool) -> FastAPI:
    app = FastAPI(title="private-api")
    app.add_middleware(
        CORSMiddleware, allow_origins=[ORIGIN], allow_credentials=True,
        allow_methods=["*"] if flawed else ["GET", "POST"],
        allow_headers=["*"] if flawed else ["Authorization", "Content-Type"],
    )
    scheme = OAuth2PasswordBearer(tokenUrl="token")
    tokens: dict[str, str] = {}

    @app.post("/token")
    def token(form: OAuth2PasswordRequestForm = Depends()) -> dict[str, str]:  # noqa: B008
        if form.username != USER or form.password != PASSWORD:
            raise HTTPException(401, "Incorrect username or password")
        tok = secrets.token_urlsafe(24)
        tokens[tok] = form.username
        return {"access_token": tok, "token_type": "bearer"}

    def current(tok: str = Depends(scheme)) -> str:  # noqa: B008
        if tok not in tokens:
            raise HTTPException(401, "Not authenticated")
        return tokens[tok]

    @app.get("/me")
    def me(user: str = Depends(current)) -> JSONResponse:  # noqa: B008
        cache = "public, max-age=60" if flawed else "private, no-store"
        return JSONResponse({"email": user, "plan": "pro"}, headers={"Cache-Control": cache})

    @app.get("/greet", response_class=HTMLResponse)
    def greet(name: str = "world") -> str:
        if flawed:
            return jinja2.Template("<p>Hello " + name + "</p>").render()
        return jinja2.Environment(autoescape=True).from_string(
            "<p>Hello {{ name }}</p>").render(name=name)

    @app.exception_handler(404)
    async def not_found(request: Request, _: Exception) -> HTMLResponse:
        text = jinja2.Template("Not found: " + request.url.path).render() if flawed else "Not found"
        return HTMLResponse(f"<p>{text}</p>", status_code=404)

    return app


def error_trigger_api(routed: bool) -> FastAPI:
    """``GET /api/errors/trigger/exception/`` raises on purpose when ``routed`` (a demo endpoint
    left in production); otherwise only ``/api/ping`` exists."""
    app = FastAPI(title="errors")

    @app.get("/api/ping")
    def ping() -> dict[str, bool]:
        return {"pong": True}

    if routed:
        @app.get("/api/errors/trigger/exception/")
        def trigger() -> None:
            raise RuntimeError("triggered on purpose")

    return app


DJANGO_ERROR_URLS = {
    "config/urls.py": 'from django.urls import include, path\nurlpatterns = [\n'
                      '    path("api/", include(("shop.errors.urls", "errors"))),\n]\n',
    "shop/errors/urls.py": 'from django.urls import path\nurlpatterns = [\n'
                           '    path("errors/trigger/exception/", TriggerApi.as_view()),\n]\n',
}


def fake_provider() -> FastAPI:
    """The OpenAI-compatible stand-in of the field harness (it refuses unknown roles as OpenAI
    does)."""
    import importlib.util
    import sys
    from pathlib import Path

    path = Path(__file__).resolve().parents[2] / "examples/ultra-mvp/tools/fake_llm_provider.py"
    spec = importlib.util.spec_from_file_location("fake_llm_provider_under_test", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # pydantic resolves the models' annotations through it
    spec.loader.exec_module(module)
    app: FastAPI = module.app
    return app


def chat_api(provider: str, handled: bool) -> FastAPI:
    """``POST /chat`` forwards the client's messages (any role) to ``provider``; a provider error
    raises (a 500) unless ``handled`` (a JSON 502)."""
    import httpx
    from pydantic import BaseModel

    class Message(BaseModel):
        content: str
        role: str = "user"

    class ChatRequest(BaseModel):
        messages: list[Message]

    app = FastAPI(title="chat")

    @app.post("/chat")
    def chat(body: ChatRequest) -> JSONResponse:
        answer = httpx.post(f"{provider}/v1/chat/completions", timeout=10,
                            headers={"Authorization": "Bearer sk-test"},
                            json={"model": "fake-gpt",
                                  "messages": [m.model_dump() for m in body.messages]})
        if answer.status_code >= 400:
            if handled:
                return JSONResponse({"detail": "LLM provider error"}, status_code=502)
            answer.raise_for_status()
        return JSONResponse({"message": answer.json()["choices"][0]["message"]})

    return app


# a Flask API without an OpenAPI document, written into the audited repository and served from
# there: its handler reads a JSON body field and formats it into SQL when FLAWED
ACTIVITY_APP = """
import sqlite3

from flask import Flask, jsonify, request

FLAWED = {flawed}
app = Flask(__name__)
db = sqlite3.connect(":memory:", check_same_thread=False)
db.execute("CREATE TABLE tracker (month INTEGER, steps INTEGER)")
db.execute("INSERT INTO tracker VALUES (1, 5000)")


@app.post("/api/activities/")
def activities():
    month = request.get_json(force=True)["month"]
    try:
        if FLAWED:
            rows = db.execute("SELECT steps FROM tracker WHERE month=%s" % month).fetchall()
        else:
            rows = db.execute("SELECT steps FROM tracker WHERE month=?", (month,)).fetchall()
    except sqlite3.Error as exc:
        return jsonify(error="sqlite3.OperationalError: %s" % exc), 400
    return jsonify([r[0] for r in rows])
"""


@contextmanager
def aiohttp_form_login(flawed: bool) -> Iterator[str]:
    """Yields the base URL of the aiohttp form-login app served in a thread."""
    from aiohttp import web

    sessions: dict[str, dict[str, str]] = {}
    flags = {} if flawed else {"secure": True, "httponly": True, "samesite": "Lax"}

    def session_of(request: web.Request) -> tuple[str, dict[str, str]]:
        sid = request.cookies.get("AIOHTTP_SESSION", "")
        if sid not in sessions:
            sid = secrets.token_hex(16)
            sessions[sid] = {"csrf": secrets.token_hex(8)}
        return sid, sessions[sid]

    async def index(request: web.Request) -> web.Response:
        sid, sess = session_of(request)
        if "user" in sess:
            body = f"<p>Hello {sess['user']}</p><a href='/logout/'>Log out</a>"
        else:
            body = ("<form method='post' action='/'>"
                    f"<input type='hidden' name='_csrf_token' value='{sess['csrf']}'>"
                    "<input name='username'><input type='password' name='password'>"
                    "<input type='submit' value='Log in'></form>")
        resp = web.Response(text=f"<html><body>{body}</body></html>", content_type="text/html")
        resp.set_cookie("AIOHTTP_SESSION", sid, path="/", **flags)
        return resp

    async def login(request: web.Request) -> web.Response:
        sid, sess = session_of(request)
        form = await request.post()
        if form.get("_csrf_token") != sess["csrf"]:
            return web.Response(status=403, text="CSRF token missing or wrong")
        if form.get("username") != USER or form.get("password") != PASSWORD:
            return web.Response(text="<p>Invalid username or password</p>", content_type="text/html")
        if not flawed:  # a new session id at the login
            sessions.pop(sid, None)
            sid = secrets.token_hex(16)
        sessions[sid] = {**sess, "user": USER}
        resp = web.HTTPFound("/")
        resp.set_cookie("AIOHTTP_SESSION", sid, path="/", **flags)
        raise resp

    app = web.Application()
    app.add_routes([web.get("/", index), web.post("/", login)])
    sock = bound_socket()  # the site gets the socket: no other process can take the port
    port = int(sock.getsockname()[1])
    loop = asyncio.new_event_loop()
    runner = web.AppRunner(app)
    started = threading.Event()

    def run() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(runner.setup())
        loop.run_until_complete(web.SockSite(runner, sock).start())
        started.set()
        loop.run_forever()

    thread = threading.Thread(target=run, name=f"aiohttp-{port}", daemon=True)
    thread.start()
    try:
        if not started.wait(15):
            raise RuntimeError("the aiohttp test server did not start")
        yield f"http://127.0.0.1:{port}"
    finally:
        asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
