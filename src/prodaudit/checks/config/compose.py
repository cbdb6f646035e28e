"""CFG-150–199: Compose rules, evaluated on the merged model of each project (base file +
``compose.override.yml``/``docker-compose.override.yml``, or the ``--compose-file`` files in
order). The merge is prodaudit's own (prodaudit.product.compose); findings on merged projects say so."""

from __future__ import annotations

import re
from typing import Any

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
    skipped,
    warned,
)
from prodaudit.checks.config._compose import (
    active_services,
    done,
    image,
    operational,
    projects,
    roles,
)
from prodaudit.product.compose import compose_projects
from prodaudit.product.compose_yaml import service_env
from prodaudit.product.dockerfiles import dockerfiles, last_instruction, targets
from prodaudit.product.images import parse_image
from prodaudit.product.interpolation import interpolate
from prodaudit.product.secretvalues import is_secret_var, placeholder_reason, url_password

RESTARTS = frozenset({"always", "unless-stopped", "on-failure"})
DB_ROLES = frozenset({"database", "cache"})


@check("CFG-150", "Every Compose service has a healthcheck", severity=Severity.MEDIUM,
       needs=("repo",), checklist=("3.1.5", "P.2.5", "9.2.4"), evidence=Evidence.PARSED)
def service_healthchecks(ctx: Context) -> list[Finding]:
    """Every service started by default has a ``healthcheck:`` (not ``disable: true``), or is
    built from a Dockerfile stage with a ``HEALTHCHECK``. Development-only Compose projects
    (compose_dev: a dev container, a dev file name, or documentation that calls the file local
    development) are not judged. For image-only services without one the
    image's own HEALTHCHECK cannot be verified offline (the deployment suite inspects images).

    ``depends_on: condition: service_healthy`` and ``docker compose up --wait`` only work with
    health checks; without them a crashed-but-running service is reported as up.

    Remediation: add ``healthcheck: {test: [...], interval: 10s, timeout: 5s, retries: 5}``
    (``pg_isready``, ``redis-cli ping``, the API's ``/health``).
    """
    found, out = operational(ctx)
    df_hc: dict[str, bool] = {}
    for df in dockerfiles(ctx):
        for st in targets(df):
            df_hc[st.alias.lower()] = last_instruction(df, st, "HEALTHCHECK") is not None
        df_hc.setdefault("", bool(df.final and last_instruction(df, df.final, "HEALTHCHECK")))
    n = 0
    for p, name, svc in active_services(found):
        n += 1
        hc = svc.get("healthcheck")
        if isinstance(hc, dict) and (hc.get("disable") or hc.get("test") in (["NONE"], "NONE")):
            out.append(failed(f"service {name}: healthcheck disabled{p.note}",
                              location=p.loc("services", name, "healthcheck")))
        elif not hc:
            build = svc.get("build")
            target = str(build.get("target", "")).lower() if isinstance(build, dict) else ""
            if build is not None and df_hc.get(target, False):
                continue
            out.append(failed(f"service {name}: no healthcheck{p.note}",
                              location=p.loc("services", name)))
    return done(out, f"{n} service(s) have a healthcheck", found)


@check("CFG-151", "Services wait for healthy databases", severity=Severity.MEDIUM,
       needs=("repo",), checklist=("P.2.2", "9.2.4"), evidence=Evidence.PARSED)
