"""A Flask site with a form login and an account page whose update form copies every posted
field onto the user (the problem: ``is_admin=true`` makes the caller an admin) or only the e-mail
(none). The page shows the admin checkbox to admins only (vulnerable, as many apps do) or always,
disabled (the safe one). For SEC-089."""

from __future__ import annotations

import secrets
from typing import Any

from flask import Flask, redirect, request, session

from servers.form_login import add_form_login

USER = "account-audit@example.net"
PASSWORD = "account-audit-password-42"


def account_app(vulnerable: bool) -> tuple[Any, dict[str, Any]]:
    """The app and its one user record (to assert on after the audit)."""
    app = Flask("account_app")
    app.secret_key = secrets.token_hex(16)
    user: dict[str, Any] = {"email": USER, "password": PASSWORD, "is_admin": False}

    @app.get("/")
    def home() -> Any:
        return redirect("/account" if "user" in session else "/login")

    add_form_login(app, lambda: (user["email"], user["password"]), "/account")

    @app.get("/account")
    def account() -> Any:
        if "user" not in session:
            return redirect("/login")
        checked = " checked" if user["is_admin"] else ""
        if vulnerable:
            admin = f'<input type="checkbox" name="is_admin"{checked}>' if user["is_admin"] else ""
        else:
            admin = f'<input type="checkbox" name="is_admin" disabled{checked}>'
        return ('<html><body><form method="post" action="/account">'
                f'<input type="email" name="email" value="{user["email"]}">'
                '<input type="password" name="password" value="">'
                f"{admin}<input type=\"submit\"></form></body></html>")

    @app.post("/account")
    def update() -> Any:
        if "user" not in session:
            return redirect("/login")
        if vulnerable:  # obj.__dict__.update(request.form)
            for key, value in request.form.items():
                if key == "is_admin":
                    user["is_admin"] = value.lower() in ("true", "on", "y", "1")
                elif key in user and value:
                    user[key] = value
        elif request.form.get("email"):
            user["email"] = request.form["email"]
        return redirect("/account")

    return app, user
