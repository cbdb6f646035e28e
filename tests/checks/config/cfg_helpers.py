"""Helpers for the config-suite tests: copies of the reference target, env files, audit runs."""

from __future__ import annotations

import secrets
import shutil
from pathlib import Path
from typing import Any

from helpers import audit_target, describe
from helpers import result as res

from prodaudit.config import REFERENCE_TARGET
from prodaudit.model import AuditRun, CheckResult, Finding, Status

__all__ = ["append", "describe", "fails", "line_of", "locs", "ref_copy", "replace", "res",
           "run_cfg", "run_text", "strong_env", "warns", "write"]

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
    """Audit the config suite of ``repo`` (no target)."""
    return audit_target(None, tmp_path, suites=["config"], only=only, repo=repo, **cfg)


def fails(r: CheckResult) -> list[Finding]:
    return [f for f in r.findings if f.status is Status.FAIL]


def warns(r: CheckResult) -> list[Finding]:
    return [f for f in r.findings if f.status is Status.WARN]


def locs(r: CheckResult) -> set[str]:
    """Locations of the FAIL and WARN findings."""
    return {f.location for f in r.findings if f.status in (Status.FAIL, Status.WARN)}


def write(root: Path, files: dict[str, str]) -> Path:
    """A small repository written from a dict (relative path → text)."""
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


def run_text(run: AuditRun) -> str:
    """Every string of the run (to assert that a secret appears nowhere)."""
    return str(run.to_dict())


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
