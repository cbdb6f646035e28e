"""DEP-001–009: ``docker compose config`` with the profile's env file."""

from __future__ import annotations

import fnmatch
import os
import re
from dataclasses import dataclass
from pathlib import Path

from prodaudit.checks.api import (
    Context,
    Evidence,
    Finding,
    Severity,
    Skip,
    check,
    failed,
    passed,
    warned,
)
from prodaudit.checks.deployment._common import (
    ComposeError,
    compose_config,
    deployed,
    rel,
    require_compose_files,
)
from prodaudit.product.compose import read_env_file
from prodaudit.product.envfiles import env_file_kind, is_env_file

# ${NAME}, ${NAME:-default}, ${NAME-default}, ${NAME:?err}, ${NAME?err}, ${NAME:+alt}, $NAME
_REF_RE = re.compile(
    r"(?<!\$)\$(?:\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?+])[^}]*)?\}|([A-Za-z_][A-Za-z0-9_]*))")


@dataclass(frozen=True)
class VarRef:
    name: str
    op: str  # "", "-", ":-", "?", ":?", "+", ":+"
    path: Path
    line: int

    @property
    def required(self) -> bool:
        return "?" in self.op

    @property
    def has_default(self) -> bool:
        return "-" in self.op or "+" in self.op


def var_refs(files: list[Path]) -> list[VarRef]:
    refs: list[VarRef] = []
    for f in files:
        try:
            lines = f.read_text(encoding="utf-8").splitlines()
        except OSError:
            continue
        for no, line in enumerate(lines, 1):
            if line.lstrip().startswith("#"):
                continue
            for m in _REF_RE.finditer(line):
                refs.append(VarRef(m.group(1) or m.group(3), m.group(2) or "", f, no))
    return refs


def env_file_values(ctx: Context, files: list[Path]) -> tuple[dict[str, str], str]:
    """The variables Compose interpolates from a file: ``--env-file``, else the project's .env."""
    path = ctx.cfg.env_file or files[0].parent / ".env"
    if not path.is_file():
        return {}, f"{path} (absent)"
    ef = read_env_file(path, str(path), ctx.cfg.secrets.max_file_bytes)
    if ef is None:
        return {}, f"{path} (unreadable)"
    return ef.values, str(path)


_MISSING_ENV_RE = re.compile(r"env file (\S+) not found")


def deployer_env_file(ctx: Context, error: str) -> str | None:
    """When Compose failed because an ``env_file:`` is absent and that file is one the deployer
    creates — an example sits next to it (``.env.example``, ``.env.sample`` …) or ``.gitignore``
    keeps it out of the repository — which file and why (None otherwise)."""
    m = _MISSING_ENV_RE.search(error)
    if m is None:
        return None
    missing = rel(ctx, m.group(1).rstrip(":"))
    if missing.startswith("/"):
        return None
    folder, _, name = missing.rpartition("/")
    prefix = f"{folder}/" if folder else ""
    examples = sorted(f for f in ctx.files.files if f.startswith(prefix) and "/" not in
                      f[len(prefix):] and is_env_file(f) and env_file_kind(f) == "example")
    if examples:
        return f"{missing} (from {examples[0]})"
    if git_ignored(ctx, missing):
        return f"{missing} (kept out of the repository by .gitignore)"
    return None


def git_ignored(ctx: Context, rel_file: str) -> bool:
    """``rel_file`` matches a pattern of a ``.gitignore`` in its directory or one above (a
    pattern without a slash matches the name at any depth; negations are not followed)."""
    parts = rel_file.split("/")
    for depth in range(len(parts)):
        base = "/".join(parts[:depth])
        text = ctx.read(f"{base}/.gitignore" if base else ".gitignore")
        if not text:
            continue
        sub = "/".join(parts[depth:])
        for raw in text.splitlines():
            pat = raw.strip()
            if not pat or pat.startswith(("#", "!")):
                continue
            pat = pat.rstrip("/")
            target = sub if "/" in pat else parts[-1]
            if fnmatch.fnmatchcase(target, pat.lstrip("/")):
                return True
    return False