def depends_healthy(ctx: Context) -> list[Finding]:
    """A service that uses a database or cache service of the project (by role: its image or the
    image its Dockerfile builds FROM; ``depends_on`` it, or names its host in ``environment:``)
    declares ``depends_on: {db: {condition: service_healthy}}``. Development-only Compose
    projects are not judged.

    Plain ``depends_on`` only waits for the container to start, not for PostgreSQL to accept
    connections: the API crashes or runs migrations against a database that is not ready.

    Remediation: ``depends_on: {postgres: {condition: service_healthy}}`` plus a healthcheck on
    the database service.
    """
    found, out = operational(ctx)
    n = 0
    for p in found:
        by_name = roles(ctx, p)
        dbs = {n_ for n_, s in p.services.items() if by_name[n_].role in DB_ROLES and p.active(n_)}
        for name, svc in p.services.items():
            if name in dbs or not p.active(name):
                continue
            deps = svc.get("depends_on") or {}
            if isinstance(deps, list):
                deps = {d: {"condition": "service_started"} for d in deps}
            env_text = " ".join(str(v) for v in service_env(svc).values())
            for db in sorted(dbs):
                uses = db in deps or re.search(rf"[@/]{re.escape(db)}(:|/|$|\s)", env_text)
                if not uses:
                    continue
                n += 1
                cond = (deps.get(db) or {}).get("condition") if isinstance(deps.get(db), dict) \
                    else None
                if cond != "service_healthy":
                    out.append(failed(f"service {name} uses {db} without depends_on condition "
                                      f"service_healthy (got {cond or 'no depends_on'}){p.note}",
                                      location=p.loc("services", name, "depends_on")))
    if not n and not out:
        raise Skip("no service uses a database or Redis service of the project")
    return done(out, f"{n} service→database dependencies wait for service_healthy", found)


@check("CFG-152", "Services have a restart policy", severity=Severity.MEDIUM, needs=("repo",),
       checklist=("P.2.2",), evidence=Evidence.PARSED)
def restart_policy(ctx: Context) -> list[Finding]:
    """Every service started by default has ``restart: unless-stopped`` / ``always`` /
    ``on-failure`` (or ``deploy.restart_policy``), read after interpolation with the project's
    env and defaults (``${RESTART_POLICY:-unless-stopped}``). Development-only Compose projects are not
    judged.

    Without one a crashed process or a host reboot leaves the service down until someone notices.

    Remediation: ``restart: unless-stopped``.
    """
    found, out = operational(ctx)
    n = 0
    for p, name, svc in active_services(found):
        n += 1
        pol = interpolate(str(svc.get("restart") or ""), p.env)
        deploy_pol = ((svc.get("deploy") or {}).get("restart_policy") or {}) \
            if isinstance(svc.get("deploy"), dict) else {}
        if pol.split(":")[0] not in RESTARTS and not deploy_pol:
            out.append(failed(f"service {name}: no restart policy ({pol or 'default no'})"
                              f"{p.note}", location=p.loc("services", name, "restart")))
    return done(out, f"{n} service(s) have a restart policy", found)


@check("CFG-155", "Compose images are pinned", severity=Severity.MEDIUM, needs=("repo",),
       checklist=("3.1.3", "P.2.2"), references=("CIS Docker 4.2",), evidence=Evidence.PARSED)
def images_pinned(ctx: Context) -> list[Finding]:
    """Every service that is not built from the repository names an image with a tag that starts
    with a version (after interpolation with the profile's env and defaults): no tag, ``latest``
    and floating tags that name a variant but no version (``redis:alpine``, ``node:lts``) are
    not pinned; distribution codenames (``debian:bookworm``) are releases. Digests recommended.

    ``postgres:latest`` jumps major versions on the next pull, and a new PostgreSQL major
    version refuses to start on the old data directory.

    Remediation: ``image: postgres:16.6-alpine`` (or ``@sha256:…``).
    """
    found, out = projects(ctx)
    n = digests = 0
    for p in found:
        for name, svc in p.services.items():
            if svc.get("build") is not None or not svc.get("image"):
                continue
            n += 1
            img = image(ctx, svc)
            if "@sha256:" in img:
                digests += 1
                continue
            ref = parse_image(img)
            pinning = "none" if ref is None or ref.tag.startswith("<") else ref.pinning
            if pinning in ("none", "latest"):
                out.append(failed(f"service {name}: image {img} is not pinned "
                                  f"({ref.tag if ref and ref.tag else 'no tag'}){p.note}",
                                  location=p.loc("services", name, "image")))
            elif pinning == "floating":
                out.append(failed(f"service {name}: image {img} has a floating tag without a "
                                  f"version ({ref.tag if ref else ''}){p.note}",
                                  location=p.loc("services", name, "image")))
    if not n and not out:
        raise Skip("every service is built from the repository")
    return done(out, f"{n} image(s) pinned ({digests} by digest)", found)


