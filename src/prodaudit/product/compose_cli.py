"""The real Compose: ``docker compose config --format json`` for a project's files, bounded by a
timeout, run with the audit's environment minus its own ``PRODAUDIT_*`` variables."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

from prodaudit.errors import InputError, ProdauditError
from prodaudit.loaders import load_json

COMPOSE_TIMEOUT_S = 60.0
VERSION_TIMEOUT_S = 20.0


class ComposeError(ProdauditError):
    """``docker compose config`` failed; the message is Compose's own error."""


def compose_cli_reason() -> str | None:
    """None when ``docker compose`` (v2) runs, else why not."""
    if shutil.which("docker") is None:
        return "the docker CLI is not installed"
    try:
        out = subprocess.run(["docker", "compose", "version", "--short"], capture_output=True,
                             text=True, timeout=VERSION_TIMEOUT_S)
    except (OSError, subprocess.SubprocessError) as exc:
        return f"docker compose did not run: {exc}"
    if out.returncode != 0:
        return "docker compose (v2 plugin) is not installed: " + (out.stderr.strip()[-200:] or "?")
    return None


def compose_env() -> dict[str, str]:
    """The environment Compose runs with: the audit process environment, without the audit's
    own PRODAUDIT_* variables (so they never leak into interpolation)."""
    return {k: v for k, v in os.environ.items() if not k.startswith("PRODAUDIT_")}


def compose_args(files: list[Path], env_file: Path | None, project: str | None = None) -> list[str]:
    """``docker compose -f ... [--env-file ...] [-p ...]`` for these files."""
    args = ["docker", "compose"]
    for f in files:
        args += ["-f", str(f)]
    if env_file is not None:
        args += ["--env-file", str(env_file)]
    if project:
        args += ["-p", project]
    return args


def run_config(files: list[Path], env_file: Path | None,
               timeout: float = COMPOSE_TIMEOUT_S,
               profiles: frozenset[str] | None = None) -> dict[str, Any]:
    """``docker compose config --format json`` (Compose's own merge, ``include``, ``extends``,
    profiles and interpolation); ComposeError with Compose's message when it fails.
    ``profiles``: the ``COMPOSE_PROFILES`` the deployment sets when the audit reads none."""
    cmd = compose_args(files, env_file) + ["config", "--format", "json"]
    env = compose_env()
    if profiles:
        env["COMPOSE_PROFILES"] = ",".join(sorted(profiles))
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                             cwd=str(files[0].parent), env=env)
    except subprocess.TimeoutExpired:
        raise ComposeError(f"docker compose config timed out after {timeout:.0f} s") from None
    except OSError as exc:
        raise ComposeError(f"docker compose config did not run: {exc}") from None
    if out.returncode != 0:
        raise ComposeError(out.stderr.strip() or f"exit code {out.returncode}")
    try:
        data = load_json(out.stdout, "docker compose config output")
    except InputError as exc:
        raise ComposeError(str(exc)) from None
    if not isinstance(data, dict):
        raise ComposeError("docker compose config printed no mapping")
    return data
