"""CFG-179: request schemas that let a client write privilege fields (DRF serializers, FastAPI
request models, marshmallow schemas) on routes not reserved to administrators; small projects
written in tmp_path."""

from __future__ import annotations

from pathlib import Path

from cfg_helpers import describe, res, run_cfg
from test_route_auth import ln
from test_settings_shapes import problems, repo_of

from prodaudit.model import Status

# ---- Django REST framework ----------------------------------------------------------------------

DRF_MODELS = '''\
from django.contrib.auth.models import AbstractBaseUser, PermissionsMixin
from django.db import models


class User(AbstractBaseUser, PermissionsMixin):
    email = models.EmailField(unique=True)
    is_staff = models.BooleanField(default=False)
    is_active = models.BooleanField(default=True)
'''
DRF_SERIALIZERS = '''\
from rest_framework import serializers

from .models import User


class UserSerializer(serializers.ModelSerializer):
    class Meta:
        model = User
        fields = [
            "id",
            "email",
            "is_active",
            "is_staff",
            "is_superuser",
        ]
'''
DRF_VIEWS = '''\
from rest_framework import viewsets
from rest_framework.permissions import IsAuthenticated

from .models import User
from .serializers import UserSerializer


class UserViewSet(viewsets.ModelViewSet):
    queryset = User.objects.all()
    serializer_class = UserSerializer
    permission_classes = [IsAuthenticated]
'''
DRF_ROUTES = '''\
from .views import UserViewSet

routes = [
    {"regex": r"users", "viewset": UserViewSet, "basename": "user"},
]
'''
DRF_URLS = '''\
from django.urls import include, path
from rest_framework.routers import DefaultRouter

from users.routes import routes as users_routes

router = DefaultRouter()
for route in users_routes:
    router.register(route["regex"], route["viewset"], basename=route["basename"])

urlpatterns = [
    path("api/", include(router.urls)),
]
'''
DRF_SETTINGS = '''\
INSTALLED_APPS = ["rest_framework", "users"]
'''


def _drf(serializers: str = DRF_SERIALIZERS, views: str = DRF_VIEWS) -> dict[str, str]:
    return {"users/models.py": DRF_MODELS, "users/serializers.py": serializers,
            "users/views.py": views, "users/routes.py": DRF_ROUTES, "proj/urls.py": DRF_URLS,
            "proj/settings.py": DRF_SETTINGS}


def _run(tmp_path: Path, files: dict[str, str]) -> object:
    return res(run_cfg(repo_of(tmp_path, files), tmp_path, only=["CFG-179"]), "CFG-179")


def test_drf_model_serializer_listing_staff_flags_on_an_authenticated_viewset_fails(
        tmp_path: Path) -> None:
    r = _run(tmp_path, _drf())
    found = problems(r)
    rel = "users/serializers.py"
    staff, superuser = ln(DRF_SERIALIZERS, '"is_staff"', rel), \
        ln(DRF_SERIALIZERS, '"is_superuser"', rel)
    assert set(found) == {staff, superuser}, describe(r)
    assert "is_staff" in found[staff] and "UserSerializer" in found[staff]
    for route in ("PUT /api/users/<pk>/", "PATCH /api/users/<pk>/", "POST /api/users/"):
        assert route in found[staff], found[staff]
    assert "IsAuthenticated" in found[staff]
    assert "is_active" not in found[staff]  # status, not privilege


def test_drf_all_fields_of_a_django_user_fail_at_the_fields_line(tmp_path: Path) -> None:
    serializers = DRF_SERIALIZERS.replace('''fields = [
            "id",
            "email",
            "is_active",
            "is_staff",
            "is_superuser",
        ]''', 'fields = "__all__"')
    r = _run(tmp_path, _drf(serializers))
    found = problems(r)
    loc = ln(serializers, '"__all__"', "users/serializers.py")
    assert set(found) == {loc}, describe(r)
    for field in ("is_staff", "is_superuser", "groups", "user_permissions"):
        assert field in found[loc].split(" through ")[0], found[loc]


