"""Whether a Compose project is a development-only stack, not the production deployment.
Not a check module: ``ComposeProject.development`` holds the reason (empty: production stack).

A project is development-only when its files are named for development
(``docker-compose.dev.yml``, ``compose.local.yaml``), or when the repository deploys production
some other way (a production Compose file, Procfile/app.json, Fly/Render/Heroku manifests,
Bicep/Terraform/Helm/Kubernetes, a Dockerfile named for production) *and* either the
documentation calls the Compose file a development tool ("... includes a docker-compose.yaml for
local development", "Helpful commands for local development with docker compose"), or its
application services are built from a Dockerfile named for development, or they bind-mount the
source tree and run with auto-reload. Without another production deployment, the Compose file is
the production stack whatever the documentation says.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from prodaudit.context import Context
    from prodaudit.product.compose import ComposeProject

DEV_TOKENS = frozenset({"dev", "development", "local", "test", "testing", "ci", "debug"})
PROD_TOKENS = frozenset({"prod", "production", "live", "release"})
PROD_FILES = frozenset({"procfile", "app.json", "heroku.yml", "fly.toml", "render.yaml",
                        "render.yml", "railway.json", "railway.toml", "azure.yaml", "app.yaml",
                        "chart.yaml", "skaffold.yaml", "serverless.yml", "vercel.json"})
DOC_SUFFIXES = (".md", ".rst", ".markdown", ".txt", ".adoc")
_COMPOSE_WORDS_RE = re.compile(r"docker[- ]compose|\bcompose\.ya?ml\b|\bcompose (file|stack)\b",
                               re.I)
_DEV_WORDS_RE = re.compile(
    r"\blocal(ly)? develop|\bfor (\w+ )?development\b|\bdevelopment (only|environment|purposes|"
    r"setup|use|server)\b|\bdev(elopment)? environment\b|\bdevelop(ing)? locally\b|"
    r"\b(live|hot)[- ]reload|\bnot (meant |intended )?for production\b", re.I)
_RELOAD_RE = re.compile(r"--reload\b|\brunserver\b|\bflask\s+run\b|\bfastapi\s+dev\b|"
                        r"\bnpm\s+run\s+dev\b|\bnodemon\b")
MAX_DOC_BYTES = 400_000


def _tokens(name: str) -> set[str]:
    return {t for t in re.split(r"[^a-z0-9]+", name.lower()) if t}


def development_only(ctx: Context, project: ComposeProject,
                     others: list[ComposeProject]) -> str:
    """Why ``project`` is a development stack ("" when it is the production one)."""
    if project.explicit:
        return ""  # the user named it: judge it as the deployment
    names = [f.path.rsplit("/", 1)[-1] for f in project.main_files]
    if names and all(_tokens(n) & DEV_TOKENS for n in names):
        return f"named for development ({', '.join(names)})"
    alternative = _production_alternative(ctx, project, others)
    if not alternative:
        return ""
    why = _documented_as_dev(ctx, project) or _dev_build(project) or _bind_mount_reload(project)
    return f"{why}; production is deployed by {alternative}" if why else ""


def _production_alternative(ctx: Context, project: ComposeProject,
                            others: list[ComposeProject]) -> str:
    for other in others:
        if other is not project and any(_tokens(f.path.rsplit("/", 1)[-1]) & PROD_TOKENS
                                        for f in other.main_files):
            return other.files[0].path
    for rel in ctx.files.files:
        name = rel.rsplit("/", 1)[-1].lower()
        low = rel.lower()
        if low.startswith((".github/", "tests/", "test/", "docs/", "examples/")):
            continue
        if name in PROD_FILES or name.endswith((".bicep", ".tf")):
            return rel
        if ("dockerfile" in name and _tokens(name) & PROD_TOKENS) or (
                name.startswith(("docker-compose", "compose")) and _tokens(name) & PROD_TOKENS):
            return rel
    return ""


def _documented_as_dev(ctx: Context, project: ComposeProject) -> str:
    """``README.md:131`` when a paragraph or section of the documentation names the Compose
    file (or docker compose) as a development tool."""
    file_names = {f.path.rsplit("/", 1)[-1].lower() for f in project.main_files}
    for rel in ctx.files.files:
        if not rel.lower().endswith(DOC_SUFFIXES) or "node_modules/" in rel:
            continue
        text = ctx.files.read_text(rel, MAX_DOC_BYTES)
        if not text:
            continue
        line = 1
        for para in re.split(r"\n\s*\n", text):
            low = para.lower()
            names_it = _COMPOSE_WORDS_RE.search(para) or any(n in low for n in file_names)
            if names_it and _DEV_WORDS_RE.search(para):
                return f"documented as development in {rel}:{line}"
            line += para.count("\n") + 2
    return ""


def _services(project: ComposeProject) -> list[tuple[str, dict[str, Any]]]:
    return [(n, s) for n, s in project.services.items() if s.get("build") is not None]


def _dev_build(project: ComposeProject) -> str:
    for name, svc in _services(project):
        build = svc.get("build")
        dockerfile = build.get("dockerfile") if isinstance(build, dict) else None
        if isinstance(dockerfile, str) and _tokens(dockerfile.rsplit("/", 1)[-1]) & DEV_TOKENS:
            return f"service {name} is built from {dockerfile}"
    return ""


def _bind_mount_reload(project: ComposeProject) -> str:
    for name, svc in _services(project):
        cmd = svc.get("command")
        text = cmd if isinstance(cmd, str) else " ".join(map(str, cmd)) if isinstance(
            cmd, list) else ""
        mounts = [str(v if not isinstance(v, dict) else v.get("source", ""))
                  for v in svc.get("volumes") or []]
        source_mount = any(m.startswith(".") for m in mounts)
        if source_mount and _RELOAD_RE.search(text):
            return f"service {name} bind-mounts the source tree and runs with auto-reload"
    return ""
