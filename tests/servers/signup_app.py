"""A Flask sign-up form whose SQL injection sits behind a unique user name: the handler registers
the user name first and answers 400 when it is taken, then formats the registration code into
SQLite (a quote: 500 with the SQLite error). A probe that posts the form again with the user name
an earlier post registered never reaches the SQL."""

from __future__ import annotations

import sqlite3
from typing import Any


def signup_app() -> Any:
    from flask import Flask, redirect, request

    app = Flask(__name__)
    db = sqlite3.connect(":memory:", check_same_thread=False)
    db.execute("CREATE TABLE codes (code TEXT)")
    users: set[str] = set()

    @app.get("/")
    def index() -> str:
        return '<!doctype html><html><body><a href="/signup">sign up</a></body></html>'

    @app.get("/signup")
    def signup_page() -> str:
        return ('<html><body><form method="post" action="/signup">'
                '<input type="text" name="username"><input type="password" name="code">'
                '<input type="password" name="password"></form></body></html>')

    @app.post("/signup")
    def signup() -> Any:
        name = request.form.get("username", "")
        if not name or name in users:
            return "user name already taken", 400
        users.add(name)
        code = request.form.get("code", "")
        try:
            db.execute(f"SELECT code FROM codes WHERE code = '{code}'").fetchall()  # noqa: S608
        except sqlite3.OperationalError as exc:
            return f"sqlite3.OperationalError: {exc}", 500
        return redirect("/")

    return app