def test_drf_read_only_fields_extra_kwargs_and_declared_read_only_pass(tmp_path: Path) -> None:
    meta_end = '            "is_superuser",\n        ]\n'
    fixes = [
        DRF_SERIALIZERS.replace(meta_end, meta_end +
                                '        read_only_fields = ["is_staff", "is_superuser"]\n'),
        DRF_SERIALIZERS.replace(meta_end, meta_end + '        extra_kwargs = {\n'
                                '            "is_staff": {"read_only": True},\n'
                                '            "is_superuser": {"read_only": True},\n        }\n'),
        DRF_SERIALIZERS.replace("    class Meta:", "    is_staff = serializers.BooleanField("
                                "read_only=True)\n    is_superuser = serializers.ReadOnlyField()"
                                "\n\n    class Meta:"),
    ]
    for i, serializers in enumerate(fixes):
        r = _run(tmp_path / str(i), _drf(serializers))
        assert r.status is Status.PASS, describe(r)
        assert "3 request schema(s) read" in r.findings[0].message, describe(r)


def test_drf_admin_only_viewset_and_admin_branch_of_get_serializer_class_pass(
        tmp_path: Path) -> None:
    admin = DRF_VIEWS.replace("IsAuthenticated", "IsAdminUser")
    r = _run(tmp_path / "a", _drf(views=admin))
    assert r.status is Status.PASS, describe(r)
    assert "3 route(s) for administrators only" in r.findings[0].message, describe(r)
    branch_serializers = DRF_SERIALIZERS + '''

class ProfileSerializer(serializers.ModelSerializer):
    class Meta:
        model = User
        fields = ["id", "email"]
'''
    branch_views = DRF_VIEWS.replace("    serializer_class = UserSerializer\n", '''\

    def get_serializer_class(self):
        if self.request.user.is_staff:
            return UserSerializer
        return ProfileSerializer
''').replace("import UserSerializer", "import ProfileSerializer, UserSerializer")
    r = _run(tmp_path / "b", _drf(branch_serializers, branch_views))
    assert r.status is Status.PASS, describe(r)
    # the same serializer returned to everyone is judged
    everyone = branch_views.replace("        if self.request.user.is_staff:\n"
                                    "            return UserSerializer\n"
                                    "        return ProfileSerializer\n",
                                    "        return UserSerializer\n")
    r = _run(tmp_path / "c", _drf(branch_serializers, everyone))
    assert r.status is Status.FAIL, describe(r)


def test_drf_owner_or_admin_permission_is_not_admin_only(tmp_path: Path) -> None:
    views = DRF_VIEWS.replace("[IsAuthenticated]", "[IsAuthenticated, IsOwnerOrAdmin]")
    r = _run(tmp_path, _drf(views=views))
    assert r.status is Status.FAIL, describe(r)


# ---- FastAPI / pydantic -------------------------------------------------------------------------

FA_MODELS = '''\
from sqlmodel import Field, SQLModel


class UserBase(SQLModel):
    email: str = Field(unique=True, index=True)
    is_active: bool = True
    is_superuser: bool = False
    full_name: str | None = None


class UserCreate(UserBase):
    password: str


class UserRegister(SQLModel):
    email: str
    password: str
    full_name: str | None = None


class UserUpdate(UserBase):
    email: str | None = None
    password: str | None = None


class UserUpdateMe(SQLModel):
    full_name: str | None = None
    email: str | None = None
'''
FA_DEPS = '''\
from typing import Annotated

from fastapi import Depends

CurrentUser = Annotated[User, Depends(get_current_user)]
'''
FA_ROUTES = '''\
from typing import Any

from fastapi import APIRouter, Depends

from app.deps import CurrentUser, SessionDep, get_current_active_superuser
from app.models import UserCreate, UserRegister, UserUpdate, UserUpdateMe

router = APIRouter(prefix="/users", tags=["users"])


@router.post("/", dependencies=[Depends(get_current_active_superuser)])
def create_user(*, session: SessionDep, user_in: UserCreate) -> Any:
    return crud.create_user(session=session, user_create=user_in)


@router.patch("/me")
def update_user_me(*, session: SessionDep, user_in: UserUpdateMe, current_user: CurrentUser) -> Any:
    return crud.update_user(session=session, db_user=current_user, user_in=user_in)


@router.post("/signup")
def register_user(session: SessionDep, user_in: UserRegister) -> Any:
    return crud.create_user(session=session, user_create=user_in)


@router.patch("/{user_id}", dependencies=[Depends(get_current_active_superuser)])
def update_user(*, session: SessionDep, user_id: int, user_in: UserUpdate) -> Any:
    return crud.update_user(session=session, user_id=user_id, user_in=user_in)
'''
CHAT = '''\
from typing import Literal

import fastapi
import pydantic

router = fastapi.APIRouter()


class Message(pydantic.BaseModel):
    content: str
    role: str = "user"


class AccountUpdate(pydantic.BaseModel):
    email: str
    role: Literal["reader", "writer"] = "reader"


@router.post("/chat")
async def chat(message: Message) -> dict:
    return {"ok": True}


@router.put("/account")
async def update_account(body: AccountUpdate, user=fastapi.Depends(get_current_user)) -> dict:
    return await save_account(user, body)
'''


