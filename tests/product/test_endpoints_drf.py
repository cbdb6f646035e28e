"""The endpoint model of Django REST framework routers: registered ViewSets, their standard and
``@action`` routes, lookups and authentication (small repositories written in tmp_path)."""

from __future__ import annotations

from pathlib import Path

from product_helpers import context, write

from prodaudit.product.endpoints import endpoints
from prodaudit.product.pyindex import walk

URLS = '''\
from django.urls import include, path
from rest_framework import routers

from notes.views import NoteViewSet, TagViewSet
from accounts.routes import routes

router = routers.DefaultRouter()
router.register(r"notes", NoteViewSet, basename="note")
router.register("tags", TagViewSet)
for route in routes:
    router.register(route["regex"], route["viewset"], basename=route["basename"])

urlpatterns = [
    path("api/", include(router.urls)),
]
'''
ROUTES = '''\
from .views import AccountViewSet

routes = [
    {"regex": r"accounts", "viewset": AccountViewSet, "basename": "account"},
]
'''
ACCOUNTS = '''\
from rest_framework import mixins, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import IsAuthenticated


class AccountViewSet(mixins.RetrieveModelMixin, mixins.UpdateModelMixin,
                     viewsets.GenericViewSet):
    serializer_class = AccountSerializer
    permission_classes = [IsAuthenticated]
    lookup_field = "username"

    def get_queryset(self):
        return Account.objects.filter(owner=self.request.user)

    @action(detail=True, methods=["post"], permission_classes=[])
    def archive(self, request, username=None):
        self.get_object().save()
'''
NOTES = '''\
from rest_framework import viewsets

from .models import Note, Tag


class NoteViewSet(viewsets.ModelViewSet):
    queryset = Note.objects.all()
    serializer_class = NoteSerializer


class TagViewSet(viewsets.ReadOnlyModelViewSet):
    queryset = Tag.objects.all()

    def list(self, request):
        return Response([])
'''
SETTINGS = '''\
INSTALLED_APPS = ["rest_framework"]
REST_FRAMEWORK = {
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
}
'''


def _by_route(tmp_path: Path, files: dict[str, str]) -> dict[tuple[str, str], object]:
    repo = write(tmp_path / "repo", files)
    return {("/".join(e.methods), e.route): e for e in endpoints(context(repo, tmp_path))}


def test_router_registrations_yield_viewset_routes(tmp_path: Path) -> None:
    eps = _by_route(tmp_path, {"proj/urls.py": URLS, "accounts/routes.py": ROUTES,
                               "accounts/views.py": ACCOUNTS, "notes/views.py": NOTES})
    assert set(eps) == {
        ("GET", "/api/notes/"), ("POST", "/api/notes/"), ("GET", "/api/notes/<pk>/"),
        ("PUT", "/api/notes/<pk>/"), ("PATCH", "/api/notes/<pk>/"),
        ("DELETE", "/api/notes/<pk>/"),
        ("GET", "/api/tags/"), ("GET", "/api/tags/<pk>/"),  # read-only
        ("GET", "/api/accounts/<username>/"), ("PUT", "/api/accounts/<username>/"),
        ("PATCH", "/api/accounts/<username>/"), ("POST", "/api/accounts/<username>/archive/")}
    note = eps[("PATCH", "/api/notes/<pk>/")]
    assert note.framework == "drf" and note.view == "NoteViewSet" and note.params == ("pk",)
    assert note.loc == "notes/views.py:6" and note.func.name == "partial_update"
    assert note.auth == "" and note.name == "note-detail" and note.template == \
        "/api/notes/{pk}/"
    lookup = next(n for n in walk(note.func) if getattr(n, "lineno", 0) == 7)  # the queryset
    assert "Note.objects.all()" in __import__("ast").unparse(lookup)
    assert eps[("GET", "/api/tags/")].func.lineno == 14  # the project's own list method
    assert eps[("GET", "/api/tags/<pk>/")].name == "tag-detail"  # basename from the queryset
    account = eps[("PUT", "/api/accounts/<username>/")]
    assert account.auth == "[IsAuthenticated]" and account.params == ("username",)
    assert "request.user" in "\n".join(__import__("ast").unparse(s) for s in account.func.body)
    archive = eps[("POST", "/api/accounts/<username>/archive/")]
    assert archive.auth == "" and archive.func.name == "archive"  # the action opens it


def test_router_urls_appended_and_default_permission(tmp_path: Path) -> None:
    urls = ("from rest_framework.routers import SimpleRouter\nfrom notes import views\n"
            "router = SimpleRouter()\nrouter.register('notes', views.NoteViewSet)\n"
            "urlpatterns = []\nurlpatterns += router.urls\n")
    open_views = NOTES.replace("    serializer_class = NoteSerializer\n",
                               "    serializer_class = NoteSerializer\n"
                               "    permission_classes = (AllowAny,)\n")
    eps = _by_route(tmp_path, {"urls.py": urls, "notes/views.py": NOTES,
                               "proj/settings.py": SETTINGS})
    assert eps[("DELETE", "/notes/<pk>/")].auth == "DEFAULT_PERMISSION_CLASSES (IsAuthenticated)"
    eps = _by_route(tmp_path / "b", {"urls.py": urls, "notes/views.py": open_views,
                                     "proj/settings.py": SETTINGS})
    assert eps[("DELETE", "/notes/<pk>/")].auth == ""  # AllowAny replaces the default


