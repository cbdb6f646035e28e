"""The form login the small Flask probe sites share (SEC-087/088/089): ``GET /login`` shows the
form, ``POST /login`` with the right e-mail and password puts the user in the session and
redirects to ``landing``; anything else shows the form again with 401."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Flask, redirect, request, session

LOGIN_PAGE = ('<html><body><form method="post" action="/login"><input name="email">'
              '<input type="password" name="password"><input type="submit"></form></body></html>')


def add_form_login(app: Flask, credentials: Callable[[], tuple[str, str]], landing: str,
                   page: str = LOGIN_PAGE) -> None:
    """``credentials()`` is read at each login (a site may keep its user record mutable)."""

    @app.get("/login")
    def login_page() -> str:
        return page

    @app.post("/login")
    def login() -> Any:
        email, password = credentials()
        if request.form.get("email") == email and request.form.get("password") == password:
            session["user"] = email
            return redirect(landing)
        return page, 401
