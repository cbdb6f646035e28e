"""Shared helpers of the deployment suite: compose files and ``docker compose config``, database
URLs, host classification. Not a check module."""

from __future__ import annotations

import ipaddress
import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import yaml

from prodaudit.context import Context
from prodaudit.outcome import Skip

COMPOSE_NAMES = ("compose.yaml", "compose.yml", "docker-compose.yaml", "docker-compose.yml")
COMPOSE_TIMEOUT_S = 60.0


class ComposeError(Exception):
    """``docker compose config`` failed; the message is Compose's own error."""


def rel(ctx: Context, path: Path | str) -> str:
    """A path relative to the audited repository when it lies inside it."""
    p = Path(path)
    try:
        return p.resolve().relative_to(ctx.repo.resolve()).as_posix()
    except (ValueError, OSError):
        return str(p)


def compose_files(ctx: Context) -> list[Path]:
    """The compose files of the audit: ``--compose-file`` options, else the repo's base file."""
    if ctx.cfg.compose_files:
        # relative paths: to the working directory (the CLI's view), else to the repository
        return [Path(p).resolve() if Path(p).is_absolute() or Path(p).exists() else ctx.repo / p
                for p in ctx.cfg.compose_files]
    for name in COMPOSE_NAMES:
        if (ctx.repo / name).is_file():
            return [ctx.repo / name]
    return []


def require_compose_files(ctx: Context) -> list[Path]:
    files = compose_files(ctx)
    if not files:
        raise Skip(f"no compose file: none of {', '.join(COMPOSE_NAMES)} in the repository and no "
                   "--compose-file given")
    missing = [str(p) for p in files if not p.is_file()]
    if missing:
        raise Skip(f"compose file not found: {', '.join(missing)}")
    return files


def compose_cli_reason() -> str | None:
    """None when ``docker compose`` (v2) runs, else why not."""
    if shutil.which("docker") is None:
        return "the docker CLI is not installed"
    try:
        out = subprocess.run(["docker", "compose", "version", "--short"], capture_output=True,
                             text=True, timeout=20)
    except (OSError, subprocess.SubprocessError) as exc:
        return f"docker compose did not run: {exc}"
    if out.returncode != 0:
        return "docker compose (v2 plugin) is not installed: " + (out.stderr.strip()[-200:] or "?")
    return None


def compose_base_args(ctx: Context, files: list[Path], project: str | None = None) -> list[str]:
    args = ["docker", "compose"]
    for f in files:
        args += ["-f", str(f)]
    if ctx.cfg.env_file is not None:
        args += ["--env-file", str(ctx.cfg.env_file)]
    if project:
        args += ["-p", project]
    return args


def run_compose_config(ctx: Context, files: list[Path]) -> dict[str, Any]:
    """``docker compose config --format json`` (the real merge and interpolation)."""
    reason = compose_cli_reason()
    if reason:
        raise Skip(reason)
    cmd = compose_base_args(ctx, files) + ["config", "--format", "json"]
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=COMPOSE_TIMEOUT_S,
                             cwd=str(files[0].parent), env=compose_env(ctx))
    except subprocess.TimeoutExpired:
        raise ComposeError(
            f"docker compose config timed out after {COMPOSE_TIMEOUT_S:.0f} s") from None
    if out.returncode != 0:
        raise ComposeError(out.stderr.strip() or f"exit code {out.returncode}")
    data = json.loads(out.stdout)
    if not isinstance(data, dict):
        raise ComposeError("docker compose config printed no mapping")
    return data


def compose_env(ctx: Context) -> dict[str, str]:
    """The environment Compose runs with: the audit process environment, without the audit's
    own PRODAUDIT_* variables (so they never leak into interpolation)."""
    import os

    return {k: v for k, v in os.environ.items() if not k.startswith("PRODAUDIT_")}


def compose_config(ctx: Context) -> dict[str, Any]:
    """Memoised ``docker compose config`` of the audited files (ComposeError / Skip)."""
    files = require_compose_files(ctx)
    return ctx.memo("deployment:compose-config", lambda: run_compose_config(ctx, files))


class _LenientLoader(yaml.SafeLoader):
    """SafeLoader that accepts Compose's custom tags (``!reset``, ``!override``) as plain values."""


def _any_tag(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> Any:
    if isinstance(node, yaml.MappingNode):
        return loader.construct_mapping(node, deep=True)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node, deep=True)
    return loader.construct_scalar(node)  # type: ignore[arg-type]


_LenientLoader.add_multi_constructor("!", _any_tag)


def load_yaml(text: str) -> Any:
    return yaml.load(text, Loader=_LenientLoader)  # noqa: S506 - SafeLoader subclass


def raw_services(files: list[Path]) -> dict[str, dict[str, Any]]:
    """Services of the compose files merged shallowly (later files replace keys), without
    interpolation: the fallback when ``docker compose config`` cannot run."""
    services: dict[str, dict[str, Any]] = {}
    for f in files:
        try:
            data = load_yaml(f.read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError):
            continue
        if not isinstance(data, dict) or not isinstance(data.get("services"), dict):
            continue
        for name, svc in data["services"].items():
            if isinstance(svc, dict):
                services.setdefault(str(name), {}).update(svc)
    return services


# ---- databases --------------------------------------------------------------------------
def sqlalchemy_url(url: str) -> str:
    """A URL SQLAlchemy 2 opens with psycopg 3 (``postgres://``/``postgresql://`` → psycopg)."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def libpq_url(url: str) -> str:
    """A URL psycopg/libpq accepts (the SQLAlchemy driver suffix removed)."""
    scheme, sep, rest = url.partition("://")
    if sep and scheme.startswith(("postgresql+", "postgres+")):
        return "postgresql://" + rest
    return url


def is_postgres(url: str) -> bool:
    return url.split("://", 1)[0].split("+", 1)[0] in ("postgres", "postgresql")


def url_host(url: str) -> str:
    parts = urlsplit(url)
    host = parts.hostname or ""
    if not host:
        q = parse_qs(parts.query)
        host = (q.get("host") or [""])[0]
    return host


def is_local_host(host: str) -> bool:
    """Loopback, a Unix socket directory, or a single-label name (a service on a private
    container network such as Compose's ``postgres``)."""
    if not host or host.startswith("/"):
        return True
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return "." not in host


def database_url(ctx: Context) -> str:
    name = ctx.cfg.database.url_env
    url = ctx.env_value(name)
    if not url:
        raise Skip(f"{name} not set in the audited environment")
    ctx.redact.register_env({name: url})
    return url


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
