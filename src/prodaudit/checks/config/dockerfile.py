"""CFG-100–149: Dockerfile rules. Where a rule overlaps one of hadolint's, the finding's ``rule``
is hadolint's id (DL3006, DL3007, DL3002, DL3020, DL3025, DL4006, DL3008, DL3009, DL3015,
DL3042, DL3013, DL3019) so results can be compared (docs/comparisons.md)."""

from __future__ import annotations

import posixpath
import re

from prodaudit.checks.api import (
    Context,
    Evidence,
    Finding,
    Severity,
    Skip,
    check,
    failed,
    mask_value,
    passed,
    skipped,
    warned,
)
from prodaudit.checks.config._dockerfiles import (
    compose_healthchecks,
    parsed,
    shipped_stages,
    stage_label,
)
from prodaudit.product.dockerfiles import (
    Dockerfile,
    Instruction,
    Stage,
    chain,
    last_instruction,
)
from prodaudit.product.envgraph import env_pairs
from prodaudit.product.images import parse_image
from prodaudit.product.secretvalues import is_secret_var
from prodaudit.product.services import dockerfile_services

#: official server images whose entrypoint drops root for the server's own user (gosu/su-exec)
SERVER_IMAGES = frozenset({"postgres", "postgis", "timescaledb", "mysql", "mariadb", "mongo",
                           "redis", "valkey", "rabbitmq", "memcached"})
ROOT_USERS = frozenset({"root", "0", "root:root", "0:0", "root:0", "0:root"})
PKG_INSTALL_RE = re.compile(r"\b(apk\s+(-\S+\s+)*add|apt(-get)?\s+(-\S+\s+)*install|"
                            r"(yum|dnf|microdnf)\s+(-\S+\s+)*install)\b")
BUILD_PKG_RE = re.compile(r"(?<![\w.-])(build-essential|build-base|gcc|g\+\+|clang|make|cmake|"
                          r"musl-dev|libc6?-dev|[\w.+]+-dev(el)?|cargo|rustc|golang)(?![\w.-])")
#: compilers and toolchains: what must not stay once a RUN removes its build packages (a kept
#: ``-dev`` package such as ``libpq-dev``/``postgresql-dev`` often provides the runtime library)
TOOLCHAIN_RE = re.compile(r"(build-essential|build-base|gcc(-\d+)?|g\+\+(-\d+)?|clang(-\d+)?|"
                          r"make|cmake|musl-dev|libc6?-dev|cargo|rustc|golang)")
REMOVED_RE = re.compile(r"\bapk\s+del\b|\bapt(-get)?\s+(-\S+\s+)*(purge|remove|autoremove)\b|"
                        r"\b(yum|dnf)\s+(-\S+\s+)*remove\b")


@check("CFG-100", "Base images are pinned", severity=Severity.MEDIUM, needs=("repo",),
       checklist=("3.1.3", "P.2.1"), references=("CIS Docker 4.2", "hadolint DL3006", "DL3007"),
       evidence=Evidence.PARSED)
