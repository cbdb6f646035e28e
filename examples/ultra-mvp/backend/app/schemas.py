"""Request and response models (the OpenAPI document is generated from these)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from app.settings import MIN_PASSWORD_CHARS

EMAIL_PATTERN = r"^[^@\s\x00-\x1f]{1,64}@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$"


def _no_nul(value: str) -> str:
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


class ErrorResponse(BaseModel):
    """The body of every error response."""

    detail: str = Field(description="A human-readable error message.")


class ServerErrorResponse(ErrorResponse):
    """A 500 body: the request id ties it to the log line with the traceback."""

    request_id: str | None = Field(default=None, description="Quote this id to support.")


class RegisterRequest(BaseModel):
    """A new account: email and password (12 to 128 characters)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"email": "ada@example.com", "password": "correct horse battery"}]
        }
    )

    email: str = Field(max_length=254, pattern=EMAIL_PATTERN)
    password: str = Field(min_length=MIN_PASSWORD_CHARS, max_length=128)

    @field_validator("email")
    @classmethod
    def _normalise(cls, value: str) -> str:
        return value.strip().lower()

    @field_validator("password")
    @classmethod
    def _password(cls, value: str) -> str:
        return _no_nul(value)


class Links(BaseModel):
    """Related resources of a response."""

    self: str


class UserOut(BaseModel):
    """A user as the API shows it (never the password hash)."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    email: str
    role: Literal["user", "admin"]


class RegisteredUser(UserOut):
    """The account just created, with a link to ``/users/me``."""

    links: Links


class AdminUserOut(UserOut):
    """A user as administrators see it, with status and timestamps."""

    is_active: bool
    created_at: datetime
    last_login_at: datetime | None = None


class TokenResponse(BaseModel):
    """An OAuth2 bearer token pair."""

    access_token: str
    refresh_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int = Field(description="Access-token lifetime in seconds.")


class RefreshRequest(BaseModel):
    """A refresh token in the body (optional: the ``refresh_token`` cookie is used otherwise)."""

    refresh_token: str | None = Field(
        default=None,
        max_length=4096,
        description="The refresh token; when omitted the refresh_token cookie is used.",
    )


class NoteCreate(BaseModel):
    """A new note: a title (1-200 characters) and an optional body."""

    title: str = Field(min_length=1, max_length=200)
    body: str = Field(default="", max_length=10_000)

    @field_validator("title", "body")
    @classmethod
    def _text(cls, value: str) -> str:
        return _no_nul(value)


class NoteOut(BaseModel):
    """A stored note."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    title: str
    body: str
    created_at: datetime


class ChatMessage(BaseModel):
    """One message of a conversation (OpenAI chat format)."""

    role: Literal["system", "user", "assistant"]
    content: str

    @field_validator("content")
    @classmethod
    def _content(cls, value: str) -> str:
        return _no_nul(value)


class ChatRequest(BaseModel):
    """A conversation to continue (1-50 messages), optionally streamed."""

    messages: list[ChatMessage] = Field(min_length=1, max_length=50)
    stream: bool = False


class ChatResponse(BaseModel):
    """The assistant's reply and the model that wrote it."""

    reply: str
    model: str


class HealthResponse(BaseModel):
    """Liveness: the process and the database."""

    status: Literal["ok", "error"]
    database: Literal["ok", "error"]


class CheckResult(BaseModel):
    """The state of one dependency in the readiness check."""

    model_config = ConfigDict(extra="allow")

    status: Literal["ok", "error", "skipped"]
    detail: str | None = None


class ReadinessResponse(BaseModel):
    """Readiness: overall status and one result per dependency."""

    status: Literal["ok", "degraded"]
    checks: dict[str, CheckResult]