def _fastapi(routes: str = FA_ROUTES) -> dict[str, str]:
    return {"app/models.py": FA_MODELS, "app/deps.py": FA_DEPS, "app/routes/users.py": routes}


def test_fastapi_schema_with_superuser_only_on_superuser_routes_passes(tmp_path: Path) -> None:
    r = _run(tmp_path, _fastapi())
    assert r.status is Status.PASS, describe(r)
    assert "2 route(s) for administrators only" in r.findings[0].message, describe(r)


def test_fastapi_public_signup_with_superuser_field_fails_at_the_field(tmp_path: Path) -> None:
    routes = FA_ROUTES.replace("user_in: UserRegister", "user_in: UserCreate")
    r = _run(tmp_path, _fastapi(routes))
    found = problems(r)
    loc = ln(FA_MODELS, "is_superuser: bool", "app/models.py")
    assert set(found) == {loc}, describe(r)
    assert "POST /users/signup (register_user)" in found[loc] and "anyone" in found[loc]
    assert "UserCreate" in found[loc] and "is_active" not in found[loc].split(" through ")[0]


def test_fastapi_admin_check_in_the_handler_passes_and_a_user_check_fails(
        tmp_path: Path) -> None:
    head = "current_user: CurrentUser) -> Any:\n"
    routes = FA_ROUTES.replace("user_in: UserUpdateMe", "user_in: UserUpdate").replace(
        head, head + '''\
    if not current_user.is_superuser:
        raise HTTPException(status_code=403, detail="Not enough privileges")
''')
    r = _run(tmp_path / "a", _fastapi(routes))
    assert r.status is Status.PASS, describe(r)
    owner = routes.replace("if not current_user.is_superuser:",
                           "if user_in.email != current_user.email and not "
                           "current_user.is_superuser:")
    r = _run(tmp_path / "b", _fastapi(owner))
    found = problems(r)
    assert set(found) == {ln(FA_MODELS, "is_superuser: bool", "app/models.py")}, describe(r)
    assert "PATCH /users/me" in next(iter(found.values()))


def test_fastapi_chat_role_and_closed_literal_role_pass(tmp_path: Path) -> None:
    r = _run(tmp_path, {"app/chat.py": CHAT})
    assert r.status is Status.PASS, describe(r)
    opened = CHAT.replace('Literal["reader", "writer"]', 'Literal["reader", "admin"]')
    r = _run(tmp_path / "b", {"app/chat.py": opened})
    assert set(problems(r)) == {ln(opened, "role: Literal", "app/chat.py")}, describe(r)


# ---- Flask / marshmallow ------------------------------------------------------------------------

MA_SCHEMAS = '''\
from marshmallow import Schema, fields


class UserSchema(Schema):
    id = fields.Integer(dump_only=True)
    username = fields.String(required=True)
    email = fields.Email(required=True)
    is_admin = fields.Boolean()


user_schema = UserSchema()
'''
MA_ROUTES = '''\
from flask import Blueprint, request
from flask_login import current_user, login_required

from app.schemas import user_schema

bp = Blueprint("users", __name__)


@bp.route("/users/me", methods=["PUT"])
@login_required
def update_me():
    data = user_schema.load(request.get_json())
    for key, value in data.items():
        setattr(current_user, key, value)
    return user_schema.dump(current_user)
'''


