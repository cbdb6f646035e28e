"""A server-rendered Flask notes app with an HTML login form and no OpenAPI document, two users
with private notes, and a nav link to the logged-in user's own notes page
(``/accounts/<id>/notes``). ``checks_owner=False``: that page shows any user's notes to any
logged-in user (BOLA); a public note of Ann's is on everyone's home page too (shared, not a leak);
``True``: another user's page answers 404. Also public profile pages
(``/people/<id>``) that every account links alike (shared, never a finding). The home page has a
create form (``POST /notes``) and a delete form per own item (``POST /notes/<id>/delete``);
``checks_owner=False`` lets any logged-in user delete any item (write BOLA)."""

from __future__ import annotations

import secrets
from typing import Any

USERS = {"ann@example.org": ("ann-password-8812", 1), "bob@example.org": ("bob-password-3309", 2)}
NOTES = {1: ["Ann's bank PIN reminder: 4471", "Ann's secret recipe"],
         2: ["Bob's dentist appointment"]}
PUBLIC = "Ann's public announcement to everyone"  # on Ann's notes page and on everyone's home


def notes_app(*, checks_owner: bool) -> Any:
    from flask import Flask, abort, redirect, request, session

    app = Flask("notes-app")
    app.secret_key = secrets.token_hex(16)
    items: dict[int, tuple[int, str]] = {}  # id -> (owner, title)

    def page(body: str) -> str:
        uid = session.get("uid")
        nav = (f"<nav><a href='/home'>Home</a> <a href='/accounts/{uid}/notes'>My notes</a> "
               "<a href='/people/1'>Ann</a> <a href='/logout'>Log out</a></nav>") if uid else ""
        return f"<html><body>{nav}{body}</body></html>"

    @app.get("/login")
    def login_page() -> str:
        return page("<form method='post' action='/login'><input type='email' name='email'>"
                    "<input type='password' name='password'><button>Sign in</button></form>")

    @app.post("/login")
    def login() -> Any:
        user = USERS.get(request.form.get("email", ""))
        if user is None or user[0] != request.form.get("password"):
            return redirect("/login")
        session["uid"] = user[1]
        return redirect("/home")

    @app.get("/")
    @app.get("/home")
    def home() -> Any:
        if "uid" not in session:
            return redirect("/login")
        mine = "".join(f"<li>{t}<form method='post' action='/notes/{i}/delete'><button>Delete"
                       "</button></form></li>" for i, (o, t) in items.items() if o == session["uid"])
        create = ("<form method='post' action='/notes'><input type='text' name='title'>"
                  "<textarea name='text'></textarea><input type='checkbox' name='private'>"
                  "<button>Add</button></form>")
        return page(f"<h1>Welcome</h1><p>{PUBLIC}</p>{create}<ul>{mine}</ul>")

    @app.post("/notes")
    def create_item() -> Any:
        if "uid" not in session:
            return redirect("/login")
        items[max(items, default=0) + 1] = (session["uid"], request.form.get("title", ""))
        return redirect("/home")

    @app.post("/notes/<int:item>/delete")
    def delete_item(item: int) -> Any:
        if "uid" not in session:
            return redirect("/login")
        if item in items and (not checks_owner or items[item][0] == session["uid"]):
            del items[item]
        return redirect("/home")

    @app.get("/accounts/<int:uid>/notes")
    def notes(uid: int) -> Any:
        if "uid" not in session:
            return redirect("/login")
        if checks_owner and uid != session["uid"]:
            abort(404)
        shown = NOTES.get(uid, []) + ([PUBLIC] if uid == 1 else [])
        rows = "".join(f"<tr><td>{n}</td></tr>" for n in shown)
        return page(f"<h1>Personal notes</h1><table>{rows}</table>")

    @app.get("/people/<int:uid>")
    def person(uid: int) -> Any:
        if "uid" not in session:
            return redirect("/login")
        name = next((e for e, (_, i) in USERS.items() if i == uid), "nobody")
        return page(f"<h1>Profile of {name}</h1>")

    return app
