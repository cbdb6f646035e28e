"""Shared helpers of the deployment suite: the deployed Compose project (from the product model),
registry trouble in build logs, JSON log lines. Not a check module."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from prodaudit.checks.api import Context, Skip
from prodaudit.product.compose import BASE_NAMES, ComposeProject, rel_path
from prodaudit.product.compose_cli import ComposeError, compose_args
from prodaudit.product.compose_cli import compose_env as cli_env


def rel(ctx: Context, path: Path | str) -> str:
    """A path relative to the audited repository when it lies inside it."""
    return rel_path(ctx, path)


def deployed(ctx: Context) -> ComposeProject | None:
    """The Compose project the deployment suite runs (the product model's primary project)."""
    return ctx.compose().primary


def compose_files(ctx: Context) -> list[Path]:
    """The compose files of the audit (``-f`` order): ``--compose-file`` options, else the
    deployed project's files chosen by Compose's rules (base file and override)."""
    p = deployed(ctx)
    return list(p.paths) if p is not None else []


def require_compose_files(ctx: Context) -> list[Path]:
    files = compose_files(ctx)
    if not files:
        raise Skip(f"no compose file: none of {', '.join(BASE_NAMES)} in the repository and no "
                   "--compose-file given")
    missing = [str(p) for p in files if not p.is_file()]
    if missing:
        raise Skip(f"compose file not found: {', '.join(missing)}")
    return files


def compose_base_args(ctx: Context, files: list[Path], project: str | None = None) -> list[str]:
    return compose_args(files, ctx.cfg.env_file, project)


def compose_env(ctx: Context) -> dict[str, str]:
    """The environment Compose runs with (the audit's, without PRODAUDIT_* variables), plus
    the ``COMPOSE_PROFILES`` the deployment sets when the audit reads none (every service of
    the project has ``profiles:``)."""
    env = cli_env()
    p = deployed(ctx)
    if p is not None and p.profiles_from and "COMPOSE_PROFILES" not in env:
        env["COMPOSE_PROFILES"] = ",".join(sorted(p.profiles))
    return env


def compose_config(ctx: Context) -> dict[str, Any]:
    """``docker compose config`` of the deployed project (the real merge and interpolation):
    ComposeError with Compose's message when it failed, Skip when Compose cannot run."""
    require_compose_files(ctx)
    p = deployed(ctx)
    assert p is not None
    if p.by_compose:
        return p.config
    if p.cli_error is not None:
        raise ComposeError(p.cli_error)
    raise Skip(p.cli_reason or "docker compose config did not run")


def api_name(ctx: Context) -> str:
    """The API service of the deployed project, or Skip naming how to set it."""
    api = ctx.api_service()
    if api is None:
        p = deployed(ctx)
        names = ", ".join(p.services) if p is not None else ""
        wanted = ctx.cfg.docker.service
        if wanted:
            raise Skip(f"service {wanted!r} (docker.service) not in the compose files ({names})")
        raise Skip(f"no API service detected among the compose services ({names or 'none'}): "
                   "set docker.service")
    return api.name


_REGISTRY_NETWORK_RE = re.compile(
    r"(dial tcp|no such host|i/o timeout|TLS handshake timeout|Client\.Timeout exceeded|"
    r"connection refused|network is unreachable|temporary failure in name resolution)",
    re.IGNORECASE,
)


def registry_unreachable(log: str) -> str | None:
    """The line of a build or pull log saying the image registry could not be reached (a fact
    about this machine's network, not about the product), or None."""
    for line in log.splitlines():
        low = line.lower()
        if ("registry" in low or "pull" in low or "/v2/" in low) and _REGISTRY_NETWORK_RE.search(line):
            return line.strip()
    return None


_INDEX_NETWORK_RE = re.compile(
    r"(temporary failure in name resolution|name or service not known|could not resolve host|"
    r"failed to establish a new connection|network is unreachable|getaddrinfo (?:enotfound|eai_again)|"
    r"\benotfound\b|\beai_again\b|could not fetch url|temporary failure resolving|"
    r"could not connect to [\w.-]+:\d+|connection timed out)",
    re.IGNORECASE,
)


def index_unreachable(log: str) -> str | None:
    """The line of a build log saying a package index (PyPI, npm, apt) could not be reached from
    inside the build — a fact about this machine's network, not about the product — or None."""
    for line in log.splitlines():
        if _INDEX_NETWORK_RE.search(line):
            return line.strip()
    return None


def json_share(lines: list[str]) -> tuple[int, int, list[str]]:
    """(JSON object lines, total non-empty lines, examples of non-JSON lines)."""
    total = ok = 0
    bad: list[str] = []
    for line in lines:
        if not line.strip():
            continue
        total += 1
        try:
            if isinstance(json.loads(line), dict):
                ok += 1
                continue
        except ValueError:
            pass
        if len(bad) < 3:
            bad.append(line[:200])
    return ok, total, bad
