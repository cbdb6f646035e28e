"""CFG-162: the production stack runs the built image, not the host's source tree
bind-mounted over it."""

from __future__ import annotations

import posixpath
from typing import Any

from prodaudit.checks.api import Context, Evidence, Finding, Severity, check, failed
from prodaudit.checks.config._compose import done, operational, roles
from prodaudit.product.compose import ComposeProject, rel_path

APP_ROLES = frozenset({"api", "app", "worker", "frontend"})
SOURCE_SUFFIXES = (".py", ".js", ".ts", ".tsx", ".jsx", ".vue", ".rb", ".php", ".go")
_SKIP_PARTS = frozenset({"node_modules", ".venv", "venv", "__pycache__"})
#: mounted directories that hold build output, assets or data, not source code
_NOT_SOURCE = frozenset({"dist", "build", "public", "static", "staticfiles", "media", "www",
                         "html", "assets", "uploads", "data", "logs", "certs"})


def _bind_source(v: Any) -> str | None:
    """The host path of a bind mount entry (None for named/anonymous volumes and tmpfs)."""
    if isinstance(v, dict):
        return str(v.get("source") or "") if v.get("type") == "bind" else None
    s = str(v)
    if ":" not in s:
        return None
    src = s.split(":", 1)[0]
    return src if src.startswith((".", "/", "~", "$")) else None


def _source_files(ctx: Context, p: ComposeProject, src: str) -> tuple[str, int]:
    """(repo-relative directory, number of source files under it) of a bind-mounted path."""
    base = p.paths[0].parent if p.paths else ctx.repo
    if src.startswith(("/", "~", "$")):
        return src, 0
    rel = posixpath.normpath(rel_path(ctx, base / src))
    if rel.startswith("..") or set(rel.split("/")) & _NOT_SOURCE:
        return rel, 0
    prefix = "" if rel == "." else rel + "/"
    n = sum(1 for f in ctx.files.files if f.startswith(prefix) and f.endswith(SOURCE_SUFFIXES)
            and not set(f.split("/")) & _SKIP_PARTS)
    return rel, n


@check("CFG-162", "The production stack does not bind-mount the source tree",
       severity=Severity.HIGH, needs=("repo",), checklist=("3.1.1", "P.2.2"),
       evidence=Evidence.PARSED)
def source_bind_mounts(ctx: Context) -> list[Finding]:
    """Application services (the API, workers, the frontend, other services built from the
    repository) mount no directory of the repository that holds source code (``./backend:/app``,
    ``.:/app``, ``./src/app:/code/app``). Configuration files, build output (``dist/``,
    ``build/``, ``static/``) and data directories are fine; development-only Compose projects
    are not judged.

    A bind-mounted source tree replaces the built and scanned image with whatever is on the
    host: the release is not reproducible, a ``git pull`` on the server changes production, and
    the image that passed the checks is not what runs.

    Remediation: ``COPY`` the application into the image and drop the source mount from the
    production file; keep live-reload mounts in ``compose.override.yaml`` or a development file.
    """
    found, out = operational(ctx)
    n = 0
    for p in found:
        for name, svc in roles(ctx, p).items():
            if svc.role not in APP_ROLES or not svc.active:
                continue
            n += 1
            for i, v in enumerate(svc.raw.get("volumes") or []):
                src = _bind_source(v)
                if src is None:
                    continue
                rel, count = _source_files(ctx, p, src)
                if count:
                    out.append(failed(f"service {name} bind-mounts {rel} ({count} source file(s)) "
                                      f"over the image{p.note}",
                                      location=p.loc("services", name, "volumes", i),
                                      evidence=str(v)[:200]))
    return done(out, f"{n} application service(s) run their image without a source bind mount", found)
