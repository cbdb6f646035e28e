"""CFG-100–149: Dockerfile rules. Where a rule overlaps one of hadolint's, the finding's ``rule``
is hadolint's id (DL3006, DL3007, DL3002, DL3020, DL3025, DL4006, DL3008, DL3009, DL3015,
DL3042, DL3013, DL3019) so results can be compared (docs/comparisons.md)."""

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
    mask_value,
    passed,
    warned,
)
from prodaudit.checks.config._dockerfiles import (
    compose_healthchecked,
    compose_targets,
    parsed,
    repo_dockerfiles,
    stage_label,
)
from prodaudit.product.builds import Build, builds
from prodaudit.product.dockerfiles import (
    Dockerfile,
    Instruction,
    last_instruction,
    targets,
)
from prodaudit.product.envgraph import env_pairs
from prodaudit.product.secretvalues import is_secret_var

ROOT_USERS = frozenset({"root", "0", "root:root", "0:0", "root:0", "0:root"})
# build steps: dependency installs and compilers (runtime-only apt/apk installs are not)
INSTALL_RE = re.compile(
    r"\b(pip3?\s+install|-m\s+pip\s+install|uv\s+(pip\s+install|sync)|poetry\s+install|"
    r"npm\s+(ci|install)|yarn(\s+install)?|pnpm\s+install|go\s+build|cargo\s+build|mvn|gradle|"
    r"build-essential|gcc|g\+\+|[\w.-]+-dev\b|make\b)"
)


@check("CFG-100", "Base images are pinned", severity=Severity.MEDIUM, needs=("repo",),
       checklist=("3.1.3", "P.2.1"), references=("CIS Docker 4.2", "hadolint DL3006", "DL3007"),
       evidence=Evidence.PARSED)
def base_images_pinned(ctx: Context) -> list[Finding]:
    """Every ``FROM`` names a tag other than ``latest`` (hadolint DL3006 untagged, DL3007
    latest), after ``ARG`` defaults are substituted; a ``@sha256:`` digest is recommended and
    counted. ``scratch`` and references to earlier stages are exempt.

    ``latest`` and untagged images change under you: the next build silently ships a different
    OS, Python or OpenSSL than the one you tested.

    Remediation: ``FROM python:3.12.7-slim-bookworm@sha256:…`` (Renovate/Dependabot keep digests
    current).
    """
    out: list[Finding] = []
    total = digests = 0
    for df in parsed(ctx, out):
        aliases = {s.alias.lower() for s in df.stages if s.alias}
        for st in df.stages:
            img = st.resolved.strip()
            if img.lower() == "scratch" or img.lower() in aliases:
                continue
            total += 1
            if "$" in img or not img:
                out.append(warned(f"FROM {st.image}: a build argument without default decides the "
                                  "base image; not verifiable", location=df.loc(st.line),
                                  rule="DL3006"))
                continue
            if "@sha256:" in img:
                digests += 1
                continue
            name = img.rsplit("/", 1)[-1]
            if ":" not in name:
                out.append(failed(f"FROM {img} has no tag (means latest)", location=df.loc(st.line),
                                  rule="DL3006", evidence=f"line: FROM {st.image}"))
            elif name.rsplit(":", 1)[1] == "latest":
                out.append(failed(f"FROM {img} uses the latest tag", location=df.loc(st.line),
                                  rule="DL3007", evidence=f"line: FROM {st.image}"))
    if not out:
        out.append(passed(f"{total} base image reference(s) pinned by tag, {digests} by digest "
                          "(a digest is recommended)"))
    return out


@check("CFG-101", "Multi-stage build keeps build tools out of the image", severity=Severity.LOW,
       needs=("repo",), checklist=("3.1.2", "3.1.4"), evidence=Evidence.PARSED)
