"""A Flask site with a form login and an account page whose form posts a profile image URL:
the server fetches it (the problem) or only checks and stores it (none). For SEC-088."""

from __future__ import annotations

import secrets
from typing import Any
from urllib.request import urlopen

from flask import Flask, redirect, request, session

from servers.form_login import add_form_login

USER = "ssrf-audit@example.net"
PASSWORD = "ssrf-audit-password-42"

LOGIN_PAGE = ('<html><body><a href="/account">account</a><form method="post" action="/login">'
              '<input name="email"><input type="password" name="password">'
              '<input type="submit"></form></body></html>')
ACCOUNT_PAGE = ('<html><body><form method="post" action="/account/image">'
                '<input type="url" name="image_url" value=""><input type="submit"></form>'
                "</body></html>")


def image_app(fetches: bool) -> Any:
    app = Flask("ssrf_app")
    app.secret_key = secrets.token_hex(16)
    stored: dict[str, str] = {}

    @app.get("/")
    def home() -> Any:
        return redirect("/login")

    add_form_login(app, lambda: (USER, PASSWORD), "/account", LOGIN_PAGE)

    @app.get("/account")
    def account() -> Any:
        if "user" not in session:
            return redirect("/login")
        return ACCOUNT_PAGE

    @app.post("/account/image")
    def image() -> Any:
        if "user" not in session:
            return {"error": "login"}, 401
        url = request.form.get("image_url", "")
        if not url.startswith(("http://", "https://")):
            return {"error": "image_url must be a URL"}, 400
        if fetches:
            with urlopen(url, timeout=5) as answer:  # noqa: S310 (the problem under test)
                stored["image"] = answer.read().hex()
        stored["url"] = url
        return {"image_url": url}

    return app
