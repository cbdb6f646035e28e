from __future__ import annotations

from prodaudit.redact import MASK, Redactor, is_secret_name


def test_registered_values_and_env_are_masked() -> None:
    r = Redactor()
    r.register_env({"JWT_SECRET": "s3cr3t-value-long", "LOG_LEVEL": "INFO",
                    "DATABASE_URL": "postgresql://app:pg-pass-123@db:5432/app"})
    out = r("secret=s3cr3t-value-long url=postgresql://app:pg-pass-123@db/app level INFO")
    assert "s3cr3t-value-long" not in out and "pg-pass-123" not in out
    assert "INFO" in out and MASK in out


def test_patterns_mask_unregistered_credentials() -> None:
    r = Redactor()
    text = (
        "key sk-proj-abcdefghijklmnopqrstuvwxyz123456 aws AKIAABCDEFGHIJKLMNOP\n"
        "Authorization: Bearer abc.def.ghi\n"
        "token eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJlc2lnbmF0dXJl\n"
        "ghp_" + "a" * 36
    )
    out = r(text)
    assert "abcdefghijklmnopqrstuvwxyz123456" not in out
    assert "ABCDEFGHIJKLMNOP" not in out
    assert "abc.def.ghi" not in out
    assert "c2lnbmF0dXJlc2lnbmF0dXJl" not in out
    assert "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0" in out  # header/payload kept as evidence
    assert "a" * 36 not in out


def test_short_values_are_not_registered() -> None:
    r = Redactor()
    r.register("ab", "", None)
    assert r("ab cd") == "ab cd"


def test_redact_obj_nested() -> None:
    r = Redactor()
    r.register("topsecretvalue")
    assert r.redact_obj({"a": ["x topsecretvalue"], "b": 1}) == {"a": [f"x {MASK}"], "b": 1}


def test_secret_names() -> None:
    for n in ("JWT_SECRET", "DB_PASSWORD", "LLM_API_KEY", "GITHUB_TOKEN", "SENTRY_DSN"):
        assert is_secret_name(n), n
    for n in ("LOG_LEVEL", "DATABASE_HOST", "KEYBOARD_LAYOUT_NAME"):
        assert not is_secret_name(n), n
