"""A Flask JSON API without an OpenAPI document whose repository declares user writes
(``USER_ROUTES``, written into a test repository): ``POST /api/users/create/`` and
``POST /api/users/<int:user_id>/update/``. ``checks_auth=False``: both run for anonymous callers
(validation 400, lookup 404); ``True``: 401 without a bearer token; ``"redirect"``: a redirect
to the login page instead."""

from __future__ import annotations

from typing import Any

USER_ROUTES = '''from flask import Flask

app = Flask(__name__)


@app.route("/api/users/create/", methods=["POST"])
def user_create():
    ...


@app.route("/api/users/<int:user_id>/update/", methods=["POST"])
def user_update(user_id):
    ...
'''


DJANGO_ROUTES = {  # the same routes as Django URL modules, under include() prefixes
    "config/urls.py": 'from django.urls import include, path\nurlpatterns = [\n'
                      '    path("api/", include(("proj.api.urls", "api"))),\n]\n',
    "proj/api/urls.py": 'from django.urls import include, path\nurlpatterns = [\n'
                        '    path("users/", include("proj.users.urls")),\n]\n',
    "proj/users/urls.py": 'from django.urls import path\nfrom . import views\nurlpatterns = [\n'
                          '    path("create/", views.UserCreateApi.as_view()),\n'
                          '    path("<int:user_id>/update/", views.UserUpdateApi.as_view()),\n]\n',
}


def user_writes_app(*, checks_auth: bool | str, calls: list[str]) -> Any:
    from flask import Flask, abort, redirect, request

    app = Flask("user-writes")
    users = {1: {"email": "a@example.org"}}

    def guard() -> None:
        calls.append(f"{request.method} {request.path}")
        if checks_auth and not request.headers.get("authorization", "").startswith("Bearer "):
            if checks_auth == "redirect":
                abort(redirect(f"/login?next={request.path}"))
            abort(401)

    @app.post("/api/users/create/")
    def create() -> Any:
        guard()
        body = request.get_json(silent=True) or {}
        if "email" not in body:
            return {"email": ["This field is required."]}, 400
        return {"id": 2}, 201

    @app.post("/api/users/<int:user_id>/update/")
    def update(user_id: int) -> Any:
        guard()
        if user_id not in users:
            return {"detail": "Not found."}, 404
        return users[user_id]

    return app
