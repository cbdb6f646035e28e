"""How the repository deploys production besides Compose. Not a check module.

A Compose file may be one way to run the product next to the one production uses: a Procfile or
Heroku ``app.json``, Fly/Render/Railway/Azure/App Engine manifests, Bicep/Terraform/Helm/
Kubernetes definitions, a Dockerfile or Compose file named for production. Variables set only
in the Compose file's ``environment:`` do not reach that production (CFG-002).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from prodaudit.context import Context

PROD_FILES = frozenset({"procfile", "app.json", "heroku.yml", "fly.toml", "render.yaml",
                        "render.yml", "railway.json", "railway.toml", "azure.yaml", "app.yaml",
                        "chart.yaml", "skaffold.yaml", "serverless.yml"})
PROD_TOKENS = frozenset({"prod", "production", "live", "release"})
_SKIP_PREFIXES = (".github/", "tests/", "test/", "docs/", "examples/", "node_modules/")


def tokens(name: str) -> set[str]:
    return {t for t in re.split(r"[^a-z0-9]+", name.lower()) if t}


def other_production_deployment(ctx: Context) -> str:
    """The first file that deploys production without Compose ("" when there is none)."""

    def build() -> str:
        for rel in ctx.files.files:
            low = rel.lower()
            name = low.rsplit("/", 1)[-1]
            if low.startswith(_SKIP_PREFIXES):
                continue
            if name in PROD_FILES or name.endswith((".bicep", ".tf")):
                return rel
            if "dockerfile" in name and tokens(name) & PROD_TOKENS:
                return rel
            if name.startswith(("docker-compose", "compose")) and tokens(name) & PROD_TOKENS:
                return rel
        return ""

    return ctx.memo("product:other_production_deployment", build)


def container_runtime(ctx: Context) -> str:
    """The first file that runs the product's own code in a container: a Dockerfile, or a
    Compose file with a service built from the repository ("" when there is none: a Procfile or
    a platform buildpack runs it on a host)."""
    from prodaudit.product.compose import compose_projects
    from prodaudit.product.dockerfiles import is_dockerfile

    def build() -> str:
        for rel in ctx.files.files:
            if is_dockerfile(rel) and not rel.lower().startswith((*_SKIP_PREFIXES,
                                                                  ".devcontainer/")):
                return rel
        for p in compose_projects(ctx):
            if p.files and any(isinstance(svc, dict) and svc.get("build")
                               for svc in p.services.values()):
                return p.files[0].path
        return ""

    return ctx.memo("product:container_runtime", build)