@check("CFG-156", "No secrets inline in Compose environment", severity=Severity.HIGH,
       needs=("repo",), checklist=("2.1.2", "8.2.1", "P.3.2"), references=("CWE-798", "CWE-260"),
       evidence=Evidence.PARSED)
def inline_secrets(ctx: Context) -> list[Finding]:
    """Secret-like ``environment:`` entries (``*PASSWORD*``, ``*SECRET*``, ``*TOKEN*``, ``*KEY*``,
    DSNs with a password) reference variables (``${POSTGRES_PASSWORD:?}``) instead of holding
    literal values.

    A literal in the Compose file is committed with it and identical on every deployment.

    Remediation: ``POSTGRES_PASSWORD: ${POSTGRES_PASSWORD:?set it in .env}``, or Compose
    ``secrets:`` mounted as files (``POSTGRES_PASSWORD_FILE``).
    """
    found, out = projects(ctx)
    n = 0
    for p in found:
        for name, svc in p.services.items():
            for key, val in service_env(svc).items():
                if val is None:
                    continue
                sval = str(val)
                pw = url_password(sval)
                if is_secret_var(str(key)):
                    n += 1
                    if sval.strip() and "$" not in sval:
                        if placeholder_reason(sval) is None:
                            ctx.redact.register(sval)
                        out.append(failed(f"service {name}: {key} has a literal value{p.note}",
                                          location=p.loc("services", name, "environment", key),
                                          evidence=f"{key}: {mask_value(sval)}"))
                elif pw and "$" not in pw:
                    n += 1
                    ctx.redact.register(pw)
                    out.append(failed(f"service {name}: {key} embeds a literal password{p.note}",
                                      location=p.loc("services", name, "environment", key),
                                      evidence=f"password {mask_value(pw)}"))
    return done(out, f"{n} secret-like environment entr(y/ies) reference variables", found)


def _named_volume(v: Any, top: dict[str, Any]) -> str | None:
    if isinstance(v, dict):
        src, typ = str(v.get("source") or ""), str(v.get("type") or "volume")
        return src if typ == "volume" and src else None
    s = str(v)
    if ":" not in s:
        return None  # anonymous volume
    src = s.split(":", 1)[0]
    if src.startswith((".", "/", "~", "$")):
        return None
    return src


@check("CFG-157", "Database data lives on a named volume", severity=Severity.HIGH,
       needs=("repo",), checklist=("P.2.3",), evidence=Evidence.PARSED)
def db_volume(ctx: Context) -> list[Finding]:
    """Every database service (PostgreSQL, MySQL, MariaDB, MongoDB … by its image, or the image
    its Dockerfile builds FROM) mounts a named volume (declared under top-level ``volumes:``); a
    bind mount is a WARN (works, but ties data to one host path and its permissions).
    Development-only Compose projects are not judged.

    Without a volume the data lives in the container's writable layer and is lost on
    ``docker compose down`` or an image upgrade.

    Remediation: ``volumes: [pgdata:/var/lib/postgresql/data]`` and ``volumes: {pgdata: {}}`` at
    the top level; back it up.
    """
    found, out = operational(ctx)
    n = 0
    for p in found:
        top = p.data.get("volumes") or {}
        by_name = roles(ctx, p)
        for name, svc in p.services.items():
            if by_name[name].role != "database":
                continue
            n += 1
            vols = svc.get("volumes") or []
            named = [v for v in (_named_volume(x, top) for x in vols) if v]
            if named:
                undeclared = [v for v in named if v not in top]
                if undeclared:
                    out.append(failed(f"service {name}: volume {undeclared[0]} is not declared "
                                      f"under top-level volumes{p.note}",
                                      location=p.loc("services", name, "volumes")))
            elif vols:
                out.append(warned(f"service {name}: data on a bind mount or anonymous volume, "
                                  f"not a named volume{p.note}",
                                  location=p.loc("services", name, "volumes")))
            else:
                out.append(failed(f"service {name}: no volume; data is lost when the container is "
                                  f"recreated{p.note}", location=p.loc("services", name)))
    if not n:
        raise Skip("no database service in the Compose files")
    return done(out, f"{n} database service(s) keep data on named volumes", found)


