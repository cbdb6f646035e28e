"""Real servers with (``flawed=True``) and without the problems the live probes look for:

- ``leaky_api``: FastAPI with an OAuth2 password login (JWT), an items search built by string
  formatting on SQLite, a traceback on a bad id, a user list with e-mail addresses and password
  hashes, a configuration dump at ``/debug/config``, an open user update, an open chat endpoint
  and no trusted-host list — or none of that;
- ``flask_pages``: Flask under werkzeug with the Werkzeug debugger, pages linking to a route with
  a path parameter, and health shapes (a look-alike ``/health/`` page, a catch-all 200 page, a
  constant ``true`` status);
- ``aiohttp_pages``: aiohttp in debug mode with an HTML search form whose handler formats SQL.

Each runs on a free port of 127.0.0.1 in a background thread."""


import asyncio
import sqlite3
import threading
import time
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any

import jwt
from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse, PlainTextResponse
from fastapi.security import OAuth2PasswordBearer, OAuth2PasswordRequestForm
from pydantic import BaseModel
from starlette.middleware.trustedhost import TrustedHostMiddleware

from prodaudit.ports import bound_socket

USER = "probe-audit@example.com"
PASSWORD = "probe-audit-password-8271"
HASH = "$2b$12$" + "N" * 53  # shaped like a bcrypt hash
SMTP_PASSWORD = "mail-relay-pw-5521"  # a secret under a prefixed name the run never registers


def _db() -> sqlite3.Connection:
    db = sqlite3.connect(":memory:", check_same_thread=False)
    db.execute("CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT)")
    db.executemany("INSERT INTO items (name) VALUES (?)", [("kettle",), ("teapot",)])
    return db


class Message(BaseModel):
    role: str = "user"
    content: str


class NewUser(BaseModel):
    email: str
    password: str


class ChatRequest(BaseModel):
    messages: list[Message]


def leaky_api(flawed: bool, secret: str) -> FastAPI:
    """The FastAPI app; ``secret`` signs its tokens."""
    app = FastAPI()
    if not flawed:
        app.add_middleware(TrustedHostMiddleware, allowed_hosts=["127.0.0.1", "localhost"])
    db = _db()
    oauth2 = OAuth2PasswordBearer(tokenUrl="/token")

    def current_user(token: Annotated[str, Depends(oauth2)]) -> str:
        try:
            return str(jwt.decode(token, secret, algorithms=["HS256"])["sub"])
        except jwt.PyJWTError:
            raise HTTPException(401, "invalid token") from None

    @app.post("/token")
    def token(form: Annotated[OAuth2PasswordRequestForm, Depends()]) -> dict[str, str]:
        if form.username != USER or form.password != PASSWORD:
            raise HTTPException(401, "wrong credentials")
        claims = {"sub": USER, "iat": int(time.time()), "exp": int(time.time()) + 900}
        return {"access_token": jwt.encode(claims, secret, algorithm="HS256"),
                "token_type": "bearer"}

    @app.get("/me")
    def me(user: Annotated[str, Depends(current_user)]) -> dict[str, str]:
        return {"email": user}

    @app.get("/items")
    def items(q: str = "") -> Any:
        if not flawed:
            rows = db.execute("SELECT id, name FROM items WHERE name LIKE ?", (f"%{q}%",))
            return [{"id": i, "name": n} for i, n in rows]
        try:
            rows = db.execute(f"SELECT id, name FROM items WHERE name LIKE '%{q}%'")  # noqa: S608
            return [{"id": i, "name": n} for i, n in rows]
        except sqlite3.Error as exc:
            return JSONResponse({"detail": f"sqlite3.OperationalError: {exc}"}, 500)

    @app.get("/items/{item_id}")
    def item(item_id: str) -> Any:
        try:
            row = db.execute("SELECT id, name FROM items WHERE id = ?", (int(item_id),)).fetchone()
        except ValueError:
            if flawed:
                return PlainTextResponse(traceback.format_exc(), 500)
            raise HTTPException(404, "no such item") from None
        if row is None:
            raise HTTPException(404, "no such item")
        return {"id": row[0], "name": row[1]}

    _user_routes(app, flawed, secret, current_user)
    return app