def test_marshmallow_schema_loaded_in_a_user_route_fails_and_dump_only_passes(
        tmp_path: Path) -> None:
    files = {"app/schemas.py": MA_SCHEMAS, "app/routes.py": MA_ROUTES}
    r = _run(tmp_path / "a", files)
    found = problems(r)
    loc = ln(MA_SCHEMAS, "is_admin = ", "app/schemas.py")
    assert set(found) == {loc}, describe(r)
    assert "PUT /users/me (update_me)" in found[loc] and "login_required" in found[loc]
    fixed = MA_SCHEMAS.replace("fields.Boolean()", "fields.Boolean(dump_only=True)")
    r = _run(tmp_path / "b", {**files, "app/schemas.py": fixed})
    assert r.status is Status.PASS, describe(r)
    admin = MA_ROUTES.replace("@login_required", "@admin_required")
    r = _run(tmp_path / "c", {**files, "app/routes.py": admin})
    assert r.status is Status.PASS, describe(r)


def test_no_write_schema_skips(tmp_path: Path) -> None:
    routes = '''\
from flask import Flask, request

app = Flask(__name__)


@app.post("/notes")
def add_note():
    return {"text": request.form["text"]}
'''
    r = _run(tmp_path, {"app.py": routes})
    assert r.status is Status.SKIP, describe(r)
    assert "none with a request schema" in (r.reason or ""), describe(r)


GENERIC_VIEWS = '''\
from rest_framework import generics, serializers
from rest_framework.permissions import AllowAny

from .models import User


class RegisterSerializer(serializers.ModelSerializer):
    class Meta:
        model = User
        fields = ("email", "password", "is_staff")


class RegisterView(generics.CreateAPIView):
    serializer_class = RegisterSerializer
    permission_classes = [AllowAny]
'''


def test_drf_generic_create_view_and_overridden_update_are_judged(tmp_path: Path) -> None:
    files = {**_drf(), "users/register.py": GENERIC_VIEWS}
    r = _run(tmp_path / "a", files)
    found = problems(r)
    loc = ln(GENERIC_VIEWS, "fields = (", "users/register.py")
    assert loc in found, describe(r)
    assert "POST (RegisterView.create)" in found[loc] and "anyone" in found[loc], found[loc]
    fixed = GENERIC_VIEWS.replace("permission_classes = [AllowAny]",
                                  "permission_classes = [IsAdminUser]")
    r = _run(tmp_path / "b", {**files, "users/register.py": fixed})
    assert loc not in problems(r), describe(r)
    # a handler of its own that runs DRF's update
    views = DRF_VIEWS + '''
    def update(self, request, *args, **kwargs):
        kwargs["partial"] = True
        return super().update(request, *args, **kwargs)
'''
    r = _run(tmp_path / "c", _drf(views=views))
    staff = ln(DRF_SERIALIZERS, '"is_staff"', "users/serializers.py")
    assert "PUT /api/users/<pk>/ (update)" in problems(r).get(staff, ""), describe(r)


def test_drf_read_only_fields_naming_fields_and_concatenated_fields(tmp_path: Path) -> None:
    meta_end = '            "is_superuser",\n        ]\n'
    all_read_only = DRF_SERIALIZERS.replace(meta_end, meta_end + "        read_only_fields = fields\n")
    r = _run(tmp_path / "a", _drf(all_read_only))
    assert r.status is Status.PASS, describe(r)
    extended = DRF_SERIALIZERS + '''

class StaffSerializer(UserSerializer):
    class Meta(UserSerializer.Meta):
        fields = ["id", "email"] + ["is_superuser"]
        read_only_fields = ["email"]
'''
    views = DRF_VIEWS.replace("serializer_class = UserSerializer",
                              "serializer_class = StaffSerializer")
    r = _run(tmp_path / "b", _drf(extended, views))
    assert set(problems(r)) == {ln(extended, '+ ["is_superuser"]', "users/serializers.py")}, \
        describe(r)


PYDANTIC_BY_HAND = '''\
from flask import Flask, request
from pydantic import BaseModel

app = Flask(__name__)


class UserIn(BaseModel):
    email: str
    password: str
    role: str = "user"


class UserOut(BaseModel):
    id: int
    email: str
    role: str


@app.post("/register")
def register():
    data = request.get_json()
    user_in = UserIn.model_validate(data)
    user = save(user_in)
    return UserOut.model_validate(user).model_dump()
'''


