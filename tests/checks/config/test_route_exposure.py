"""CFG-177: public routes answering with users' privilege or credential fields, read from DRF
serializers, FastAPI response models and marshmallow schemas (small repositories in tmp_path)."""

from __future__ import annotations

from pathlib import Path

from cfg_helpers import describe, res, run_cfg
from test_settings_shapes import problems, repo_of

from prodaudit.model import Status

DRF_MODELS = '''\
from django.contrib.auth.models import AbstractUser
from django.db import models


class Account(AbstractUser):
    bio = models.TextField()
'''

DRF_APIS = '''\
from rest_framework import serializers
from rest_framework.generics import ListAPIView
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from .models import Account


class AccountListApi(APIView):
    class FilterSerializer(serializers.Serializer):
        is_admin = serializers.BooleanField(required=False)

    class OutputSerializer(serializers.ModelSerializer):
        class Meta:
            model = Account
            fields = ("id", "email", "is_staff")

    def get(self, request):
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        return Response(self.OutputSerializer(Account.objects.all(), many=True).data)


class AccountAllSerializer(serializers.ModelSerializer):
    class Meta:
        model = Account
        fields = "__all__"


class AccountDumpView(ListAPIView):
    serializer_class = AccountAllSerializer

    def get(self, request):
        return Response(self.get_serializer(Account.objects.all(), many=True).data)


class MeApi(APIView):
    permission_classes = (IsAuthenticated,)

    class OutputSerializer(serializers.ModelSerializer):
        class Meta:
            model = Account
            fields = ("id", "email", "is_staff")

    def get(self, request):
        return Response(self.OutputSerializer(request.user).data)


class PublicProfileApi(APIView):
    class OutputSerializer(serializers.ModelSerializer):
        password = serializers.CharField(write_only=True)

        class Meta:
            model = Account
            fields = ("id", "username", "bio", "password", "api_key")
            extra_kwargs = {"api_key": {"write_only": True}}

    def get(self, request, pk):
        return Response(self.OutputSerializer(Account.objects.get(pk=pk)).data)
'''

FASTAPI = '''\
from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

router = APIRouter()


class UserBase(BaseModel):
    email: str
    username: str


class UserInDB(UserBase):
    hashed_password: str
    is_superuser: bool = False


class UserPublic(UserBase):
    id: int
    secret_note: str = Field(exclude=True)


class Item(BaseModel):
    name: str
    role: str


@router.get("/users", response_model=list[UserInDB])
async def list_users(db=Depends(get_db)):
    return db.query(User).all()


@router.get("/users/{user_id}")
async def read_user(user_id: int, db=Depends(get_db)) -> UserPublic:
    return db.get(User, user_id)


@router.get("/items", response_model=list[Item])
async def items(db=Depends(get_db)):
    return db.query(ItemRow).all()


@router.get("/admin/users", response_model=list[UserInDB])
async def admin_users(user=Depends(get_current_superuser)):
    return []
'''

ADMIN_ROUTER = '''\
from fastapi import APIRouter, Depends

from .users import UserInDB


def build_router(settings):
    guard = [] if settings.open else [Depends(require_admin)]
    router = APIRouter(prefix="/admin", dependencies=guard)

    @router.get("/all", response_model=list[UserInDB])
    def everyone(db=Depends(get_db)):
        return db.query(User).all()

    return router
'''

FLASK = '''\
from flask import Blueprint, jsonify
from marshmallow import Schema, fields

bp = Blueprint("users", __name__)


class UserSchema(Schema):
    id = fields.Int()
    username = fields.Str()
    roles = fields.List(fields.Str())
    password = fields.Str(load_only=True)


users_schema = UserSchema(many=True)


@bp.route("/users")
def users():
    return jsonify(users_schema.dump(User.query.all()))
'''

FLASK_SAFE = FLASK.replace("    roles = fields.List(fields.Str())\n", "")


