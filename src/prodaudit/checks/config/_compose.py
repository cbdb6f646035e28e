"""The Compose projects as the compose rules (CFG-150–169) walk them: which projects, which
services a plain ``docker compose up`` starts, their roles, published ports. Not a check module."""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterator, Sequence
from dataclasses import replace
from typing import Any

from prodaudit.checks.api import Context, Finding, Skip, Status, errored, passed, skipped
from prodaudit.product.compose import ComposeProject, compose_projects, deployed_suffix
from prodaudit.product.compose_yaml import service_env
from prodaudit.product.envfiles import committed_or_example
from prodaudit.product.envgraph import EnvGraph
from prodaudit.product.interpolation import interpolate
from prodaudit.product.services import Service, project_services

LOOPBACK = frozenset({"127.0.0.1", "::1", "localhost"})
_SERVICE_MSG = re.compile(r"^service ([\w.-]+)")


def projects(ctx: Context) -> tuple[list[ComposeProject], list[Finding]]:
    """Projects with services (Skip without any Compose file) and an ERROR finding per file
    that did not parse (a SKIP for an unrendered template's file)."""
    found = compose_projects(ctx)
    if not found:
        raise Skip("no Compose file in the repository (compose.yaml, docker-compose.yml ...)")
    errs = [(skipped if f.template_error else errored)(
                f"{f.path}:{f.error[0]}: {f.error[1]}",
                location=f"{f.path}:{f.error[0]}" if f.error[0] else f.path)
            for p in found for f in p.files if f.error]
    return [p for p in found if p.services], errs


def operational(ctx: Context) -> tuple[list[ComposeProject], list[Finding]]:
    """The projects that run in production: development-only ones are left out (Skip naming
    why when nothing else is left)."""
    found, errs = projects(ctx)
    prod = [p for p in found if not p.dev_only]
    if found and not prod:
        raise Skip("only development-only Compose projects: "
                   + "; ".join(f"{p.name}: {p.dev_only}" for p in found))
    return prod, errs


def active_services(
    found: list[ComposeProject],
) -> Iterator[tuple[ComposeProject, str, dict[str, Any]]]:
    """(project, name, service) of every service ``docker compose up`` starts: no
    ``profiles:``, or an active one (``COMPOSE_PROFILES``; when nothing the audit reads sets it
    and every service has profiles, those the deployment sets: ComposeProject.profiles_from)."""
    for p in found:
        for name, svc in p.services.items():
            if p.active(name):
                yield p, name, svc


def roles(ctx: Context, p: ComposeProject) -> dict[str, Service]:
    """Service name → the product model's service (its ``role``: database, cache, admin …)."""
    return {s.name: s for s in project_services(ctx, p)}


def image(ctx: Context, svc: dict[str, Any]) -> str:
    return interpolate(str(svc.get("image") or ""), ctx.profile_env, missing=True)


def done(out: list[Finding], message: str,
         found: Sequence[ComposeProject] = ()) -> list[Finding]:
    """``out``, or a PASS saying ``message`` when it holds no problem; the message names the
    deployment command when it chose a project's files (``files as deployed by path:line``).
    A FAIL about a service that only the assumed profiles start (every service has
    ``profiles:`` and nothing the audit reads sets ``COMPOSE_PROFILES``) is a WARN naming where
    the profiles come from: whether the deployment starts that service is not verified."""
    out[:] = [_assumed(f, found) for f in out]
    if not any(f.status.value in ("fail", "error", "warn") for f in out):
        out.append(passed(message + deployed_suffix(found)))
    return out


def _assumed(f: Finding, found: Sequence[ComposeProject]) -> Finding:
    m = _SERVICE_MSG.match(f.message) if f.status is Status.FAIL else None
    if m is None:
        return f
    for p in found:
        svc = p.services.get(m.group(1))
        if p.profiles_from and svc is not None and svc.get("profiles"):
            return replace(f, status=Status.WARN, message=(
                f"{f.message} (service of profile {', '.join(map(str, _listed(svc['profiles'])))}"
                f", started by the assumed profiles: {p.profiles_from})"))
    return f


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def published(port: Any) -> tuple[str, str] | None:
    """(host_ip, published) of a port entry, or None when nothing is published."""
    if isinstance(port, dict):
        if port.get("published") in (None, ""):
            return None
        return str(port.get("host_ip") or ""), str(port["published"])
    s = str(port).split("/", 1)[0]
    if s.startswith("["):  # [::1]:5432:5432
        host, _, rest = s[1:].partition("]:")
        return host, rest.split(":")[0]
    parts = s.split(":")
    if len(parts) == 1:
        return None  # container port only: ephemeral host port on all interfaces
    if len(parts) == 2:
        return "", parts[0]
    return ":".join(parts[:-2]), parts[-2]