@check("CFG-158", "Services have memory and CPU limits", severity=Severity.MEDIUM,
       needs=("repo",), checklist=("P.2.2",),
       references=("CIS Docker 5.10", "5.11"), evidence=Evidence.PARSED)
def resource_limits(ctx: Context) -> list[Finding]:
    """Every service started by default has a memory limit (``deploy.resources.limits.memory``
    or ``mem_limit``); a missing CPU limit is a WARN. Limits are read after interpolation with
    the project's env and defaults: a limit that resolves to 0 (``${WEB_MEMORY:-0}``) is no
    limit. Development-only Compose projects are not judged.

    One leaking or overloaded service otherwise takes the whole host's memory and the kernel's
    OOM killer picks a victim — often the database.

    Remediation: ``deploy: {resources: {limits: {memory: 512M, cpus: "1.0"}}}``.
    """
    found, out = operational(ctx)
    n = 0
    for p, name, svc in active_services(found):
        n += 1
        deploy = svc.get("deploy") if isinstance(svc.get("deploy"), dict) else {}
        limits = ((deploy or {}).get("resources") or {}).get("limits") or {}
        memory = _limit(limits.get("memory") or svc.get("mem_limit"), p.env)
        cpus = _limit(limits.get("cpus") or svc.get("cpus"), p.env)
        if memory is None:
            out.append(failed(f"service {name}: no memory limit{p.note}",
                              location=p.loc("services", name)))
        elif memory[1]:
            out.append(failed(f"service {name}: memory limit {memory[0]} is 0, which Compose "
                              f"reads as no limit{p.note}",
                              location=p.loc("services", name, "deploy", "resources", "limits",
                                             "memory")))
        elif cpus is None or cpus[1]:
            out.append(warned(f"service {name}: no CPU limit"
                              f"{f' ({cpus[0]} is 0: no limit)' if cpus else ''}{p.note}",
                              location=p.loc("services", name)))
    return done(out, f"{n} service(s) have memory and CPU limits", found)


def _limit(raw: Any, env: dict[str, str]) -> tuple[str, bool] | None:
    """(the limit as written, whether it resolves to 0 = no limit) after interpolation with the
    project's env and defaults; None when no limit is set."""
    if raw in (None, ""):
        return None
    value = interpolate(str(raw), env).strip().lower()
    if not value:
        return None
    return str(raw), re.fullmatch(r"0+(\.0*)?[bkmg]?", value) is not None


@check("CFG-159", "No obsolete top-level version key", severity=Severity.LOW, needs=("repo",),
       checklist=("P.2.2",), evidence=Evidence.PARSED)
def obsolete_version(ctx: Context) -> list[Finding]:
    """Compose files have no top-level ``version:`` key (obsolete since the Compose
    Specification; Compose v2 ignores it and warns).

    The key suggests a schema that is not applied and hides which features really work.

    Remediation: delete the ``version:`` line.
    """
    found = compose_projects(ctx)
    if not found:
        raise Skip("no Compose file in the repository")
    out: list[Finding] = []
    n = 0
    for p in found:
        for f in p.files:
            if f.error:
                out.append((skipped if f.template_error else errored)(
                    f"{f.path}:{f.error[0]}: {f.error[1]}", location=f.path))
                continue
            n += 1
            if f.data and "version" in f.data:
                out.append(failed(f"{f.path}: obsolete top-level version: "
                                  f"{f.data['version']!r}", location=f"{f.path}:"
                                  f"{f.lines.get(('version',), 1)}"))
    return done(out, f"{n} Compose file(s) without the obsolete version key", found)