def test_drf_public_serializers_with_privileges_fail_at_the_view(tmp_path: Path) -> None:
    repo = repo_of(tmp_path, {"app/models.py": DRF_MODELS, "app/apis.py": DRF_APIS,
                              "app/urls.py": "from django.urls import path\nfrom . import apis\n"
                              "urlpatterns = [path('accounts/', apis.AccountListApi.as_view()),\n"
                              "    path('dump/', apis.AccountDumpView.as_view()),\n"
                              "    path('me/', apis.MeApi.as_view()),\n"
                              "    path('p/<int:pk>/', apis.PublicProfileApi.as_view())]\n"})
    r = res(run_cfg(repo, tmp_path, only=["CFG-177"]), "CFG-177")
    found = problems(r)
    assert set(found) == {"app/apis.py:10", "app/apis.py:31"}, describe(r)
    assert "is_staff" in found["app/apis.py:10"] and "OutputSerializer" in found["app/apis.py:10"]
    # "__all__" over a Django user model answers with the password hash and the privilege flags
    assert "password" in found["app/apis.py:31"] and "is_superuser" in found["app/apis.py:31"]


def test_drf_default_permission_classes_protect_every_view(tmp_path: Path) -> None:
    repo = repo_of(tmp_path, {
        "app/models.py": DRF_MODELS, "app/apis.py": DRF_APIS,
        "app/urls.py": "from django.urls import path\nfrom . import apis\n"
                       "urlpatterns = [path('accounts/', apis.AccountListApi.as_view())]\n",
        "config/settings.py": "INSTALLED_APPS = ['app']\nREST_FRAMEWORK = {\n"
                              "    'DEFAULT_PERMISSION_CLASSES': ['rest_framework.permissions."
                              "IsAuthenticated'],\n}\n"})
    r = res(run_cfg(repo, tmp_path, only=["CFG-177"]), "CFG-177")
    assert r.status is Status.PASS, describe(r)


def test_fastapi_response_models(tmp_path: Path) -> None:
    """A public list answering with the password hash and superuser flag fails; a public model
    without them, a non-user model with a ``role`` and administrators' routes (a dependency on
    the route, or on the router through a name: ``dependencies=guard``) do not."""
    repo = repo_of(tmp_path, {"api/users.py": FASTAPI, "api/admin.py": ADMIN_ROUTER})
    r = res(run_cfg(repo, tmp_path, only=["CFG-177"]), "CFG-177")
    found = problems(r)
    assert list(found) == ["api/users.py:28"], describe(r)
    assert "hashed_password" in found["api/users.py:28"] and "is_superuser" in found["api/users.py:28"]


def test_marshmallow_schema_and_a_clean_repository(tmp_path: Path) -> None:
    r = res(run_cfg(repo_of(tmp_path, {"app/users.py": FLASK}), tmp_path, only=["CFG-177"]),
            "CFG-177")
    assert list(problems(r)) == ["app/users.py:18"], describe(r)
    assert "roles" in problems(r)["app/users.py:18"] and "password" not in problems(r)["app/users.py:18"]
    ok = res(run_cfg(repo_of(tmp_path, {"app/users.py": FLASK_SAFE}, "ok"), tmp_path,
                     only=["CFG-177"]), "CFG-177")
    assert ok.status is Status.PASS, describe(ok)
    assert "1 public GET route(s), 1 response schema(s) read" in ok.findings[0].message


def test_nothing_to_judge_is_skip_and_bad_python_does_not_stop_the_check(tmp_path: Path) -> None:
    none = res(run_cfg(repo_of(tmp_path, {"app.py": "print('hi')\n"}), tmp_path,
                       only=["CFG-177"]), "CFG-177")
    assert none.status is Status.SKIP and "no route handlers" in none.reason
    unread = repo_of(tmp_path, {"app/users.py": "from flask import Blueprint\nbp = Blueprint('u', "
                                "__name__)\n\n\n@bp.route('/users')\ndef users():\n"
                                "    return {'users': []}\n"}, "unread")
    r = res(run_cfg(unread, tmp_path, only=["CFG-177"]), "CFG-177")
    assert r.status is Status.SKIP and "none with a response schema" in r.reason, describe(r)
    broken = repo_of(tmp_path, {"app/users.py": FLASK, "app/broken.py": "def f(:\n  pass\n"},
                     "broken")
    r2 = res(run_cfg(broken, tmp_path, only=["CFG-177"]), "CFG-177")
    assert list(problems(r2)) == ["app/users.py:18"], describe(r2)
