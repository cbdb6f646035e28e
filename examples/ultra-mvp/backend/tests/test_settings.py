"""Configuration: the environment is validated at startup and errors name the variable, never
its value."""

from __future__ import annotations

import secrets

import pytest
from app.flaws import FLAWS
from app.settings import ConfigError, Settings, load_settings, parse_rate

VALID_SECRET = secrets.token_urlsafe(48)


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """A minimal valid environment to change one variable at a time."""
    monkeypatch.setenv("JWT_SECRET", VALID_SECRET)
    monkeypatch.setenv("DATABASE_URL", "sqlite:///./unused.db")
    return monkeypatch


def test_defaults_are_hardened(env: pytest.MonkeyPatch) -> None:
    settings = load_settings()
    assert settings.environment == "production"
    assert settings.debug is False
    assert settings.docs_enabled is False
    assert settings.mock_llm is False
    assert settings.trusted_proxy is False
    assert settings.allowed_hosts == ["127.0.0.1", "localhost"]
    assert settings.cors_origins == []
    assert settings.ultra_flaws == frozenset()


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("JWT_SECRET", "too-short", "JWT_SECRET must be at least 32 bytes"),
        ("JWT_SECRET", "a" * 40, "too repetitive"),
        ("DEBUG", "true", "DEBUG must be false when ENVIRONMENT=production"),
        ("CORS_ORIGINS", "*", "CORS_ORIGINS"),
        ("CORS_ORIGINS", "https://app.example.com/path", "without path"),
        ("ALLOWED_HOSTS", "https://api.example.com", "ALLOWED_HOSTS"),
        ("ALLOWED_HOSTS", "api.*.example.com", "wildcards must look like *.example.com"),
        ("ULTRA_FLAWS", "no-such-flaw", "ULTRA_FLAWS"),
        ("RATE_LIMIT_LOGIN", "ten per minute", "LIMIT/SECONDS"),
        ("DATABASE_URL", "mysql://db/ultra", "sqlite:// or postgresql+psycopg://"),
        ("BOOTSTRAP_USERS", "a@example.com:short:user", "shorter than 12 characters"),
    ],
)
def test_invalid_values_stop_startup(
    env: pytest.MonkeyPatch, variable: str, value: str, message: str
) -> None:
    env.setenv(variable, value)
    with pytest.raises(ConfigError) as excinfo:
        load_settings()
    assert message in str(excinfo.value)
    if variable in ("JWT_SECRET", "BOOTSTRAP_USERS"):
        assert value not in str(excinfo.value)  # never the secret itself


def test_jwt_secret_is_required(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("JWT_SECRET", raising=False)
    with pytest.raises(ConfigError, match="JWT_SECRET is required"):
        load_settings()


def test_lists_and_urls_are_normalised(env: pytest.MonkeyPatch) -> None:
    env.setenv("ALLOWED_HOSTS", " API.example.com , *.Internal.example ")
    env.setenv("CORS_ORIGINS", "https://App.example.com")
    env.setenv("DATABASE_URL", "postgresql://u:p@db:5432/ultra")
    env.setenv("LLM_BASE_URL", "http://127.0.0.1:9000/v1/")
    settings = load_settings()
    assert settings.allowed_hosts == ["api.example.com", "*.internal.example"]
    assert settings.cors_origins == ["https://app.example.com"]
    assert settings.database_url.get_secret_value().startswith("postgresql+psycopg://")
    assert settings.llm_base_url == "http://127.0.0.1:9000/v1"


def test_secrets_never_appear_in_the_repr() -> None:
    settings = Settings(jwt_secret=VALID_SECRET, llm_api_key="sk-very-secret-value")
    assert VALID_SECRET not in repr(settings)
    assert "sk-very-secret-value" not in repr(settings)
    assert VALID_SECRET in settings.secret_values()


def test_parse_rate() -> None:
    assert str(parse_rate(" 10 / 60 ")) == "10/60"
    with pytest.raises(ValueError, match="at least 1"):
        parse_rate("0/60")


def test_every_flaw_is_documented() -> None:
    assert FLAWS
    assert all(description.strip() for description in FLAWS.values())
