"""Helpers for the config-suite tests: copies of the reference target, env files, audit runs."""

from __future__ import annotations

import secrets
import shutil
from pathlib import Path
from typing import Any

from prodaudit.audit import run_audit
from prodaudit.config import REFERENCE_TARGET, load_config
from prodaudit.model import AuditRun, CheckResult, Finding, Status

IGNORE = shutil.ignore_patterns("__pycache__", "node_modules", "wheels", "*.db", ".venv")


def ref_copy(tmp_path: Path, name: str = "repo") -> Path:
    """A copy of examples/ultra-mvp to mutate."""
    dst = tmp_path / name
    shutil.copytree(REFERENCE_TARGET, dst, ignore=IGNORE, symlinks=True)
    return dst


def strong_env(tmp_path: Path, name: str = "runtime.env", **over: str) -> Path:
    """An env file like the one the audit generates when it starts the reference target."""
    env = {
        "ENVIRONMENT": "production",
        "DEBUG": "false",
        "LOG_LEVEL": "INFO",
        "JWT_SECRET": secrets.token_urlsafe(48),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'ultra.db'}",
        "CORS_ORIGINS": "http://127.0.0.1:8080",
        "MOCK_LLM": "false",
        "LLM_BASE_URL": "http://127.0.0.1:9000/v1",
        "LLM_API_KEY": "sk-test-" + secrets.token_urlsafe(24),
        "LLM_MODEL": "ultra-small",
    }
    env.update(over)
    path = tmp_path / name
    path.write_text("".join(f"{k}={v}\n" for k, v in env.items()), encoding="utf-8")
    return path


def run_cfg(repo: Path, tmp_path: Path, only: list[str] | None = None, **cfg: Any) -> AuditRun:
    cli: dict[str, Any] = {"repo": repo, "output": tmp_path / "reports", "only": only,
                           "start_target": False}
    cli.update(cfg)
    return run_audit(load_config(cli), ["config"], quiet=True, write=False).run


def res(run: AuditRun, check_id: str) -> CheckResult:
    for r in run.results:
        if r.id == check_id:
            return r
    raise AssertionError(f"{check_id} not in results: {[r.id for r in run.results]}")


def fails(r: CheckResult) -> list[Finding]:
    return [f for f in r.findings if f.status is Status.FAIL]


def describe(r: CheckResult) -> str:
    return f"{r.id} {r.status.value} {r.reason} " + " | ".join(
        f"{f.status.value}:{f.message}@{f.location}" for f in r.findings)


def append(path: Path, text: str) -> None:
    with path.open("a", encoding="utf-8") as fh:
        fh.write(text)


def replace(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def line_of(path: Path, needle: str) -> int:
    for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if needle in line:
            return i
    raise AssertionError(f"{needle!r} not in {path}")
