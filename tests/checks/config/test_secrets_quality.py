"""CFG-020..023: placeholder secrets, signing-secret strength, shared secrets, code defaults."""

from __future__ import annotations

import secrets
from pathlib import Path

from cfg_helpers import describe, fails, line_of, ref_copy, replace, res, run_cfg, run_text, strong_env

from prodaudit.model import Severity, Status


def test_placeholder_secret_in_profile_env_is_critical(tmp_path: Path) -> None:
    repo = ref_copy(tmp_path)
    env = strong_env(tmp_path, JWT_SECRET="changethis", LLM_API_KEY="your-api-key-here",
                     SENTRY_DSN="")
    run = run_cfg(repo, tmp_path, only=["CFG-020"], env_file=env)
    r = res(run, "CFG-020")
    assert r.status is Status.FAIL, describe(r)
    by_name = {f.message.split()[0]: f for f in fails(r)}
    assert set(by_name) == {"JWT_SECRET", "LLM_API_KEY"}
    assert by_name["JWT_SECRET"].severity is Severity.CRITICAL
    assert by_name["JWT_SECRET"].location == f"{env}:{line_of(env, 'JWT_SECRET')}"
    # the settings read it as ``SecretStr | None = None``: empty is "error tracking off"
    assert not [f for f in r.findings if "SENTRY_DSN" in f.message], describe(r)
    assert "your-api-key-here" not in run_text(run)


_OPTIONAL_SETTINGS = ("from pydantic_settings import BaseSettings\n\n\n"
                      "class Settings(BaseSettings):\n"
                      "    SMTP_PASSWORD: str | None = None\n"
                      "    SENTRY_DSN: str | None = None\n"
                      "    SMTP_TOKEN: str\n\n\nsettings = Settings()\n")


def test_empty_secret_is_a_finding_only_when_the_code_requires_it(tmp_path: Path) -> None:
    repo = tmp_path / "r"
    (repo / "app").mkdir(parents=True)
    (repo / "app" / "config.py").write_text(_OPTIONAL_SETTINGS, encoding="utf-8")
    (repo / ".env").write_text("SMTP_PASSWORD=\nSENTRY_DSN=\nSMTP_TOKEN=\nAPI_KEY=changethis\n",
                               encoding="utf-8")
    r = res(run_cfg(repo, tmp_path, only=["CFG-020"]), "CFG-020")
    flagged = {f.message.split()[0]: f for f in r.findings if f.status in (Status.WARN,
                                                                          Status.FAIL)}
    assert set(flagged) == {"SMTP_TOKEN", "API_KEY"}, describe(r)
    assert flagged["SMTP_TOKEN"].status is Status.WARN
    assert flagged["SMTP_TOKEN"].location == ".env:3"
    assert "without a default" in flagged["SMTP_TOKEN"].message
    assert flagged["API_KEY"].status is Status.FAIL  # a placeholder stays a placeholder
    # the same file, all of them optional in the code: only the placeholder is left
    (repo / "app" / "config.py").write_text(
        _OPTIONAL_SETTINGS.replace("SMTP_TOKEN: str\n", "SMTP_TOKEN: str | None = None\n"),
        encoding="utf-8")
    r = res(run_cfg(repo, tmp_path, only=["CFG-020"]), "CFG-020")
    assert [f.message.split()[0] for f in fails(r)] == ["API_KEY"], describe(r)
    assert not [f for f in r.findings if f.status is Status.WARN], describe(r)


def test_compose_fallback_secret_fails(tmp_path: Path) -> None:
    repo = ref_copy(tmp_path)
    compose = repo / "docker-compose.yml"
    replace(compose, "${JWT_SECRET:?JWT_SECRET must be set to at least 32 random bytes (see "
            ".env.example)}", "${JWT_SECRET:-supersecretvalue}")
    run = run_cfg(repo, tmp_path, only=["CFG-020"], env_file=strong_env(tmp_path))
    r = res(run, "CFG-020")
    (f,) = fails(r)
    assert f.location == f"docker-compose.yml:{line_of(compose, 'supersecretvalue')}"
    assert "supersecretvalue" not in run_text(run)


def test_committed_env_file_placeholder_and_no_env_file_is_not_pass(tmp_path: Path) -> None:
    repo = ref_copy(tmp_path)
    (repo / ".env.staging").write_text("DB_PASSWORD=changeme\n", encoding="utf-8")
    r = res(run_cfg(repo, tmp_path, only=["CFG-020"]), "CFG-020")
    assert r.status is Status.FAIL and fails(r)[0].location == ".env.staging:1"
    clean = ref_copy(tmp_path, "clean")
    r2 = res(run_cfg(clean, tmp_path, only=["CFG-020"]), "CFG-020")
    assert r2.status is Status.SKIP, describe(r2)  # nothing about the deployment verified


