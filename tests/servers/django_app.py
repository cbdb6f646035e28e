"""A real Django project in one file, for the live probes: run it as a script in a subprocess
(``python django_app.py PORT DEBUG ALLOWED_HOSTS``), served by wsgiref.

``/`` links to a book and to the user list; ``/books/<isbn>/`` formats the ISBN into SQL (a quote
raises sqlite3's OperationalError: with DEBUG the technical 500 page shows it);
``/api/users/`` lists accounts with their e-mail address to anyone, ``/api/users/<id>/`` one.
No OpenAPI document: the probes discover the routes from links and the DEBUG 404 page."""

from __future__ import annotations

import secrets
import sys
from typing import Any


def build(debug: bool, hosts: list[str]) -> Any:
    import django
    from django.conf import settings

    settings.configure(
        DEBUG=debug,
        ALLOWED_HOSTS=hosts,
        ROOT_URLCONF=__name__,
        SECRET_KEY=secrets.token_hex(32),
        DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}},
        INSTALLED_APPS=[],
        MIDDLEWARE=["django.middleware.common.CommonMiddleware"],
        USE_TZ=True,
    )
    django.setup()
    from django.core.wsgi import get_wsgi_application

    return get_wsgi_application()


def _views() -> list[Any]:
    from django.db import connection
    from django.http import Http404, HttpResponse, JsonResponse
    from django.urls import include, path

    users = [{"id": 1, "email": "ada@example.com", "is_admin": True},
             {"id": 2, "email": "grace@example.com", "is_admin": False}]

    def index(_: Any) -> HttpResponse:
        return HttpResponse('<!doctype html><html><body><a href="/books/1/">a book</a>'
                            '<a href="/api/users/">users</a></body></html>')

    def book(_: Any, isbn: str) -> JsonResponse:
        with connection.cursor() as cur:
            cur.execute("CREATE TABLE IF NOT EXISTS books (isbn TEXT, title TEXT)")
            cur.execute(f"SELECT title FROM books WHERE isbn = '{isbn}'")  # noqa: S608
            row = cur.fetchone()
        return JsonResponse({"isbn": isbn, "title": row[0] if row else None})

    def user_list(_: Any) -> JsonResponse:
        return JsonResponse({"results": users})

    def user_detail(_: Any, user_id: int) -> JsonResponse:
        for user in users:
            if user["id"] == user_id:
                return JsonResponse(user)
        raise Http404

    api = [path("users/", user_list), path("users/<int:user_id>/", user_detail)]
    return [path("", index), path("books/<str:isbn>/", book), path("api/", include(api))]


urlpatterns: list[Any] = []


def main() -> None:
    from wsgiref.simple_server import WSGIRequestHandler, make_server

    port, debug, hosts = int(sys.argv[1]), sys.argv[2] == "1", sys.argv[3].split(",")
    app = build(debug, hosts)
    urlpatterns.extend(_views())

    class Quiet(WSGIRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

    make_server("127.0.0.1", port, app, handler_class=Quiet).serve_forever()


if __name__ == "__main__":
    main()
