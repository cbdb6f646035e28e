"""CFG-109, CFG-112: what an image build takes from its context — no secrets, history or
dependency trees through ``COPY``, and the application itself (an image that runs only with the
source bind-mounted is not a release artefact)."""

from __future__ import annotations

import re

from prodaudit.checks.api import (
    Context,
    Evidence,
    Finding,
    Severity,
    Skip,
    check,
    errored,
    failed,
    passed,
)
from prodaudit.checks.config._dockerfiles import (
    parsed,
    repo_dockerfiles,
    shipped_stages,
    stage_label,
)
from prodaudit.product.build_context import (
    copied,
    copies,
    ignored,
    parse_dockerignore,
    sensitive_items,
)
from prodaudit.product.builds import Build, builds
from prodaudit.product.dockerfiles import Dockerfile, Stage, chain, last_instruction
from prodaudit.product.packages import installed_modules, served_module

#: ``COPY --from`` sources that carry dependencies, not the application
_DEPENDENCY_DIR = re.compile(r"(venv|site-packages|/\.local\b|/usr/local/(lib|bin)|wheels?\b|"
                             r"node_modules|/root/\.cache|^/uvx?$|/bin/?$|\.whl$)")


@check("CFG-109", ".dockerignore keeps secrets and clutter out of the build context",
       severity=Severity.MEDIUM, needs=("repo",), checklist=("3.1.3", "2.1.2"),
       references=("CWE-538",), evidence=Evidence.PARSED)
def dockerignore(ctx: Context) -> list[Finding]:
    """For each build of each Dockerfile (the ``build.context`` of the Compose services that
    build it, else its own directory or the repository root), what ``COPY``/``ADD`` take from the
    context leaves out what must not enter an image: env files (where an example file sits, the
    real ``.env`` the deployer creates next to it), the git history (a context at the repository
    root) and ``node_modules`` (next to a ``package.json``). Docker's rules decide: the
    ``.dockerignore`` that applies (``<Dockerfile>.dockerignore``, else the one at the context
    root), matched with Docker's own pattern syntax. A Dockerfile that copies the whole context
    (``COPY . .``) needs a ``.dockerignore`` in any case; one that copies named files only needs
    none unless a named path holds such items.

    ``COPY . .`` without it copies local ``.env`` files (real secrets), the git history, local
    virtualenvs, caches and tests into an image layer, and slows every build.

    Remediation: add a ``.dockerignore`` at the root of the build context with ``.env*`` (and
    ``!.env.example`` if needed), ``.git``, ``**/node_modules``, ``**/__pycache__``, ``.venv``.
    """
    out: list[Finding] = []
    for df in repo_dockerfiles(ctx):
        for b in builds(ctx, df):
            out.extend(_judge_build(ctx, df, b))
    return out


def _judge_build(ctx: Context, df: Dockerfile, b: Build) -> list[Finding]:
    by = f" (built by {', '.join(b.services)})" if b.services else ""
    if b.context.startswith("/"):
        return [passed(f"{df.path}: build context {b.context} lies outside the repository{by}",
                       location=df.path)]
    cps = copies(df)
    items = sensitive_items(ctx, b.context)
    rules: list[tuple[bool, str]] = []
    if b.dockerignore is not None:
        text = ctx.read(b.dockerignore)
        if text is None:
            return [errored(f"{b.dockerignore}: unreadable", location=b.dockerignore)]
        rules = parse_dockerignore(text)
    leaks = [(it, c) for it in items for c in cps if copied(it, c) and not ignored(rules, it.path)]
    where = f"build context {b.context or '.'}"
    if leaks:
        kinds = sorted({it.what for it, _ in leaks})
        first = min(leaks, key=lambda x: x[1].instruction.line)[1]
        src = f"{b.dockerignore} does not exclude them" if b.dockerignore \
            else f"no .dockerignore in {where}"
        return [failed(f"{df.path}: {first.instruction.name} copies {', '.join(kinds)} into the "
                       f"image ({src}){by}",
                       location=df.loc(first.instruction.line),
                       evidence="\n".join(f"{it.what}: {it.why}" for it, _ in leaks[:8]))]
    whole = next((c for c in cps if c.whole), None)
    if whole is not None and b.dockerignore is None:
        return [failed(f"{df.path}: {whole.instruction.name} copies the whole {where} and there is "
                       f"no .dockerignore: caches, virtualenvs, tests and any local .env go into "
                       f"the image{by}", location=df.loc(whole.instruction.line))]
    what = "the whole context" if whole else "named paths only"
    return [passed(f"{df.path}: {what} copied; nothing sensitive enters the image "
                   f"({b.dockerignore or 'no .dockerignore needed'}){by}",
                   location=b.dockerignore or df.path)]


def _app_copied(df: Dockerfile, stages: list[Stage]) -> bool:
    for st in stages:
        for ins in st.instructions:
            if ins.name not in ("COPY", "ADD"):
                continue
            if "--from" not in ins.value:
                return True
            src = [w for w in ins.value.split() if not w.startswith("--")][:-1]
            if any(not _DEPENDENCY_DIR.search(s) for s in src):
                return True
    return False


@check("CFG-112", "The image contains the application it runs", severity=Severity.HIGH,
       needs=("repo",), checklist=("3.1.1", "3.1.2"), evidence=Evidence.PARSED)
def image_complete(ctx: Context) -> list[Finding]:
    """Every buildable final stage whose command serves Python code (``uvicorn app.main:app``,
    ``gunicorn``, ``python -m``/``python file.py``) gets that code into the image: a ``COPY``/
    ``ADD`` from the build context, a ``COPY --from`` of something other than a virtualenv or
    site-packages, or a project installed into the virtualenv whose packages provide the module
    (pyproject ``packages``). Reported at the final stage's ``WORKDIR`` (or ``FROM``).

    An image that copies only the dependencies runs only when the source is bind-mounted over
    it (a development setup): the artefact that was built and scanned is not what runs, and on a
    host without the checkout it does not start at all.

    Remediation: ``COPY`` the application into the final stage (``COPY --chown=app:app src/app
    /code/app``), or install it as a package in the builder and make the command import that
    package.
    """
    out: list[Finding] = []
    for df in parsed(ctx, out):
        for st in shipped_stages(ctx, df):
            stages = chain(df, st)
            module = served_module(df, st)
            if module is None:
                continue
            if _app_copied(df, stages):
                out.append(passed(f"{df.path} {stage_label(st)}: the application is copied into "
                                  "the image", location=df.loc(st.line)))
                continue
            installed = installed_modules(ctx, df)
            if module in installed:
                out.append(passed(f"{df.path} {stage_label(st)}: {module} is installed as a "
                                  "package", location=df.loc(st.line)))
                continue
            workdir = last_instruction(df, st, "WORKDIR")
            loc = df.loc(workdir.line if workdir else st.line)
            out.append(failed(
                f"{df.path} {stage_label(st)}: the command serves {module!r}, but the final image "
                f"copies only dependencies (no COPY of the application; installed packages: "
                f"{', '.join(sorted(installed)) or 'none'}): it runs only with the source "
                f"bind-mounted{' into ' + workdir.value if workdir else ''}", location=loc))
    if not out:
        raise Skip("no final stage serves Python code by module or script name")
    return out