def test_weak_signing_secrets(tmp_path: Path) -> None:
    repo = ref_copy(tmp_path)
    for value, why in (("secret123", "shorter than 32"), ("a" * 48, "low entropy"),
                       ("abababababababababababababababababababab", "low entropy")):
        env = strong_env(tmp_path, f"{len(value)}{value[:2]}.env", JWT_SECRET=value)
        run = run_cfg(repo, tmp_path, only=["CFG-021"], env_file=env)
        r = res(run, "CFG-021")
        assert r.status is Status.FAIL, describe(r)
        assert why in fails(r)[0].message and fails(r)[0].severity is Severity.CRITICAL
        assert value not in run_text(run)
    r = res(run_cfg(repo, tmp_path, only=["CFG-021"], env_file=strong_env(tmp_path)), "CFG-021")
    assert r.status is Status.PASS, describe(r)


def test_shared_secret_between_dev_and_prod(tmp_path: Path) -> None:
    repo = ref_copy(tmp_path)
    shared = secrets.token_urlsafe(32)
    env = strong_env(tmp_path, LLM_API_KEY=shared)
    (repo / ".env.development").write_text(f"DEBUG=true\nLLM_API_KEY={shared}\n", encoding="utf-8")
    run = run_cfg(repo, tmp_path, only=["CFG-022"], env_file=env)
    r = res(run, "CFG-022")
    assert r.status is Status.FAIL, describe(r)
    assert ".env.development:2" in fails(r)[0].message and shared not in run_text(run)
    (repo / ".env.development").write_text(f"LLM_API_KEY={secrets.token_urlsafe(32)}\n",
                                           encoding="utf-8")
    r2 = res(run_cfg(repo, tmp_path, only=["CFG-022"], env_file=env), "CFG-022")
    assert r2.status is Status.PASS, describe(r2)


def test_hardcoded_secret_default_in_settings(tmp_path: Path) -> None:
    repo = ref_copy(tmp_path)
    settings = repo / "backend/app/settings.py"
    replace(settings, "    jwt_secret: SecretStr | None = None\n",
            '    jwt_secret: SecretStr | None = SecretStr("dev-signing-key-0123456789")\n')
    run = run_cfg(repo, tmp_path, only=["CFG-023"])
    r = res(run, "CFG-023")
    assert r.status is Status.FAIL, describe(r)
    (f,) = fails(r)
    assert f.location == f"backend/app/settings.py:{line_of(settings, 'dev-signing-key')}"
    assert "dev-signing-key-0123456789" not in run_text(run)


def test_placeholder_password_inside_a_dsn(tmp_path: Path) -> None:
    repo = ref_copy(tmp_path)
    env = strong_env(tmp_path, DATABASE_URL="postgresql+psycopg://app:changeme@db:5432/app")
    r = res(run_cfg(repo, tmp_path, only=["CFG-020"], env_file=env), "CFG-020")
    assert r.status is Status.FAIL, describe(r)
    (f,) = fails(r)
    assert f.message.startswith("DATABASE_URL (URL password)")


def test_upper_case_placeholder_default_of_a_signing_key_fails(tmp_path: Path) -> None:
    """``os.getenv("SECRET_KEY", "CHANGE_ME")`` looks like an identifier, but it is the public
    key a forgotten variable signs tokens with; a variable name as the default is not."""
    repo = tmp_path / "r"
    (repo / "api").mkdir(parents=True)
    (repo / "api" / "auth.py").write_text(
        'import os\n\nSECRET_KEY = os.getenv("SECRET_KEY", "CHANGE_ME")\n'
        'TOKEN_NAME_KEY = os.getenv("TOKEN_NAME_KEY", "ACCESS_TOKEN")\n', encoding="utf-8")
    r = res(run_cfg(repo, tmp_path, only=["CFG-023"]), "CFG-023")
    assert r.status is Status.FAIL, describe(r)
    assert [f.location for f in fails(r)] == ["api/auth.py:3"], describe(r)
    (repo / "api" / "auth.py").write_text('import os\n\nSECRET_KEY = os.environ["SECRET_KEY"]\n',
                                          encoding="utf-8")
    r = res(run_cfg(repo, tmp_path, only=["CFG-023"]), "CFG-023")
    assert r.status is Status.PASS, describe(r)