def multi_stage(ctx: Context) -> list[Finding]:
    """A Dockerfile with build steps (``pip install``, ``uv sync``, ``npm ci``, ``go build``,
    compilers or ``-dev`` packages) uses more than one stage, so compilers, caches and sources
    stay in a builder stage. Installing runtime packages alone does not need a builder.

    Single-stage builds ship build toolchains and caches: larger images, slower pulls and more
    packages for an attacker (and for CVE scanners) in production.

    Remediation: build the virtualenv / ``dist/`` in a ``builder`` stage and ``COPY --from=builder``
    only the result into a slim runtime stage.
    """
    out: list[Finding] = []
    for df in parsed(ctx, out):
        if len(df.stages) > 1:
            out.append(passed(f"{df.path}: {len(df.stages)} stages", location=df.path))
            continue
        installs = [i for i in df.instructions if i.name == "RUN" and INSTALL_RE.search(i.value)]
        if installs:
            out.append(failed(f"{df.path}: single stage that also installs/builds "
                              f"({INSTALL_RE.search(installs[0].value).group(0)})",  # type: ignore[union-attr]
                              location=df.loc(installs[0].line)))
        else:
            out.append(passed(f"{df.path}: single stage without build steps", location=df.path))
    return out


@check("CFG-102", "Containers do not run as root", severity=Severity.HIGH, needs=("repo",),
       checklist=("3.1.3",), references=("CIS Docker 4.1", "hadolint DL3002", "CWE-250"),
       evidence=Evidence.PARSED)
def non_root(ctx: Context) -> list[Finding]:
    """Every buildable final stage (not used as a base or ``COPY --from`` source; plus Compose
    ``build.target`` stages) sets a ``USER`` that is not root, directly or through the stage it
    is built from (hadolint DL3002: last USER should not be root).

    A process running as root inside the container turns any code-execution bug into root on
    the container's file system and, with one more kernel or runtime bug, on the host.

    Remediation: create an unprivileged user (``useradd --system --uid 10001 app``) and add
    ``USER 10001:10001`` at the end of the final stage.
    """
    wanted = compose_targets(ctx)
    out: list[Finding] = []
    for df in parsed(ctx, out):
        for st in targets(df, wanted):
            user = last_instruction(df, st, "USER")
            if user is None:
                out.append(failed(f"{df.path} {stage_label(st)}: no USER, runs as root",
                                  location=df.loc(st.line), rule="DL3002"))
            elif user.value.strip().strip("\"'").lower() in ROOT_USERS:
                out.append(failed(f"{df.path} {stage_label(st)}: USER {user.value} is root",
                                  location=df.loc(user.line), rule="DL3002"))
            else:
                out.append(passed(f"{df.path} {stage_label(st)}: runs as USER {user.value}",
                                  location=df.loc(user.line)))
    return out


@check("CFG-103", "Images define a HEALTHCHECK", severity=Severity.MEDIUM, needs=("repo",),
       checklist=("3.1.5", "P.2.5", "9.2.4"), references=("CIS Docker 4.6",), evidence=Evidence.PARSED)
def healthcheck(ctx: Context) -> list[Finding]:
    """Every buildable final stage has a ``HEALTHCHECK`` (its own or inherited from the stage it
    is built from) that is not ``HEALTHCHECK NONE``. A healthcheck on the Compose service built
    from this Dockerfile is an accepted alternative and turns a missing one into a WARN.

    Without a health check Docker reports a hung or deadlocked container as "running" and
    dependents start against it.

    Remediation: ``HEALTHCHECK --interval=15s --timeout=5s CMD ["python", "-c", "...urlopen(
    'http://127.0.0.1:8000/health')"]`` (curl may not exist in slim images).
    """
    compose_hc = compose_healthchecked(ctx)
    wanted = compose_targets(ctx)
    out: list[Finding] = []
    for df in parsed(ctx, out):
        for st in targets(df, wanted):
            hc = last_instruction(df, st, "HEALTHCHECK")
            if hc is not None and hc.value.strip().upper() != "NONE":
                out.append(passed(f"{df.path} {stage_label(st)}: HEALTHCHECK defined",
                                  location=df.loc(hc.line)))
                continue
            msg = f"{df.path} {stage_label(st)}: " + (
                "HEALTHCHECK NONE disables the check" if hc else "no HEALTHCHECK")
            loc = df.loc(hc.line if hc else st.line)
            if df.path in compose_hc:
                out.append(warned(msg + " (the Compose service built from it has a healthcheck)",
                                  location=loc))
            else:
                out.append(failed(msg, location=loc))
    return out


