"""CFG-170 on Flask class-based views (``MethodView`` registered with ``add_url_rule``) and on
plain Django function views named in ``urls.py`` (small repositories written in tmp_path)."""

from __future__ import annotations

from pathlib import Path

from cfg_helpers import describe, res, run_cfg
from test_route_auth import ln
from test_settings_shapes import problems, repo_of

from prodaudit.model import Status

FLASK_VIEWS = '''\
from flask import Blueprint
from flask.views import MethodView
from flask_login import login_required

bp = Blueprint("notes", __name__, url_prefix="/notes")


class NoteList(MethodView):
    decorators = [login_required]

    def get(self):
        return Note.query.all()


class NoteAdmin(MethodView):
    def post(self):
        db.session.add(Note(title="x"))
        db.session.commit()


bp.add_url_rule("/", view_func=NoteList.as_view("notes"))
bp.add_url_rule("/admin", view_func=NoteAdmin.as_view("admin"))
'''

DJANGO_VIEWS = '''\
from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from .models import Note


@login_required
def notes(request):
    return render(request, "notes.html", {"notes": Note.objects.all()})


def delete_note(request, pk):
    Note.objects.get(pk=pk).delete()
    return render(request, "done.html")
'''
DJANGO_URLS = '''\
from django.urls import path

from . import views

urlpatterns = [
    path("", views.notes),
    path("<int:pk>/delete/", views.delete_note),
]
'''
DJANGO_ROOT = '''\
from django.urls import include, path

urlpatterns = [path("notes/", include("notes.urls"))]
'''


def _run(tmp_path: Path, files: dict[str, str]) -> object:
    return res(run_cfg(repo_of(tmp_path, files), tmp_path, only=["CFG-170"]), "CFG-170")


def test_flask_method_view_without_decorators_fails(tmp_path: Path) -> None:
    r = _run(tmp_path, {"app/notes.py": FLASK_VIEWS})
    found = problems(r)
    assert set(found) == {ln(FLASK_VIEWS, "class NoteAdmin", "app/notes.py")}, describe(r)
    assert "POST /notes/admin (post)" in next(iter(found.values()))


def test_flask_method_view_with_decorators_passes(tmp_path: Path) -> None:
    safe = FLASK_VIEWS.replace("class NoteAdmin(MethodView):\n",
                               "class NoteAdmin(MethodView):\n    decorators = [login_required]\n")
    r = _run(tmp_path, {"app/notes.py": safe})
    assert r.status is Status.PASS, describe(r)


def test_django_function_view_without_login_required_fails(tmp_path: Path) -> None:
    files = {"notes/views.py": DJANGO_VIEWS, "notes/urls.py": DJANGO_URLS,
             "site/urls.py": DJANGO_ROOT}
    r = _run(tmp_path, files)
    found = problems(r)
    assert set(found) == {ln(DJANGO_VIEWS, "def delete_note", "notes/views.py")}, describe(r)
    assert "/notes/<int:pk>/delete/" in next(iter(found.values()))


def test_django_function_view_wrapped_in_urls_passes(tmp_path: Path) -> None:
    urls = DJANGO_URLS.replace("views.delete_note)", "login_required(views.delete_note))")
    urls = "from django.contrib.auth.decorators import login_required\n" + urls
    files = {"notes/views.py": DJANGO_VIEWS, "notes/urls.py": urls, "site/urls.py": DJANGO_ROOT}
    r = _run(tmp_path, files)
    assert r.status is Status.PASS, describe(r)
