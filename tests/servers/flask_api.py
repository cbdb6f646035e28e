"""A real Flask API (werkzeug server in a thread): OpenAPI 3.1 at the flasgger path
``/apispec_1.json``, JSON login that sets the access token as an HttpOnly cookie (a JWT), the
current user at ``/profile``, logout that revokes the token, ``/healthz`` touching a database."""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import jwt
from flask import Flask, jsonify, request
from werkzeug.serving import make_server

USER = "flask-audit@example.net"
PASSWORD = "another-long-password-42"
SECRET = secrets.token_hex(32)


def spec() -> dict[str, Any]:
    err = {"description": "error", "content": {"application/json": {"schema": {"type": "object"}}}}

    def ok(schema: dict[str, Any]) -> dict[str, Any]:
        return {"description": "ok", "content": {"application/json": {"schema": schema}}}

    return {
        "openapi": "3.1.0",
        "info": {"title": "flask api", "version": "1"},
        "paths": {
            "/healthz": {"get": {"responses": {"200": ok({"type": "object"})}}},
            "/login": {
                "post": {
                    "requestBody": {
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "object",
                                    "required": ["username", "password"],
                                    "properties": {
                                        "username": {"type": "string"},
                                        "password": {"type": "string"},
                                    },
                                }
                            }
                        }
                    },
                    "responses": {"200": ok({"type": "object"}), "401": err},
                }
            },
            "/profile": {
                "get": {
                    "security": [{"cookieAuth": []}],
                    "responses": {
                        "200": ok(
                            {
                                "type": "object",
                                "required": ["username"],
                                "properties": {
                                    "username": {"type": "string"},
                                    "nickname": {"type": ["string", "null"]},
                                },
                            }
                        ),
                        "401": err,
                    },
                }
            },
            "/logout": {
                "post": {
                    "security": [{"cookieAuth": []}],
                    "responses": {"204": {"description": "done"}, "401": err},
                }
            },
        },
        "components": {
            "securitySchemes": {
                "cookieAuth": {"type": "apiKey", "in": "cookie", "name": "access_token"}
            }
        },
    }


def make_app(lifetime: int = 600) -> Flask:
    """``lifetime``: access-token lifetime in seconds; ``app.config["LOGINS"]`` counts logins."""
    app = Flask("flask_api")
    app.config["LOGINS"] = 0
    revoked: set[str] = set()

    def current() -> dict[str, Any] | None:
        token = request.cookies.get("access_token", "")
        try:
            claims = jwt.decode(token, SECRET, algorithms=["HS256"])
        except jwt.PyJWTError:
            return None
        return None if claims.get("jti") in revoked else claims

    @app.get("/apispec_1.json")
    def apispec() -> Any:
        return jsonify(spec())

    @app.get("/healthz")
    def healthz() -> Any:
        return jsonify({"status": "ok", "database": "ok"})

    @app.post("/login")
    def login() -> Any:
        body = request.get_json(silent=True) or {}
        if body.get("username") != USER or body.get("password") != PASSWORD:
            return jsonify({"message": "bad credentials"}), 401
        app.config["LOGINS"] += 1
        now = int(time.time())
        token = jwt.encode(
            {"sub": USER, "jti": secrets.token_hex(8), "iat": now, "exp": now + lifetime},
            SECRET,
            algorithm="HS256",
        )
        resp = jsonify({"ok": True})
        resp.set_cookie("access_token", token, httponly=True, samesite="Strict")
        return resp

    @app.get("/profile")
    def profile() -> Any:
        claims = current()
        if claims is None:
            return jsonify({"message": "login required"}), 401
        return jsonify({"username": claims["sub"], "nickname": None})

    @app.post("/logout")
    def logout() -> Any:
        claims = current()
        if claims is None:
            return jsonify({"message": "login required"}), 401
        revoked.add(claims["jti"])
        return "", 204

    return app


@contextmanager
def serve_flask(app: Flask | None = None) -> Iterator[str]:
    server = make_server("127.0.0.1", 0, app or make_app(), threaded=True)  # bound: no port race
    port = server.server_port
    thread = threading.Thread(target=server.serve_forever, name=f"flask-{port}", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.shutdown()
        thread.join(10)