def _user_routes(app: FastAPI, flawed: bool, secret: str, current_user: Any) -> None:
    auth = [] if flawed else [Depends(current_user)]

    @app.get("/users", dependencies=auth)
    def users() -> Any:
        if flawed:
            return [{"id": 1, "email": "alice@example.com", "password_hash": HASH},
                    {"id": 2, "email": "bob@example.com", "password_hash": HASH}]
        return [{"id": 1, "name": "alice"}, {"id": 2, "name": "bob"}]

    @app.post("/users/{user_id}/update", dependencies=auth)
    def update_user(user_id: int, request: Request) -> dict[str, Any]:
        if user_id > 1000:
            raise HTTPException(404, "no such user")
        return {"id": user_id, "updated": True}

    @app.post("/users", dependencies=auth, status_code=201)
    def create_user(body: NewUser) -> dict[str, Any]:
        return {"id": 3, "email": body.email}

    @app.post("/chat", dependencies=auth)
    def chat(body: ChatRequest) -> dict[str, str]:
        return {"reply": "OK"}

    @app.get("/admin/stats", dependencies=auth)
    def admin_stats() -> dict[str, int]:
        return {"users": 2, "signups_today": 1}

    if flawed:
        @app.get("/debug/config")
        def debug_config() -> dict[str, str]:
            return {"database_url": "sqlite:///app.db", "jwt_secret": secret,
                    "SMTP_PASSWORD": SMTP_PASSWORD}


@contextmanager
def serve_thread(target: Any, stop: Any) -> Iterator[None]:
    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop()
        thread.join(10)


# ---- Flask under werkzeug ---------------------------------------------------------------
def flask_pages(*, debugger: bool, health: str, hits: list[str] | None = None) -> Any:
    """``health``: "lookalike" (an HTML ``/health/`` page of the product), "catchall" (every
    unknown path answers 200 with a not-found page), "constant" (``/status`` answers ``true``)
    or "real" (``/health`` answers a JSON status)."""
    from flask import Flask, abort, jsonify

    app = Flask(__name__)

    @app.get("/")
    def index() -> str:
        return ('<!doctype html><html><body><a href="/notes/1">note</a>'
                '<a href="/logout">logout</a><a href="/static/app.css">css</a>'
                '<a href="/signup">sign up</a></body></html>')

    db = _db()

    @app.get("/signup")
    def signup_page() -> str:
        return ('<html><body><form method="post" action="/signup">'
                '<input type="email" name="email"><input type="password" name="password">'
                '<input type="password" name="code"></form></body></html>')

    @app.post("/signup")
    def signup() -> Any:
        from flask import redirect, request

        code = request.form.get("code", "")
        db.execute(f"SELECT id FROM items WHERE name = '{code}'")  # noqa: S608 - a quote: 500
        return redirect("/")

    @app.get("/logout")
    def logout() -> str:
        (hits if hits is not None else []).append("/logout")
        return "bye"

    @app.get("/notes/<note_id>")
    def note(note_id: str) -> Any:
        if not debugger and not note_id.isdigit():
            abort(404)
        return jsonify({"id": int(note_id), "text": "a note"})

    if health == "lookalike":
        @app.get("/health/")
        def fitness() -> str:
            rows = "".join(f"<tr><td>user{i}</td><td>{60 + i} bpm</td></tr>" for i in range(20))
            return f"<!doctype html><html><body><h1>Health</h1><table>{rows}</table></body></html>"
    elif health == "catchall":
        @app.errorhandler(404)
        def soft_404(_: Any) -> tuple[str, int]:
            return "<!doctype html><html><body><h1>Oops - not found</h1></body></html>", 200
    elif health == "constant":
        @app.get("/status")
        def status() -> Any:
            return app.response_class("true", mimetype="application/json")
    else:
        @app.get("/health")
        def real() -> Any:
            return jsonify({"status": "ok"})
    if debugger:
        from werkzeug.debug import DebuggedApplication

        app.config["PROPAGATE_EXCEPTIONS"] = True  # what debug mode does: the debugger sees them
        return DebuggedApplication(app, evalex=False)
    return app