def base_images_pinned(ctx: Context) -> list[Finding]:
    """Every ``FROM`` names a tag that starts with a version (hadolint DL3006 untagged, DL3007
    latest; ``python:alpine3.8`` or ``node:lts`` float: they name a variant, not the version of
    the software), after ``ARG`` defaults are substituted; distribution codenames
    (``debian:bookworm``) are releases. A ``@sha256:`` digest is recommended and counted.
    ``scratch`` and references to earlier stages are exempt.

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
            ref = parse_image(img)
            pinning = ref.pinning if ref is not None else "versioned"
            if pinning == "none":
                out.append(failed(f"FROM {img} has no tag (means latest)", location=df.loc(st.line),
                                  rule="DL3006", evidence=f"line: FROM {st.image}"))
            elif pinning == "latest":
                out.append(failed(f"FROM {img} uses the latest tag", location=df.loc(st.line),
                                  rule="DL3007", evidence=f"line: FROM {st.image}"))
            elif pinning == "floating":
                out.append(failed(f"FROM {img}: the tag {ref.tag if ref else ''!r} names no version "
                                  "of the image's software (a floating tag)",
                                  location=df.loc(st.line), evidence=f"line: FROM {st.image}"))
    if not out:
        out.append(passed(f"{total} base image reference(s) pinned by tag, {digests} by digest "
                          "(a digest is recommended)"))
    return out


def _service_base(df: Dockerfile, st: Stage) -> str:
    """The official server image (postgres, redis …) ``st`` is built FROM, or ""."""
    first = chain(df, st)[0]
    ref = parse_image(first.resolved)
    return ref.name if ref is not None and ref.name in SERVER_IMAGES else ""


#: the package-manager commands of a RUN: install, and removal (apk del, apt purge/remove …)
_SEGMENT_SPLIT = re.compile(r"&&|\|\||;|\n")
_KEYWORD = re.compile(r"\b(add|install|del|purge|remove|autoremove)\b")


def _packages(segment: str) -> tuple[list[str], str]:
    """The package names after a package-manager keyword (flags left out) and the virtual
    group an ``apk add --virtual NAME`` (``-t NAME``) puts them in."""
    m = _KEYWORD.search(segment)
    words = segment[m.end():].split() if m else []
    names: list[str] = []
    virtual = ""
    i = 0
    while i < len(words):
        w = words[i].strip("\\")
        if w in ("--virtual", "-t"):
            virtual = words[i + 1] if i + 1 < len(words) else ""
            i += 2
            continue
        if w and not w.startswith(("-", "$", "<", ">")):
            names.append(w.split("=", 1)[0])
        i += 1
    return names, virtual


def _left_build_tools(text: str) -> str:
    """The compilers a RUN installs and leaves in its layer though it removes build packages
    ('' when none): not removed again by name or by their ``apk`` virtual group (a ``-dev``
    library package kept on purpose is not counted); ``apt-get remove/purge`` without
    ``autoremove``/``--auto-remove`` removes only the named packages and keeps what they pulled
    in (``gcc`` → ``gcc-12``, ``build-essential`` → ``g++``, ``make``, ``libc6-dev``)."""
    installed: dict[str, str] = {}  # build package -> its apk virtual group
    removed: set[str] = set()
    apt_removed: list[str] = []
    autoremove = bool(re.search(r"\bautoremove\b|--auto-remove", text))
    for segment in _SEGMENT_SPLIT.split(text):
        if PKG_INSTALL_RE.search(segment):
            names, virtual = _packages(segment)
            for n in names:
                if BUILD_PKG_RE.fullmatch(n):
                    installed[n] = virtual
        elif REMOVED_RE.search(segment):
            names, _ = _packages(segment)
            removed.update(names)
            if re.search(r"\bapt(-get)?\b", segment):
                apt_removed += [n for n in names if BUILD_PKG_RE.fullmatch(n)]
    left = [n for n, group in installed.items() if n not in removed and group not in removed
            and TOOLCHAIN_RE.fullmatch(n)]
    apt_removed = [n for n in apt_removed if TOOLCHAIN_RE.fullmatch(n)]
    if apt_removed and not autoremove:
        kept = ", ".join(apt_removed[:3])
        return (f"{', '.join(left[:3])}; " if left else "") + \
            f"{kept} removed without autoremove, which keeps the packages they pulled in: " \
            "the versioned compiler (gcc-12), make, headers"
    return ", ".join(left[:4])


def _build_tools(stage: Stage) -> tuple[Instruction, str] | None:
    """The RUN of ``stage`` that installs compilers or ``-dev`` packages and leaves them in the
    layer, with what it leaves (see ``_left_build_tools``)."""
    for ins in stage.instructions:
        if ins.name != "RUN" or not PKG_INSTALL_RE.search(ins.value):
            continue
        text = ins.content if "<<" in ins.value else ins.value
        if not BUILD_PKG_RE.search(text):
            continue
        left = _left_build_tools(text) if REMOVED_RE.search(text) else \
            (m.group(0) if (m := BUILD_PKG_RE.search(text)) else "compilers")
        if left:
            return ins, left
    return None


@check("CFG-101", "Images keep build tools out of the final stage", severity=Severity.LOW,
       needs=("repo",), checklist=("3.1.2", "3.1.4"), evidence=Evidence.PARSED)
def multi_stage(ctx: Context) -> list[Finding]:
    """The image that runs (every buildable final stage and the stages it is built FROM) is not
    a full language image (``python:3.11``, ``node:12`` without ``-slim``/``-alpine``: compilers,
    headers and ~1 GB; reported at its ``FROM``) and does not install compilers or ``-dev``
    packages (``build-essential``, ``gcc``, ``build-base``, ``python3-dev``) that the same
    ``RUN`` does not remove again (``apk add --virtual … && apk del``, ``apt-get purge -y
    --auto-remove gcc``): when the RUN removes build packages, each compiler it installed must
    be removed by name or by its ``apk`` virtual group (a ``-dev`` library package kept beside
    them, e.g. for ``libpq``, is not judged), and ``apt-get remove``/``purge`` of a compiler
    without ``autoremove`` keeps the ones it pulled in (``gcc-12``, ``g++``, ``make``). Installing wheels
    into a slim image, and build tools in a builder stage whose results are copied, are fine.

    Only shipped stages are judged: the last stage, one nothing builds FROM or ``COPY --from``-s,
    and one a Compose service selects with ``build.target`` — unless only development services
    select it (their stack is a development one, or they run a dev server or watcher, or
    bind-mount the source over the image), as an ``assets`` stage built for a development
    watcher while the final stage copies its output is, or a ``dev`` stage nothing builds FROM.
    The same stages are judged by CFG-102, CFG-103, CFG-107, CFG-111 and CFG-112.

    Build toolchains in production images mean larger images, slower pulls and more packages for
    an attacker (and for CVE scanners).

    Remediation: start from ``python:3.12-slim``; build wheels or the virtualenv in a ``builder``
    stage and ``COPY --from=builder`` only the result into a slim runtime stage.
    """
    out: list[Finding] = []
    for df in parsed(ctx, out):
        aliases = {s.alias.lower() for s in df.stages if s.alias}
        found: list[Finding] = []
        for st in shipped_stages(ctx, df):
            stages = chain(df, st)
            base = parse_image(stages[0].resolved) if stages[0].resolved.lower() not in aliases \
                else None
            if base is not None and base.full:
                found.append(failed(f"{df.path} {stage_label(st)}: the final image is the full "
                                    f"{base.raw} image (compilers and headers, about 1 GB)",
                                    location=df.loc(stages[0].line)))
                continue
            tools = next((t for t in map(_build_tools, stages) if t is not None), None)
            if tools is not None:
                found.append(failed(f"{df.path} {stage_label(st)}: installs build tools "
                                    f"({tools[1]}) that stay in the image",
                                    location=df.loc(tools[0].line)))
        out += found or [passed(f"{df.path}: the final image carries no build toolchain "
                                f"({len(df.stages)} stage(s))", location=df.path)]
    return out


@check("CFG-102", "Containers do not run as root", severity=Severity.HIGH, needs=("repo",),
       checklist=("3.1.3",), references=("CIS Docker 4.1", "hadolint DL3002", "CWE-250"),
       evidence=Evidence.PARSED)
def non_root(ctx: Context) -> list[Finding]:
    """Every buildable final stage (not used as a base or ``COPY --from`` source; plus Compose
    ``build.target`` stages) sets a ``USER`` that is not root, directly or through the stage it
    is built from (hadolint DL3002: last USER should not be root). A stage only a
    development-only Compose service selects is not judged (see CFG-101): its image is not the
    one deployed.

    A process running as root inside the container turns any code-execution bug into root on
    the container's file system and, with one more kernel or runtime bug, on the host.

    A stage built FROM an official database, cache or broker image (postgres, mysql, mongo,
    redis, rabbitmq …) that keeps the image's entrypoint passes: that entrypoint starts the
    server as its own unprivileged user.

    Remediation: create an unprivileged user (``useradd --system --uid 10001 app``) and add
    ``USER 10001:10001`` at the end of the final stage.
    """
    out: list[Finding] = []
    for df in parsed(ctx, out):
        for st in shipped_stages(ctx, df):
            user = last_instruction(df, st, "USER")
            service = _service_base(df, st)
            if user is None and service and last_instruction(df, st, "ENTRYPOINT") is None:
                out.append(passed(f"{df.path} {stage_label(st)}: {service}'s own entrypoint drops "
                                  "root for the server's user", location=df.loc(st.line)))
            elif user is None:
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
    is built from) that is not ``HEALTHCHECK NONE``. A healthcheck on a Compose service built
    from this stage (its ``build.target``, or the last stage without one) is an accepted
    alternative and turns a missing one into a WARN naming the service; a healthcheck on a service
    built from another stage of the Dockerfile does not cover it (the FAIL names which service and
    stage has one). A stage only a development-only Compose service selects is not judged (see
    CFG-101).

    Without a health check Docker reports a hung or deadlocked container as "running" and
    dependents start against it.

    A database, cache or broker server image (FROM postgres, redis …) built by a Compose service
    is not judged here: its healthcheck belongs to the service (``pg_isready``), which CFG-150
    judges.

    Remediation: ``HEALTHCHECK --interval=15s --timeout=5s CMD ["python", "-c", "...urlopen(
    'http://127.0.0.1:8000/health')"]`` (curl may not exist in slim images).
    """
    compose_hc = compose_healthchecks(ctx)
    built = dockerfile_services(ctx)
    out: list[Finding] = []
    for df in parsed(ctx, out):
        for st in shipped_stages(ctx, df):
            hc = last_instruction(df, st, "HEALTHCHECK")
            if hc is not None and hc.value.strip().upper() != "NONE":
                out.append(passed(f"{df.path} {stage_label(st)}: HEALTHCHECK defined",
                                  location=df.loc(hc.line)))
                continue
            msg = f"{df.path} {stage_label(st)}: " + (
                "HEALTHCHECK NONE disables the check" if hc else "no HEALTHCHECK")
            loc = df.loc(hc.line if hc else st.line)
            built_by = built.get(posixpath.normpath(df.path), [])
            if hc is None and built_by and _service_base(df, st):
                out.append(skipped(f"{msg}: a {_service_base(df, st)} server image built by "
                                   f"service {built_by[0].name}, whose healthcheck CFG-150 judges",
                                   location=loc))
            else:
                last = (df.stages[-1].alias or "").lower()
                by_stage = [(svc, tgt or last) for svc, tgt in
                            compose_hc.get(posixpath.normpath(df.path), [])]
                own = [svc for svc, tgt in by_stage if tgt and tgt == st.alias.lower()
                       or not tgt and st is df.stages[-1]]
                if own:
                    out.append(warned(f"{msg} (the Compose service {', '.join(own)} built from it "
                                      "has a healthcheck)", location=loc))
                    continue
                others = "; ".join(f"service {svc} (stage {tgt or 'last'})" for svc, tgt in by_stage)
                out.append(failed(msg + (f" (a Compose healthcheck covers only {others}, built "
                                         "from other stages)" if others else ""), location=loc))
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
