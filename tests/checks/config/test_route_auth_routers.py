"""CFG-170/171/177 on Django REST framework ViewSets registered on a router (their inherited
ModelViewSet actions, ``@action`` routes, class and default permissions); small DRF projects
written in tmp_path."""

from __future__ import annotations

from pathlib import Path

from cfg_helpers import describe, res, run_cfg
from test_route_auth import ln
from test_settings_shapes import problems, repo_of

from prodaudit.model import Status

URLS = '''\
from django.urls import include, path
from rest_framework.routers import DefaultRouter

from accounts.views import AccountViewSet, UserViewSet
from notes.views import NoteViewSet

router = DefaultRouter()
router.register(r"notes", NoteViewSet, basename="note")
router.register(r"accounts", AccountViewSet, basename="account")
router.register(r"users", UserViewSet, basename="user")

urlpatterns = [
    path("api/", include(router.urls)),
]
'''
NOTES = '''\
from rest_framework import viewsets

from .models import Note


class NoteViewSet(viewsets.ModelViewSet):
    queryset = Note.objects.all()
    serializer_class = NoteSerializer
'''
ACCOUNTS = '''\
from rest_framework import mixins, serializers, viewsets
from rest_framework.permissions import IsAuthenticated

from .models import Account, User


class UserSerializer(serializers.ModelSerializer):
    class Meta:
        model = User
        fields = ["id", "email", "is_staff", "is_superuser"]


class AccountViewSet(mixins.RetrieveModelMixin, mixins.UpdateModelMixin,
                     viewsets.GenericViewSet):
    queryset = Account.objects.all()
    serializer_class = AccountSerializer
    permission_classes = [IsAuthenticated]


class UserViewSet(viewsets.ReadOnlyModelViewSet):
    queryset = User.objects.all()
    serializer_class = UserSerializer
'''
OPEN_SETTINGS = '''\
INSTALLED_APPS = ["rest_framework"]
REST_FRAMEWORK = {
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.AllowAny"],
}
'''
SAFE_ACCOUNTS = '''\
from rest_framework import mixins, serializers, viewsets
from rest_framework.permissions import IsAdminUser

from .models import Account, User


class UserSerializer(serializers.ModelSerializer):
    class Meta:
        model = User
        fields = ["id", "email", "is_staff", "is_superuser"]


class AccountViewSet(mixins.RetrieveModelMixin, mixins.UpdateModelMixin,
                     viewsets.GenericViewSet):
    serializer_class = AccountSerializer

    def get_queryset(self):
        return Account.objects.filter(owner=self.request.user)


class UserViewSet(viewsets.ModelViewSet):
    queryset = User.objects.all()
    serializer_class = UserSerializer
    permission_classes = [IsAdminUser]
'''
SAFE_SETTINGS = OPEN_SETTINGS.replace("AllowAny", "IsAuthenticated")
#: an object permission: DRF's get_object runs it on the note it looked up
SAFE_NOTES = NOTES.replace("    serializer_class = NoteSerializer\n", """\
    serializer_class = NoteSerializer
    permission_classes = [IsAuthenticated, NoteOwner]


class NoteOwner(BasePermission):
    def has_object_permission(self, request, view, obj):
        return obj.owner == request.user
""")


def _files(accounts: str, settings: str, notes: str = NOTES) -> dict[str, str]:
    return {"proj/urls.py": URLS, "notes/views.py": notes, "accounts/views.py": accounts,
            "proj/settings.py": settings}


def _run(tmp_path: Path, files: dict[str, str], check: str) -> object:
    return res(run_cfg(repo_of(tmp_path, files), tmp_path, only=[check]), check)


def test_router_viewsets_open_write_unscoped_lookup_and_public_users_fail(
        tmp_path: Path) -> None:
    files = _files(ACCOUNTS, OPEN_SETTINGS)
    r = _run(tmp_path, files, "CFG-170")
    found = problems(r)
    assert set(found) == {ln(NOTES, "class NoteViewSet", "notes/views.py")}, describe(r)
    messages = [f.message for f in r.findings if f.status is Status.FAIL]  # type: ignore[attr-defined]
    assert {m.split(" (")[0] for m in messages} == {
        "POST /api/notes/", "PUT /api/notes/<pk>/", "PATCH /api/notes/<pk>/",
        "DELETE /api/notes/<pk>/"}, describe(r)
    assert "[IsAuthenticated]" in found[ln(NOTES, "class NoteViewSet", "notes/views.py")]
    r = _run(tmp_path / "b", files, "CFG-171")
    found = problems(r)
    queryset = ln(ACCOUNTS, "queryset = Account.objects.all()", "accounts/views.py")
    assert set(found) == {queryset}, describe(r)
    assert "Account.objects.all()" in found[queryset] and "'pk'" in found[queryset]
    r = _run(tmp_path / "c", files, "CFG-177")
    found = problems(r)
    users = ln(ACCOUNTS, "class UserViewSet", "accounts/views.py")
    assert set(found) == {users}, describe(r)
    assert "UserSerializer" in found[users] and "is_superuser" in found[users]


def test_router_viewsets_protected_and_scoped_pass(tmp_path: Path) -> None:
    files = _files(SAFE_ACCOUNTS, SAFE_SETTINGS, SAFE_NOTES)
    for i, check in enumerate(("CFG-170", "CFG-171", "CFG-177")):
        r = _run(tmp_path / str(i), files, check)
        assert r.status is Status.PASS, describe(r)
