"""A Flask site with a form login whose every answer sets a ``prefs`` cookie: a base64 pickle
(the problem) or base64 JSON (none). For SEC-087."""

from __future__ import annotations

import base64
import json
import pickle
import secrets
from typing import Any

from flask import Flask, redirect, request, session

USER = "cookie-audit@example.net"
PASSWORD = "cookie-audit-password-42"

LOGIN_PAGE = ('<html><body><form method="post" action="/login"><input name="email">'
              '<input type="password" name="password"><input type="submit"></form></body></html>')


def prefs_app(pickled: bool) -> Any:
    app = Flask("cookie_app")
    app.secret_key = secrets.token_hex(16)

    @app.get("/")
    def home() -> Any:
        return redirect("/login")

    @app.get("/login")
    def login_page() -> str:
        return LOGIN_PAGE

    @app.post("/login")
    def login() -> Any:
        if request.form.get("email") == USER and request.form.get("password") == PASSWORD:
            session["user"] = USER
            return redirect("/me")
        return LOGIN_PAGE, 401

    @app.get("/me")
    def me() -> Any:
        if "user" not in session:
            return {"error": "login"}, 401
        return {"email": session["user"]}

    @app.after_request
    def prefs(response: Any) -> Any:
        if "prefs" not in request.cookies:
            data = pickle.dumps({"mode": "light"}) if pickled else json.dumps({"mode": "light"})
            raw = data if isinstance(data, bytes) else data.encode()
            response.set_cookie("prefs", base64.b64encode(raw).decode())
        return response

    return app
