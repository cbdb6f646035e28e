"""Application settings, read from the process environment and validated at startup.

The application reads only the environment (no ``.env`` file): compose files, systemd units or
``set -a; . ./.env`` provide it. Secrets are ``SecretStr`` so they never appear in reprs, logs or
validation errors.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from app.flaws import parse_flaws

WEAK_SECRET = "secret123"  # the dictionary secret used by the jwt-weak-secret flaw
MIN_SECRET_BYTES = 32
MIN_PASSWORD_CHARS = 12
ROLES = ("user", "admin")
_RATE_RE = re.compile(r"^\s*(\d+)\s*/\s*(\d+)\s*$")
_LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
DEFAULT_ALLOWED_HOSTS = ("127.0.0.1", "localhost")


@dataclass(frozen=True)
class Rate:
    """A fixed-window limit: ``limit`` requests per ``period`` seconds."""

    limit: int
    period: int

    def __str__(self) -> str:
        return f"{self.limit}/{self.period}"


@dataclass(frozen=True)
class BootstrapUser:
    """An account created (or re-synced) at startup from BOOTSTRAP_USERS."""

    email: str
    password: str
    role: str

    def __repr__(self) -> str:  # never show the password
        return f"BootstrapUser(email={self.email!r}, role={self.role!r})"


def parse_rate(value: str) -> Rate:
    """Parse ``"10/60"`` into Rate(10, 60)."""
    match = _RATE_RE.match(value)
    if not match:
        raise ValueError(f"must look like LIMIT/SECONDS, e.g. 10/60 (got {value!r})")
    rate = Rate(int(match.group(1)), int(match.group(2)))
    if rate.limit < 1 or rate.period < 1:
        raise ValueError("limit and period must both be at least 1")
    return rate


def _split_csv(value: object) -> object:
    if isinstance(value, str):
        return [item.strip() for item in value.split(",") if item.strip()]
    return value


def _check_host_pattern(pattern: str) -> str:
    """Validate one ALLOWED_HOSTS entry: a host name or IP (no scheme, port or path), ``*`` or
    a ``*.example.com`` wildcard (the rules of Starlette's TrustedHostMiddleware)."""
    host = pattern.strip().lower()
    if "://" in host or "/" in host or any(ch.isspace() for ch in host):
        raise ValueError(f"{pattern!r} must be a host name such as api.example.com (no scheme/path)")
    if host != "*" and ("*" in host[1:] or (host.startswith("*") and not host.startswith("*."))):
        raise ValueError(f"{pattern!r}: wildcards must look like *.example.com")
    return host


def _check_origin(origin: str) -> str:
    if origin in ("*", "null"):
        raise ValueError(f"{origin!r} is not allowed in CORS_ORIGINS (credentials are used)")
    parts = urlsplit(origin)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"{origin!r} is not an origin like https://app.example.com")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise ValueError(f"{origin!r} must be an origin without path, query or fragment")
    return f"{parts.scheme}://{parts.netloc}".lower()