@contextmanager
def serve_wsgi(app: Any) -> Iterator[str]:
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)  # bound at once: no port race
    with serve_thread(server.serve_forever, server.shutdown):
        yield f"http://127.0.0.1:{server.server_port}"


# ---- aiohttp in debug mode ----------------------------------------------------------------------
@contextmanager
def aiohttp_pages() -> Iterator[str]:
    """An aiohttp app whose loop runs in debug mode (tracebacks in 500 answers): ``/`` links to
    a GET search form, ``/search?q=`` formats the query into SQL, ``POST /`` is a login form
    that reads its fields without checking they are there."""
    from aiohttp import web

    db = _db()

    async def index(_: web.Request) -> web.Response:
        return web.Response(text='<html><body><form action="/search" method="get">'
                                 '<input name="q" value=""><input type="submit"></form>'
                                 "</body></html>", content_type="text/html")

    async def login(request: web.Request) -> web.Response:
        form = await request.post()
        user = form["username"]  # a JSON body or missing fields: KeyError, a debug traceback
        return web.Response(text=f"Invalid username or password for {user}")

    async def search(request: web.Request) -> web.Response:
        q = request.query.get("q", "")
        rows = db.execute(f"SELECT name FROM items WHERE name = '{q}'").fetchall()  # noqa: S608
        return web.Response(text=", ".join(r[0] for r in rows) or "no match")

    app = web.Application()
    app.add_routes([web.get("/", index), web.post("/", login), web.get("/search", search)])
    sock = bound_socket()  # the site gets the socket: no other process can take the port
    port = int(sock.getsockname()[1])
    loop = asyncio.new_event_loop()
    loop.set_debug(True)
    runner = web.AppRunner(app)
    started = threading.Event()

    def run() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(runner.setup())
        loop.run_until_complete(web.SockSite(runner, sock).start())
        started.set()
        loop.run_forever()

    def stop() -> None:
        asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)

    with serve_thread(run, stop):
        started.wait(15)
        yield f"http://127.0.0.1:{port}"


def flask_session_app(*, checks_session: bool, secret: str) -> Any:
    """A server-rendered Flask app with a cookie login (a JWT in ``session_token``): the page a
    logged-in user gets has a form that posts a note; ``checks_session=False`` accepts that post
    from anyone."""
    from flask import Flask, redirect, request

    app = Flask(__name__)
    notes: list[str] = []

    def user() -> str | None:
        try:
            return str(jwt.decode(request.cookies.get("session_token", ""), secret,
                                  algorithms=["HS256"])["sub"])
        except jwt.PyJWTError:
            return None

    @app.get("/")
    def index() -> str:
        if user() is None:
            return '<html><body><a href="/about">about</a></body></html>'
        return ('<html><body><form method="post" action="/notes"><textarea name="text">'
                '</textarea></form><a href="/about">about</a></body></html>')

    @app.get("/about")
    def about() -> str:
        return "<html><body>about</body></html>"

    @app.post("/login")
    def login() -> Any:
        if request.form.get("username") != USER or request.form.get("password") != PASSWORD:
            return {"error": "wrong credentials"}, 401
        token = jwt.encode({"sub": USER, "exp": int(time.time()) + 900}, secret,
                           algorithm="HS256")
        resp = app.response_class('{"ok": true}', mimetype="application/json")
        resp.set_cookie("session_token", token, httponly=True, samesite="Lax")
        return resp

    @app.post("/notes")
    def add_note() -> Any:
        if checks_session and user() is None:
            return redirect("/login?next=/notes")
        notes.append(request.form.get("text", ""))
        return redirect("/")

    return app