def test_pydantic_validated_from_the_request_is_judged_and_a_response_model_is_not(
        tmp_path: Path) -> None:
    r = _run(tmp_path / "a", {"app.py": PYDANTIC_BY_HAND})
    found = problems(r)
    assert set(found) == {ln(PYDANTIC_BY_HAND, 'role: str = "user"', "app.py")}, describe(r)
    assert "UserIn" in next(iter(found.values()))
    safe = PYDANTIC_BY_HAND.replace('    role: str = "user"\n\n\nclass UserOut', '\n\nclass UserOut')
    r = _run(tmp_path / "b", {"app.py": safe})
    assert r.status is Status.PASS, describe(r)


def test_fields_the_code_picks_or_handles_pass(tmp_path: Path) -> None:
    picked = FA_ROUTES.replace("user_in: UserRegister", "user_in: UserCreate").replace(
        "    return crud.create_user(session=session, user_create=user_in)\n\n\n@router.patch(\"/{",
        "    return crud.create_user(session=session, email=user_in.email,\n"
        "                            password=user_in.password)\n\n\n@router.patch(\"/{")
    assert "email=user_in.email" in picked
    r = _run(tmp_path / "a", _fastapi(picked))
    assert r.status is Status.PASS, describe(r)
    own_create = DRF_SERIALIZERS + '''
    def create(self, validated_data):
        return User.objects.create_user(email=validated_data["email"])

    def update(self, instance, validated_data):
        instance.email = validated_data.get("email", instance.email)
        instance.save()
        return instance
'''
    r = _run(tmp_path / "b", _drf(own_create))
    assert r.status is Status.PASS, describe(r)
    wholesale = own_create.replace('User.objects.create_user(email=validated_data["email"])',
                                   "User.objects.create_user(**validated_data)")
    r = _run(tmp_path / "c", _drf(wholesale))
    assert r.status is Status.FAIL, describe(r)
    popped = DRF_SERIALIZERS + '''
    def validate(self, attrs):
        attrs.pop("is_staff", None)
        attrs.pop("is_superuser", None)
        return attrs
'''
    r = _run(tmp_path / "d", _drf(popped))
    assert r.status is Status.PASS, describe(r)


def test_a_project_base_named_like_a_schema_is_followed_to_pydantic(tmp_path: Path) -> None:
    models = '''\
from pydantic import BaseModel


class BaseSchema(BaseModel):
    model_config = {"from_attributes": True}


class UserCreate(BaseSchema):
    email: str
    password: str
    is_admin: bool = False
'''
    routes = '''\
from fastapi import APIRouter

from app.schemas import UserCreate

router = APIRouter()


@router.post("/register")
async def register(user_in: UserCreate) -> dict:
    return await users.create(user_in)
'''
    r = _run(tmp_path, {"app/schemas.py": models, "app/routes.py": routes})
    assert set(problems(r)) == {ln(models, "is_admin: bool", "app/schemas.py")}, describe(r)


def test_handler_use_of_a_loaded_body_decides_what_is_written(tmp_path: Path) -> None:
    files = {"app/schemas.py": MA_SCHEMAS, "app/routes.py": MA_ROUTES.replace(
        "    for key, value in data.items():\n        setattr(current_user, key, value)\n",
        "    current_user.email = data[\"email\"]\n    current_user.username = data[\"username\"]\n")}
    r = _run(tmp_path / "a", files)
    assert r.status is Status.PASS, describe(r)
    routes = FA_ROUTES.replace("user_in: UserRegister", "user_in: UserCreate").replace(
        "crud.create_user(session=session, user_create=user_in)\n\n\n@router.patch(\"/{",
        "crud.create_user(session=session, **user_in.model_dump(exclude={\"is_superuser\"}))"
        "\n\n\n@router.patch(\"/{")
    r = _run(tmp_path / "b", _fastapi(routes))
    assert r.status is Status.PASS, describe(r)
    leaky = routes.replace('exclude={"is_superuser"}', 'exclude={"password"}')
    r = _run(tmp_path / "c", _fastapi(leaky))
    assert r.status is Status.FAIL, describe(r)
