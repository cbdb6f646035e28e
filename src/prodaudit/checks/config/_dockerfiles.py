"""The repository's Dockerfiles as the Dockerfile rules (CFG-100–149) walk them. Not a check
module."""

from __future__ import annotations

import posixpath
from collections.abc import Iterator

from prodaudit.checks.api import (
    Context,
    Finding,
    Skip,
    errored,
)
from prodaudit.product.compose import compose_projects
from prodaudit.product.compose_dev import (
    development_dockerfiles,
    development_only,
    service_dev_trait,
)
from prodaudit.product.dockerfiles import (
    Dockerfile,
    Stage,
    dockerfiles,
    targets,
)


def repo_dockerfiles(ctx: Context) -> list[Dockerfile]:
    """The Dockerfiles of the product: every one but the development images
    (compose_dev.development_dockerfiles: of a product that deploys with a platform manifest, or
    built only by the default Compose files a production variant or the deployment's own file
    replaced); Skip naming why
    when none is left."""
    dfs = dockerfiles(ctx)
    if not dfs:
        raise Skip("no Dockerfile in the repository")
    dev = development_dockerfiles(ctx)
    prod = [df for df in dfs if posixpath.normpath(df.path) not in dev]
    if not prod:
        raise Skip("only development images: " + "; ".join(f"{df.path} {dev[posixpath.normpath(df.path)]}"
                                                           for df in dfs))
    return prod


def broken_finding(df: Dockerfile) -> Finding | None:
    if df.stages:
        return None
    line, msg = df.problems[0] if df.problems else (0, "no FROM instruction")
    return errored(f"{df.path}: {msg}", location=df.loc(line) if line else df.path)


def parsed(ctx: Context, out: list[Finding]) -> Iterator[Dockerfile]:
    """The repository's Dockerfiles (Skip when there is none) in order; for one without any
    stage an ERROR finding goes to ``out`` instead."""
    for df in repo_dockerfiles(ctx):
        broken = broken_finding(df)
        if broken:
            out.append(broken)
            continue
        yield df


def stage_label(st: Stage) -> str:
    return f"stage {st.alias or st.index}"


def _targets(ctx: Context) -> tuple[set[str], set[str]]:
    """(the ``build.target`` stages a Compose service selects that ship, those only
    development services select): a service of a development-only stack
    (compose_dev.development_only) or with a development trait (it runs a dev server or watcher,
    or bind-mounts its source over the image: compose_dev.service_dev_trait) does not build the
    image that is deployed (memoised)."""

    def build() -> tuple[set[str], set[str]]:
        shipped, dev = set(), set()
        for p in compose_projects(ctx):
            dev_stack = development_only(ctx, p)
            for name, svc in p.services.items():
                b = svc.get("build")
                if not isinstance(b, dict) or not b.get("target"):
                    continue
                target = str(b["target"]).lower()
                if dev_stack or service_dev_trait(ctx, p, name, svc):
                    dev.add(target)
                else:
                    shipped.add(target)
        return shipped, dev - shipped

    result: tuple[set[str], set[str]] = ctx.memo("cfg:dockerfile_targets", build)
    return result


def shipped_stages(ctx: Context, df: Dockerfile) -> list[Stage]:
    """The stages of ``df`` that ship: each buildable final stage (``targets``) and each
    ``build.target`` a shipping service selects — but not a stage (other than the last) that
    only development services select: a ``dev`` stage nothing builds FROM is buildable, and
    still not the image that is deployed."""
    shipped, dev = _targets(ctx)
    return [st for st in targets(df, shipped) if st is df.stages[-1] or st.alias.lower() not in dev]


def compose_healthchecks(ctx: Context) -> dict[str, list[tuple[str, str]]]:
    """Dockerfile (repo-relative) → (service, ``build.target`` or "" for the last stage) of each
    Compose service built from it that has a healthcheck."""
    out: dict[str, list[tuple[str, str]]] = {}
    for p in compose_projects(ctx):
        base = posixpath.dirname(p.files[0].path) if p.files else ""
        for svc_name, svc in p.services.items():
            build, hc = svc.get("build"), svc.get("healthcheck")
            if build is None or not hc or (isinstance(hc, dict) and hc.get("disable")):
                continue
            context = build if isinstance(build, str) else str(build.get("context", "."))
            name = "Dockerfile" if isinstance(build, str) else str(build.get("dockerfile",
                                                                             "Dockerfile"))
            target = "" if isinstance(build, str) else str(build.get("target") or "").lower()
            out.setdefault(posixpath.normpath(posixpath.join(base, context, name)), []).append(
                (str(svc_name), target))
    return out
