"""A Flask site with a form login whose every answer sets a ``prefs`` cookie: a base64 pickle
(the problem) or base64 JSON (none). For SEC-087."""

from __future__ import annotations

import base64
import json
import pickle
import secrets
from typing import Any

from flask import Flask, redirect, request, session

from servers.form_login import add_form_login

USER = "cookie-audit@example.net"
PASSWORD = "cookie-audit-password-42"


def prefs_app(pickled: bool) -> Any:
    app = Flask("cookie_app")
    app.secret_key = secrets.token_hex(16)

    @app.get("/")
    def home() -> Any:
        return redirect("/login")

    add_form_login(app, lambda: (USER, PASSWORD), "/me")

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