def public_ports(ctx: Context, svc: dict[str, Any]) -> Iterator[tuple[int, Any, str]]:
    """(index, entry, host address) of every ``ports:`` entry published on all interfaces (a
    bare container port gets a random host port on all interfaces)."""
    for i, port in enumerate(svc.get("ports") or []):
        pub = published(port)
        if pub is None and not isinstance(port, dict):
            pub = ("", "random")
        if pub is None:
            continue
        host = interpolate(pub[0], ctx.profile_env)
        if host not in LOOPBACK:
            yield i, port, host or "all interfaces"


def env_file_names(ctx: Context, rel: str) -> tuple[str, set[str]] | None:
    """(the file read, the names it sets): the env file, else the committed example a deployer
    copies to create it; None when neither can be read (what it passes is unknown)."""
    ef = committed_or_example(ctx, rel) if "${" not in rel else None
    if ef is None:
        return None
    return (ef.path if ef.path == rel else f"{rel} from its example {ef.path}",
            {e.name for e in ef.entries})


def settings_module_of(g: EnvGraph, app: dict[str, tuple[dict[str, Any], str]]) -> str | None:
    """The Django settings module the built services run: their ``DJANGO_SETTINGS_MODULE``,
    else the default the code sets (``os.environ.setdefault`` in wsgi/manage.py)."""
    for svc, _ in app.values():
        value = service_env(svc).get("DJANGO_SETTINGS_MODULE")
        if value:
            return str(value)
    var = g.vars.get("DJANGO_SETTINGS_MODULE")
    defaults = sorted({val for path, _, val in (var.set_in if var else []) if val
                       and path.endswith(".py")})
    return defaults[0] if len(defaults) == 1 else None


def build_context(compose_path: str, build: object) -> str | None:
    """The build context as a repo-relative prefix ("" for the root), None when not built."""
    if build is None:
        return None
    raw = build if isinstance(build, str) else (build.get("context", ".")
                                                 if isinstance(build, dict) else ".")
    if "://" in str(raw):
        return None
    base = posixpath.dirname(compose_path)
    rel = posixpath.normpath(posixpath.join(base, str(raw)))
    return "" if rel in (".", "") else rel.rstrip("/") + "/"


def built_services(g: EnvGraph, p: Any, out: list[Finding]
                    ) -> tuple[dict[str, tuple[dict[str, Any], str]], list[str]]:
    """CFG-004: the services of ``p`` built from code that reads the environment (name ->
    (service, build context)), and why the other built services are not judged (a frontend
    reading only build-time variables gets its SKIP in ``out``)."""
    app: dict[str, tuple[dict[str, Any], str]] = {}
    no_code: list[str] = []
    for sname, svc in p.services.items():
        ctx_dir = build_context(p.files[0].path, svc.get("build"))
        if ctx_dir is None:
            continue
        if not any(r.path.startswith(ctx_dir) for v in g.vars.values() for r in v.reads
                   if r.kind != "frontend"):
            front = sorted(n for n, v in g.vars.items()
                           if any(r.kind == "frontend" and r.path.startswith(ctx_dir)
                                  for r in v.reads))
            if front:
                out.append(skipped(f"{p.name}: service {sname} is built from "
                                   f"{ctx_dir or '.'}, whose code reads only frontend "
                                   f"build-time variables ({', '.join(front[:4])}), not "
                                   "judged here"))
            else:
                no_code.append(f"service {sname} is built from {ctx_dir or '.'}, where no "
                               "code reads the environment")
            continue
        app[sname] = (svc, ctx_dir)
    return app, no_code