class Settings(BaseSettings):
    """Every environment variable the API reads. Names are the upper-cased field names."""

    model_config = SettingsConfigDict(
        env_file=None, case_sensitive=False, extra="ignore", env_ignore_empty=True
    )

    environment: Literal["development", "staging", "production"] = "production"
    debug: bool = False
    log_level: str = "INFO"

    jwt_secret: SecretStr | None = None
    jwt_algorithm: Literal["HS256", "HS384", "HS512"] = "HS256"
    access_token_expire_minutes: int = Field(default=15, ge=1, le=1440)
    refresh_token_expire_days: int = Field(default=7, ge=1, le=90)
    jwt_issuer: str = "ultra-mvp"
    jwt_audience: str = "ultra-mvp-api"
    bcrypt_rounds: int = Field(default=12, ge=10, le=16)

    database_url: SecretStr = SecretStr("sqlite:///./ultra.db")
    db_pool_size: int = Field(default=5, ge=1, le=100)
    db_max_overflow: int = Field(default=10, ge=0, le=100)
    auto_migrate: bool = True
    redis_url: SecretStr | None = None

    cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    allowed_hosts: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: list(DEFAULT_ALLOWED_HOSTS)
    )
    trusted_proxy: bool = False

    mock_llm: bool = False
    llm_base_url: str | None = None
    llm_api_key: SecretStr | None = None
    llm_model: str = "fake-gpt"
    llm_timeout_seconds: float = Field(default=10.0, gt=0, le=300)
    max_prompt_chars: int = Field(default=4000, ge=1)
    max_body_bytes: int = Field(default=1_048_576, ge=1024)

    rate_limit_login: str = "10/60"
    rate_limit_llm: str = "20/60"
    rate_limit_default: str = "300/60"
    login_max_failures: int = Field(default=5, ge=1)

    bootstrap_users: SecretStr | None = None
    docs_enabled: bool = False
    sentry_dsn: SecretStr | None = None

    ultra_flaws: Annotated[frozenset[str], NoDecode] = Field(default_factory=frozenset)

    # ---- field validation -------------------------------------------------------------
    @field_validator("ultra_flaws", mode="before")
    @classmethod
    def _parse_flaws(cls, value: object) -> object:
        if value is None or isinstance(value, str):
            return parse_flaws(value)
        return value

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _parse_origins(cls, value: object) -> object:
        return _split_csv(value)

    @field_validator("cors_origins")
    @classmethod
    def _check_origins(cls, value: list[str]) -> list[str]:
        return [_check_origin(origin) for origin in value]

    @field_validator("allowed_hosts", mode="before")
    @classmethod
    def _parse_hosts(cls, value: object) -> object:
        return _split_csv(value)

    @field_validator("allowed_hosts")
    @classmethod
    def _check_hosts(cls, value: list[str]) -> list[str]:
        if not value:
            raise ValueError("must name at least one host (e.g. api.example.com,127.0.0.1)")
        return [_check_host_pattern(host) for host in value]

    @field_validator("log_level")
    @classmethod
    def _check_log_level(cls, value: str) -> str:
        level = value.strip().upper()
        if level not in _LOG_LEVELS:
            raise ValueError(f"must be one of {', '.join(_LOG_LEVELS)}")
        return level

    @field_validator("rate_limit_login", "rate_limit_llm", "rate_limit_default")
    @classmethod
    def _check_rate(cls, value: str) -> str:
        parse_rate(value)
        return value.strip()

    @field_validator("llm_base_url")
    @classmethod
    def _check_llm_url(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        parts = urlsplit(value.strip())
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError("must be an http(s) URL such as http://127.0.0.1:9000/v1")
        return value.strip().rstrip("/")

    @field_validator("database_url")
    @classmethod
    def _check_db_url(cls, value: SecretStr) -> SecretStr:
        url = value.get_secret_value()
        if not url.startswith(("sqlite://", "postgresql+psycopg://", "postgresql://")):
            raise ValueError("must start with sqlite:// or postgresql+psycopg://")
        if url.startswith("postgresql://"):
            url = "postgresql+psycopg://" + url[len("postgresql://") :]
        return SecretStr(url)

    # ---- cross-field validation ---------------------------------------------------------
    @model_validator(mode="after")
    def _check_consistency(self) -> Settings:
        flaws = self.ultra_flaws
        if "jwt-weak-secret" not in flaws:
            secret = self.jwt_secret.get_secret_value() if self.jwt_secret else ""
            if not secret:
                raise ValueError("JWT_SECRET is required")
            if len(secret.encode()) < MIN_SECRET_BYTES:
                raise ValueError(f"JWT_SECRET must be at least {MIN_SECRET_BYTES} bytes")
            if len(set(secret)) < 10:
                raise ValueError("JWT_SECRET is too repetitive to be a random secret")
        if self.environment == "production" and self.debug:
            raise ValueError("DEBUG must be false when ENVIRONMENT=production")
        self.bootstrap_accounts()  # validates the format
        if "mock-llm-in-production" in flaws:
            self.mock_llm = True
        if "docs-public" in flaws:
            self.docs_enabled = True
        return self

    # ---- derived values -----------------------------------------------------------------
    def has(self, flaw: str) -> bool:
        """True when the named flaw is switched on."""
        return flaw in self.ultra_flaws

    @property
    def is_sqlite(self) -> bool:
        """True when DATABASE_URL points at SQLite."""
        return self.database_url.get_secret_value().startswith("sqlite")

    @property
    def login_rate(self) -> Rate:
        """RATE_LIMIT_LOGIN, parsed."""
        return parse_rate(self.rate_limit_login)

    @property
    def llm_rate(self) -> Rate:
        """RATE_LIMIT_LLM, parsed."""
        return parse_rate(self.rate_limit_llm)

    @property
    def default_rate(self) -> Rate:
        """RATE_LIMIT_DEFAULT, parsed."""
        return parse_rate(self.rate_limit_default)

    def signing_key(self) -> str:
        """The HMAC key tokens are signed and verified with."""
        if self.has("jwt-weak-secret"):
            return WEAK_SECRET
        assert self.jwt_secret is not None  # guaranteed by validation
        return self.jwt_secret.get_secret_value()

    def secret_values(self) -> list[str]:
        """Every configured secret value, for log redaction."""
        values: list[str] = []
        for secret in (self.jwt_secret, self.llm_api_key, self.sentry_dsn, self.redis_url):
            if secret is not None and len(secret.get_secret_value()) >= 6:
                values.append(secret.get_secret_value())
        db_password = urlsplit(self.database_url.get_secret_value()).password
        if db_password:
            values.append(db_password)
        redis_password = (
            urlsplit(self.redis_url.get_secret_value()).password if self.redis_url else None
        )
        if redis_password:
            values.append(redis_password)
        values.extend(user.password for user in self.bootstrap_accounts())
        return values

    def bootstrap_accounts(self) -> list[BootstrapUser]:
        """Parse BOOTSTRAP_USERS ("email:password:role,...")."""
        if self.bootstrap_users is None:
            return []
        accounts: list[BootstrapUser] = []
        for index, entry in enumerate(self.bootstrap_users.get_secret_value().split(",")):
            entry = entry.strip()
            if not entry:
                continue
            email, sep1, rest = entry.partition(":")
            password, sep2, role = rest.rpartition(":")
            if not (sep1 and sep2 and email and password and role):
                raise ValueError(
                    f"BOOTSTRAP_USERS entry #{index + 1} must look like email:password:role"
                )
            role = role.strip().lower()
            if role not in ROLES:
                raise ValueError(f"BOOTSTRAP_USERS entry #{index + 1}: role must be user or admin")
            if len(password) < MIN_PASSWORD_CHARS:
                raise ValueError(
                    f"BOOTSTRAP_USERS entry #{index + 1}: password shorter than "
                    f"{MIN_PASSWORD_CHARS} characters"
                )
            accounts.append(BootstrapUser(email.strip().lower(), password, role))
        return accounts


class ConfigError(RuntimeError):
    """The environment does not describe a valid configuration."""


def load_settings() -> Settings:
    """Read and validate the environment; raise ConfigError with a value-free message."""
    try:
        return Settings()
    except ValidationError as exc:
        problems = []
        for error in exc.errors(include_input=False, include_url=False):
            field = ".".join(str(part) for part in error["loc"]).upper()
            message = error["msg"].removeprefix("Value error, ")
            problems.append(f"{field}: {message}" if field else message)
        raise ConfigError("invalid configuration: " + "; ".join(problems)) from None