def test_nested_router_and_no_trailing_slash(tmp_path: Path) -> None:
    urls = ("from django.urls import include, path\nfrom rest_framework import routers\n"
            "from rest_framework_nested.routers import NestedSimpleRouter\n"
            "from notes.views import NoteViewSet, TagViewSet\n"
            "router = routers.SimpleRouter(trailing_slash=False)\n"
            "router.register('tags', TagViewSet)\n"
            "nested = NestedSimpleRouter(router, 'tags', lookup='tag')\n"
            "nested.register('notes', NoteViewSet, basename='tag-notes')\n"
            "urlpatterns = [path('', include(router.urls)), path('', include(nested.urls))]\n")
    eps = _by_route(tmp_path, {"urls.py": urls, "notes/views.py": NOTES})
    assert ("GET", "/tags/<pk>") in eps and ("GET", "/tags") in eps
    nested = eps[("DELETE", "/tags/<tag_pk>/notes/<pk>/")]
    assert nested.params == ("tag_pk", "pk") and nested.name == "tag-notes-detail"


_URLS = ("from rest_framework.routers import SimpleRouter\nfrom notes import views\n"
         "router = SimpleRouter()\nrouter.register('notes', views.NoteViewSet)\n"
         "urlpatterns = router.urls\n")
_BASE = ('INSTALLED_APPS = ["rest_framework"]\nROOT_URLCONF = "urls"\n'
         'REST_FRAMEWORK = {\n    "DEFAULT_PERMISSION_CLASSES": [%s],\n'
         '    "PAGE_SIZE": 20,\n}\n')


def _default_auth(tmp_path: Path, settings: dict[str, str]) -> object:
    eps = _by_route(tmp_path, {"urls.py": _URLS, "notes/views.py": NOTES, **settings})
    return eps[("DELETE", "/notes/<pk>/")].auth  # a view that sets no permission of its own


def test_default_permission_of_split_settings(tmp_path: Path) -> None:
    """The default production runs with: the base module's dict, star-imported by production
    (a development module that replaces it is not production's)."""
    allow = '"rest_framework.permissions.AllowAny"'
    auth = '"rest_framework.permissions.IsAuthenticated"'
    split = {"proj/settings/base.py": _BASE % auth,
             "proj/settings/production.py": "from .base import *\nDEBUG = False\n",
             "proj/settings/dev.py": "from .base import *\n" + _BASE % allow}
    assert _default_auth(tmp_path / "a", split) == "DEFAULT_PERMISSION_CLASSES (IsAuthenticated)"
    # production assigns its own dict after the star import: that one runs
    assert _default_auth(tmp_path / "b", {
        **split, "proj/settings/production.py": "from .base import *\n" + _BASE % allow}) == ""
    # a default in a module production never imports is not production's
    assert _default_auth(tmp_path / "c", {
        "proj/settings/base.py": _BASE % allow, "proj/settings/production.py":
        "from .base import *\n", "proj/settings/unused.py": _BASE % auth}) == ""


def test_default_permission_updated_in_production(tmp_path: Path) -> None:
    """A REST_FRAMEWORK built in base and updated in production: the update is what runs,
    by key (``["KEY"] = ...``), ``.update({...})``, ``.update(KEY=...)`` or ``|=``."""
    allow = '"rest_framework.permissions.AllowAny"'
    tighten = ['REST_FRAMEWORK["DEFAULT_PERMISSION_CLASSES"] = (\n'
               '    "rest_framework.permissions.IsAdminUser",\n)\n',
               'REST_FRAMEWORK.update({"DEFAULT_PERMISSION_CLASSES": '
               '["rest_framework.permissions.IsAdminUser"]})\n',
               "REST_FRAMEWORK.update(DEFAULT_PERMISSION_CLASSES=[permissions.IsAdminUser])\n",
               'REST_FRAMEWORK |= {"DEFAULT_PERMISSION_CLASSES": ("x.IsAdminUser",)}\n']
    for i, update in enumerate(tighten):
        files = {"proj/settings/base.py": _BASE % allow,
                 "proj/settings/production.py": "from .base import *\n" + update}
        assert _default_auth(tmp_path / str(i), files) == \
            "DEFAULT_PERMISSION_CLASSES (IsAdminUser)", update
    # opened in production: the base module's IsAuthenticated no longer runs
    files = {"proj/settings/base.py": _BASE % '"rest_framework.permissions.IsAuthenticated"',
             "proj/settings/production.py": "from .base import *\n"
             'REST_FRAMEWORK["DEFAULT_PERMISSION_CLASSES"] = [\n    ' + allow + ",\n]\n"}
    assert _default_auth(tmp_path / "open", files) == ""
    # an update before the star import is replaced by the imported dict
    files = {"proj/settings/base.py": _BASE % allow,
             "proj/settings/production.py": "REST_FRAMEWORK = {}\n" + tighten[0]
             + "from .base import *\n"}
    assert _default_auth(tmp_path / "before", files) == ""


def test_default_permission_named_by_a_module_setting(tmp_path: Path) -> None:
    settings = ('INSTALLED_APPS = ["rest_framework"]\n'
                'PERMISSIONS = ("rest_framework.permissions.IsAuthenticated",)\n'
                'REST_FRAMEWORK = {"DEFAULT_PERMISSION_CLASSES": PERMISSIONS}\n')
    assert _default_auth(tmp_path / "a", {"proj/settings.py": settings}) == \
        "DEFAULT_PERMISSION_CLASSES (IsAuthenticated)"
    read = settings.replace('("rest_framework.permissions.IsAuthenticated",)',
                            'env.list("PERMISSIONS")')
    assert _default_auth(tmp_path / "b", {"proj/settings.py": read}) == ""  # not static