@check("CFG-104", "No secrets in ENV or ARG", severity=Severity.HIGH, needs=("repo",),
       checklist=("2.1.2", "3.1.3"), references=("CWE-538", "CIS Docker 4.10"), evidence=Evidence.PARSED)
def no_secret_env(ctx: Context) -> list[Finding]:
    """No ``ENV`` or ``ARG`` with a secret-like name (``*SECRET*``, ``*PASSWORD*``, ``*TOKEN*``,
    ``*API_KEY*`` ...) has a value (FAIL); a secret-named ``ARG`` without value is a WARN (build
    arguments are recorded in the image history). Rule id: hadolint DL3064.

    ENV values are stored in the image config and ARG values in ``docker history``: anyone who
    can pull the image reads them.

    Remediation: pass secrets at run time (environment, Docker secrets) or at build time with
    ``RUN --mount=type=secret,id=...``.
    """
    out: list[Finding] = []
    looked = 0
    for df in parsed(ctx, out):
        for ins in [*_global_args(df), *df.instructions]:
            if ins.name not in ("ENV", "ARG"):
                continue
            for name, value in env_pairs(ins.value):
                looked += 1
                if not is_secret_var(name):
                    continue
                if value and not value.startswith("$"):
                    ctx.redact.register(value)
                    out.append(failed(f"{ins.name} {name} bakes a secret value into the image",
                                      location=df.loc(ins.line), rule="DL3064",
                                      evidence=f"{ins.name} {name}={mask_value(value)}"))
                elif ins.name == "ARG":
                    out.append(warned(f"ARG {name}: secrets passed as build arguments end up in "
                                      "the image history", location=df.loc(ins.line),
                                      rule="DL3064"))
    if not out:
        out.append(passed(f"{looked} ENV/ARG variable(s): no secret-like name with a value"))
    return out


def _global_args(df: Dockerfile) -> list[Instruction]:
    # global ARGs were consumed by the parser into df.global_args; rebuild pseudo-instructions
    return [Instruction("ARG", f"{k}={v}" if v else k, 0, "") for k, v in df.global_args.items()]


@check("CFG-105", "COPY instead of ADD for local files", severity=Severity.LOW, needs=("repo",),
       checklist=("3.1.3",), references=("hadolint DL3020", "CIS Docker 4.9"), evidence=Evidence.PARSED)
def copy_not_add(ctx: Context) -> list[Finding]:
    """``ADD`` is not used for local files and directories (hadolint DL3020); ``ADD`` of a local
    tar archive (auto-extracted) is accepted; ``ADD`` of a URL is a WARN (no checksum unless
    ``--checksum``).

    ``ADD`` silently extracts archives and fetches URLs; ``COPY`` does exactly what it says.

    Remediation: replace ``ADD src dst`` with ``COPY src dst``; download with ``curl`` plus a
    checksum check, or ``ADD --checksum=sha256:...``.
    """
    out: list[Finding] = []
    adds = 0
    for df in parsed(ctx, out):
        for ins in df.instructions:
            if ins.name != "ADD":
                continue
            adds += 1
            args = [a for a in ins.value.split() if not a.startswith("--")]
            srcs = args[:-1] if len(args) > 1 else args
            if any(s.startswith(("http://", "https://", "git@")) for s in srcs):
                if "--checksum" not in ins.value:
                    out.append(warned(f"ADD of a URL without --checksum: {' '.join(srcs)[:120]}",
                                      location=df.loc(ins.line)))
            elif all(re.search(r"\.(tar|tar\.\w+|tgz|tbz2?|txz)$", s) for s in srcs if s):
                continue
            else:
                out.append(failed(f"ADD used for local files: {' '.join(srcs)[:120]}",
                                  location=df.loc(ins.line), rule="DL3020"))
    if not out:
        out.append(passed(f"no ADD of local files ({adds} ADD instruction(s) in total)"))
    return out