def _all_files(ctx: Context, files: list[Path]) -> list[Path]:
    """The compose files and every file they include (they all hold ``${VAR}`` references)."""
    p = deployed(ctx)
    extra = [ctx.repo / f.path for f in p.files[len(p.paths):]] if p is not None else []
    return files + [f for f in extra if f not in files]


@check("DEP-001", "docker compose config succeeds with the profile's env file",
       severity=Severity.HIGH, needs=("repo",), checklist=("P.2.2", "P.2.4"), evidence=Evidence.PARSED)
def compose_config_valid(ctx: Context) -> list[Finding]:
    """``docker compose config`` (the real Compose v2 merge and interpolation) accepts the compose
    files with the audited profile's env file, and every variable the files need without a
    default is set in that env file.

    An ``env_file:`` that the deployer creates (an example file sits next to it, or
    ``.gitignore`` keeps it out of the repository) and that is absent makes Compose fail before
    anything else is checked: SKIP with that reason, not a failure of the repository.

    A missing ``${JWT_SECRET:?...}`` stops ``docker compose up`` on the release day; a missing
    ``${VAR}`` without a default silently becomes an empty string. Compose names only the first
    missing required variable: this check lists all of them.

    Remediation: add the named variables to the production env file (see ``.env.example``),
    or give optional ones a default (``${LOG_LEVEL:-INFO}``).
    """
    files = require_compose_files(ctx)
    env, env_label = env_file_values(ctx, files)
    refs = var_refs(_all_files(ctx, files))
    shell = os.environ
    missing_required: dict[str, VarRef] = {}
    missing_plain: dict[str, VarRef] = {}
    for r in refs:
        in_file = bool(env.get(r.name)) if ":" in r.op else r.name in env
        if in_file or r.has_default:
            continue
        if r.required:
            missing_required.setdefault(r.name, r)
        else:
            missing_plain.setdefault(r.name, r)
    names = ", ".join(rel(ctx, f) for f in files)
    out: list[Finding] = []
    try:
        cfg = compose_config(ctx)
    except ComposeError as exc:
        created = deployer_env_file(ctx, str(exc))
        if created is not None:
            raise Skip(f"docker compose config needs {created}, which the deployer creates: "
                       "not verified without it (audit a checkout where it exists)") from None
        msg = str(exc).strip().splitlines()
        listing = "\n".join(f"{n}  ({rel(ctx, r.path)}:{r.line})"
                            for n, r in sorted({**missing_required, **missing_plain}.items()))
        first = (sorted(missing_required.values(), key=lambda r: r.name)[0]
                 if missing_required else None)
        where = f"{rel(ctx, first.path)}:{first.line}" if first else rel(ctx, files[0])
        named = (f"; missing in the env file: {', '.join(sorted(missing_required))}"
                 if missing_required else "")
        return [failed(f"docker compose config failed: {(msg or ['?'])[-1][:200]}{named}",
                       location=where,
                       evidence=f"files: {names}\nenv file: {env_label}\ncompose: "
                       + "\n".join(msg[-5:]) + (f"\nvariables without a value:\n{listing}"
                                                if listing else ""))]
    services = sorted(cfg.get("services", {}))
    for name, r in sorted(missing_required.items()):
        src = "the shell environment" if shell.get(name) else "nowhere"
        out.append(warned(f"required variable {name} is not in the env file (set in {src})",
                          location=f"{rel(ctx, r.path)}:{r.line}"))
    for name, r in sorted(missing_plain.items()):
        if shell.get(name):
            continue
        out.append(warned(f"variable {name} has no default and is not set: Compose interpolates "
                          "an empty string", location=f"{rel(ctx, r.path)}:{r.line}"))
    out.append(passed(f"docker compose config succeeded with {env_label}: services "
                      f"{', '.join(services)}", location=rel(ctx, files[0])))
    return out