@check("CFG-108", "CMD and ENTRYPOINT use the exec form", severity=Severity.LOW, needs=("repo",),
       checklist=("3.1.1",), references=("hadolint DL3025",), evidence=Evidence.PARSED)
def exec_form(ctx: Context) -> list[Finding]:
    """``CMD`` and ``ENTRYPOINT`` use the JSON exec form (hadolint DL3025).

    In shell form the process runs under ``/bin/sh -c`` as a child: ``SIGTERM`` from ``docker
    stop`` goes to the shell, the application never shuts down gracefully and is killed after
    the grace period (lost requests, unflushed logs).

    Remediation: ``CMD ["uvicorn", "app.main:app", "--host", "0.0.0.0"]``; when a shell is
    needed, end the script with ``exec "$@"``.
    """
    out: list[Finding] = []
    n = 0
    for df in parsed(ctx, out):
        for ins in df.instructions:
            if ins.name in ("CMD", "ENTRYPOINT"):
                n += 1
                if not ins.value.lstrip().startswith("["):
                    out.append(failed(f"{ins.name} in shell form: {ins.value[:80]}",
                                      location=df.loc(ins.line), rule="DL3025"))
    if not out:
        if not n:
            raise Skip("no CMD or ENTRYPOINT in any Dockerfile")
        out.append(passed(f"{n} CMD/ENTRYPOINT instruction(s) in exec form"))
    return out


DOCKERIGNORE_NEEDS = (
    (".env", (".env", ".env*", "*.env", "**/.env", "**/.env*", ".env.*", "**/*.env")),
    (".git", (".git", ".git/", "**/.git", ".git*", "**/.git/")),
    ("node_modules", ("node_modules", "node_modules/", "**/node_modules", "**/node_modules/",
                      "*/node_modules")),
)


@check("CFG-109", ".dockerignore keeps secrets and clutter out of the build context",
       severity=Severity.MEDIUM, needs=("repo",), checklist=("3.1.3", "2.1.2"),
       references=("CWE-538",), evidence=Evidence.PARSED)
def dockerignore(ctx: Context) -> list[Finding]:
    """For each build of each Dockerfile, the ``.dockerignore`` Docker applies excludes
    ``.env*``, ``.git`` and ``node_modules``. Docker's rule decides which file applies: a
    ``<Dockerfile>.dockerignore`` next to the Dockerfile, else the ``.dockerignore`` at the root of
    the build context — the ``build.context`` of the Compose services that build the Dockerfile,
    or (built by no service) the Dockerfile's directory or the repository root.

    ``COPY . .`` without it copies local ``.env`` files (real secrets) and the git history into
    an image layer, and slows every build with ``node_modules``.

    Remediation: add a ``.dockerignore`` with ``.env*``, ``!.env.example`` if needed, ``.git``,
    ``**/node_modules``, ``**/__pycache__`` at the root of the build context.
    """
    out: list[Finding] = []
    for df in repo_dockerfiles(ctx):
        for b in builds(ctx, df):
            out.extend(_judge_dockerignore(ctx, df, b))
    return out


def _judge_dockerignore(ctx: Context, df: Dockerfile, b: Build) -> list[Finding]:
    by = f" (built by {', '.join(b.services)})" if b.services else ""
    found = b.dockerignore
    if found is None:
        where = f"build context {b.context or '.'}" if b.services else "its build context"
        return [failed(f"{df.path}: no .dockerignore in {where}{by}", location=df.path)]
    text = ctx.read(found)
    if text is None:
        try:
            text = (ctx.repo / found).read_text(errors="replace")
        except OSError as exc:
            return [errored(f"{found}: unreadable: {exc.strerror}", location=found)]
    pats = {ln.strip() for ln in text.splitlines() if ln.strip() and not ln.startswith("#")}
    missing = [what for what, accepted in DOCKERIGNORE_NEEDS if not pats & set(accepted)]
    if missing:
        return [failed(f"{found} does not exclude {', '.join(missing)}{by}", location=found)]
    return [passed(f"{found} excludes .env*, .git and node_modules{by}", location=found)]
